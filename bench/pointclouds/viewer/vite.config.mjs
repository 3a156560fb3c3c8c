// The two first-frame pages of bench/pointclouds/run.py, built with the web app's own packages:
//   web/node_modules/.bin/vite build --config bench/pointclouds/viewer/vite.config.mjs
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const modules = path.resolve(here, '../../../web/node_modules')

export default {
  root: here,
  base: './',
  logLevel: 'warn',
  resolve: { alias: [{ find: /^(three|3d-tiles-renderer|copc|laz-perf)(\/.*)?$/, replacement: `${modules}/$1$2` }] },
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    rollupOptions: { input: { copc: path.join(here, 'copc.html'), tiles: path.join(here, 'tiles.html') } },
  },
}
