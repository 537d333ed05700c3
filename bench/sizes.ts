import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build as esbuild } from 'esbuild'
import { build as viteBuild } from 'vite'
import type { BenchResult } from './results.ts'

/**
 * What a user downloads (issue 6): each demo app's initial JavaScript (its
 * entry chunk and the chunks it imports statically, as Vite builds them) and
 * the main-thread client library alone, minified and gzipped. The baseline
 * in the same run: Yjs with y-webrtc, the stack the client library replaces,
 * bundled the same way.
 */
const root = join(import.meta.dirname, '..')

async function bundleGzipBytes(contents: string): Promise<number> {
  const result = await esbuild({ stdin: { contents, resolveDir: root, loader: 'ts' }, bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' })
  return result.outputFiles.reduce((n, f) => n + gzipSync(f.contents, { level: 9 }).length, 0)
}

function initialJsGzipBytes(outDir: string, html: string): number {
  const page = readFileSync(join(outDir, html), 'utf8')
  const files = [...page.matchAll(/(?:src|href)="\/?([^"]+\.js)"/g)].map((m) => m[1]!)
  return [...new Set(files)].reduce((n, file) => n + gzipSync(readFileSync(join(outDir, file)), { level: 9 }).length, 0)
}

export async function benchSizes(): Promise<BenchResult[]> {
  const results: BenchResult[] = []
  results.push({ name: 'client.jsGzipBytes', value: await bundleGzipBytes(`export * from './packages/client/src/index.ts'`), unit: 'B' })
  results.push({ name: 'baseline.yjsWebrtc.jsGzipBytes', value: await bundleGzipBytes(`export * as Y from 'yjs'; export { WebrtcProvider } from 'y-webrtc'`), unit: 'B' })
  const outDir = join(root, 'dist', 'apps')
  // A production build, as users ship it. Vite builds for whatever NODE_ENV says, and the browser benchmarks'
  // Vite dev server, earlier in the same process, sets it to 'development' (React's dev build: 60 KB more).
  const nodeEnv = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  try {
    await viteBuild({ configFile: join(root, 'vite.config.ts'), mode: 'production', logLevel: 'error' })
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV
    else process.env.NODE_ENV = nodeEnv
  }
  for (const app of ['editor', 'warehouse', 'game', 'inspector']) results.push({ name: `apps.${app}.jsGzipBytes`, value: initialJsGzipBytes(outDir, join(app, 'index.html')), unit: 'B' })
  return results
}
