import { resolve } from 'node:path'
import { defineConfig } from 'vite'

/** Serves and builds the demo apps (apps/<name>/index.html), workspace packages from source. */
const apps = resolve(import.meta.dirname, 'apps')

export default defineConfig({
  root: apps,
  server: { host: '127.0.0.1', port: 5173 },
  // A cache of its own: the e2e pages' server shares node_modules/.vite
  // otherwise, and each server's optimizer deletes the other's bundles when
  // it starts (a tab loading meanwhile never finished opening).
  cacheDir: resolve(import.meta.dirname, 'node_modules', '.vite', 'apps'),
  // The replica workers are entries too: their imports (idb, pako) are
  // then bundled at start, not found by a tab's first load, which
  // re-bundles and reloads that page.
  optimizeDeps: { entries: ['**/*.html', '*/src/*.worker.ts'] },
  build: {
    target: 'es2022',
    outDir: resolve(import.meta.dirname, 'dist', 'apps'),
    emptyOutDir: true,
    rollupOptions: { input: { index: resolve(apps, 'index.html'), warehouse: resolve(apps, 'warehouse', 'index.html'), editor: resolve(apps, 'editor', 'index.html'), game: resolve(apps, 'game', 'index.html'), inspector: resolve(apps, 'inspector', 'index.html') } },
  },
})
