import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * `npm run bench [-- --quick]`: every benchmark; a table, and
 * bench/results/<area>.json. The code is bundled by esbuild first and run by
 * plain Node, as a production build would run it (no TypeScript loader in
 * the measured process).
 */
const root = join(import.meta.dirname, '..')
const out = join(tmpdir(), 'concord-bench')
mkdirSync(out, { recursive: true })
const bundle = join(out, 'bench.mjs')
execFileSync(join(root, 'node_modules', '.bin', 'esbuild'), [join(root, 'bench', 'main.ts'), '--bundle', '--platform=node', '--format=esm', `--outfile=${bundle}`, '--log-level=warning'], { stdio: 'inherit' })
execFileSync(process.execPath, ['--expose-gc', bundle, ...process.argv.slice(2)], { stdio: 'inherit', cwd: root })
// The browser benchmark drives real Chromium tabs (Vite + the signaling server in this process).
execFileSync('node', [join(root, 'scripts', 'ensure-chromium.mjs')], { stdio: 'inherit', cwd: root })
execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'bench', 'browser-main.ts'), ...process.argv.slice(2)], { stdio: 'inherit', cwd: root })
// The signaling scale-out under load: real processes and a real Redis.
execFileSync('node', [join(root, 'scripts', 'ensure-redis.mjs')], { stdio: 'inherit', cwd: root })
execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'bench', 'signaling.ts'), ...process.argv.slice(2)], { stdio: 'inherit', cwd: root })
// The README's tables, and a chart per benchmark (HTML and PNG), come from the results just written.
execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'bench', 'readme.ts')], { stdio: 'inherit', cwd: root })
execFileSync(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'bench', 'charts.ts')], { stdio: 'inherit', cwd: root })
