// Installs npm dependencies when they are missing or stale, so that
// `npm start` and `npm test` work right after `git clone` (DEVELOPERS.md,
// non-negotiable 1). Uses only Node built-ins: it runs before anything is installed.
import { execSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const lock = join(root, 'package-lock.json')
const installed = join(root, 'node_modules', '.package-lock.json')

function stale() {
  if (!existsSync(installed)) return true
  if (!existsSync(lock)) return true
  // npm rewrites node_modules/.package-lock.json on every install; an older
  // copy than the lockfile means the lockfile changed since (e.g. a git pull).
  return statSync(installed).mtimeMs < statSync(lock).mtimeMs
}

if (stale()) {
  const command = existsSync(lock) ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund'
  console.log(`[ensure-deps] ${command}`)
  execSync(command, { cwd: root, stdio: 'inherit' })
} else {
  // Cheap sanity check: the lockfile's root package must be present.
  const pkg = JSON.parse(readFileSync(lock, 'utf8'))
  if (!pkg.packages) execSync('npm install --no-audit --no-fund', { cwd: root, stdio: 'inherit' })
}
