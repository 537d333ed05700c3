// Browser tests need Debian's Chromium at /usr/bin/chromium (Playwright's own
// download does not work here): installed when missing and running as root.
import { ensureDebianPackage } from './debian.mjs'

ensureDebianPackage({ path: process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium', pkg: 'chromium', tag: 'ensure-chromium', env: 'CONCORD_CHROMIUM' })
