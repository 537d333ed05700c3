import { resolve } from 'node:path'
import { defineConfig } from 'vite'

// Serves the e2e test pages (e2e/pages/*.html) with the workspace packages from source.
export default defineConfig({
  root: resolve(import.meta.dirname, 'pages'),
  // No hot reload: a source file saved while the tests run would reload
  // every open tab mid-test (a tab of the elastic-room test once showed
  // "starting…" again, its page context destroyed).
  server: { host: '127.0.0.1', strictPort: true, hmr: false },
  // A cache of its own (the demo apps' server, which the e2e tests start
  // too, deletes a shared one's bundles), and the workers scanned with the
  // pages: with no hot reload a dependency found late breaks the page.
  cacheDir: resolve(import.meta.dirname, '..', 'node_modules', '.vite', 'e2e'),
  optimizeDeps: { entries: ['*.html', '*.worker.ts'] },
  build: { target: 'es2022' },
})
