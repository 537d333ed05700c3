// Installs a Debian package when the binary the tests need is missing and this
// is root (DEVELOPERS.md, non-negotiable 1); otherwise says exactly what is missing.
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export function ensureDebianPackage({ path, pkg, tag, env }) {
  if (existsSync(path)) return
  if (process.getuid?.() !== 0) {
    console.error(`[${tag}] ${path} is missing and this is not root: install Debian's ${pkg} (apt-get install -y ${pkg})${env ? ` or set ${env}` : ''}`)
    process.exit(1)
  }
  console.log(`[${tag}] apt-get install -y ${pkg}`)
  execSync(`apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${pkg}`, { stdio: 'inherit', shell: '/bin/bash' })
  if (!existsSync(path)) {
    console.error(`[${tag}] ${pkg} was installed but ${path} is not there`)
    process.exit(1)
  }
}
