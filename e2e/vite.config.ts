import { resolve } from 'node:path'
import { defineConfig } from 'vite'

// Serves the e2e test pages (e2e/pages/*.html) with the workspace packages from source.
export default defineConfig({
  root: resolve(import.meta.dirname, 'pages'),
  server: { host: '127.0.0.1', strictPort: true },
  build: { target: 'es2022' },
})
