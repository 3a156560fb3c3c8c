// Built into the Python package's web/dist and served by omnidrop under /app (see src/omnidrop/web/static.py).
import { defineConfig } from 'vite'

export default defineConfig({
  base: '/app/',
  build: {
    outDir: '../src/omnidrop/web/dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: { proxy: { '^/(api|360|files|s3|auth|_omnidrop|share)': 'http://127.0.0.1:8000' } },
})
