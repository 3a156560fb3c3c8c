// Built into the Python package's web/dist and served by omnidrop under /app (see src/omnidrop/web/static.py).
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/app/',
  // Copied as is to the build's root (favicon.svg): under src/ so the build stamp and the sdist carry it.
  publicDir: 'src/public',
  build: {
    outDir: '../src/omnidrop/web/dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1700,
    sourcemap: false,
    // Two pages: the app (index.html, /app/) and the API reference (docs.html, served at /docs).
    rollupOptions: { input: { app: 'index.html', docs: 'docs.html' } },
  },
  server: { proxy: { '^/(api|360|files|s3|auth|_omnidrop|share|openapi.json)': 'http://127.0.0.1:8000' } },
})
