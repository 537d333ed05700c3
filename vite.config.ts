import { resolve } from 'node:path'
import { defineConfig } from 'vite'

/** Serves and builds the demo apps (apps/<name>/index.html), workspace packages from source. */
const apps = resolve(import.meta.dirname, 'apps')

export default defineConfig({
  root: apps,
  server: { host: '127.0.0.1', port: 5173 },
  build: {
    target: 'es2022',
    outDir: resolve(import.meta.dirname, 'dist', 'apps'),
    emptyOutDir: true,
    rollupOptions: { input: { index: resolve(apps, 'index.html'), warehouse: resolve(apps, 'warehouse', 'index.html'), editor: resolve(apps, 'editor', 'index.html'), game: resolve(apps, 'game', 'index.html'), inspector: resolve(apps, 'inspector', 'index.html') } },
  },
})
