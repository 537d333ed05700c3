import { benchBrowser } from './browser.ts'
import { benchMembership } from './membership.ts'
import { printTable, writeResults } from './results.ts'

const quick = process.argv.includes('--quick')
const results = await benchBrowser(quick)
const browser = `Debian Chromium (${process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'}), headless`
printTable('browser (3 tabs of one room, real WebRTC and IndexedDB)', results)
console.log(`  → ${writeResults('browser', results, browser)}`)
const membership = await benchMembership(quick)
printTable('membership and compaction (real tabs, dynamic membership)', membership)
console.log(`  → ${writeResults('membership', membership, browser)}`)
