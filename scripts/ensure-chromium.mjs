// Browser tests need Debian's Chromium at /usr/bin/chromium (Playwright's own
// download does not work here). Install it when missing and running as root
// (DEVELOPERS.md, non-negotiable 1); otherwise say exactly what is missing.
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const path = process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'
if (!existsSync(path)) {
  if (process.getuid?.() !== 0) {
    console.error(`[ensure-chromium] ${path} is missing and this is not root: install Debian's chromium (apt-get install -y chromium) or set CONCORD_CHROMIUM`)
    process.exit(1)
  }
  console.log('[ensure-chromium] apt-get install -y chromium')
  execSync('apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium', { stdio: 'inherit', shell: '/bin/bash' })
  if (!existsSync(path)) {
    console.error(`[ensure-chromium] chromium was installed but ${path} is not there`)
    process.exit(1)
  }
}
