import { benchBrowser } from './browser.ts'
import { benchMembership } from './membership.ts'
import { printTable, writeResults } from './results.ts'
import { benchTraces } from './traces.ts'
import { benchSizes } from './sizes.ts'

const quick = process.argv.includes('--quick')
const results = await benchBrowser(quick)
const browser = `Debian Chromium (${process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'}), headless`
printTable('browser (3 tabs of one room, real WebRTC and IndexedDB)', results)
console.log(`  → ${writeResults('browser', results, browser)}`)
const membership = await benchMembership(quick)
printTable('membership and compaction (real tabs, dynamic membership)', membership)
console.log(`  → ${writeResults('membership', membership, browser)}`)
const traces = await benchTraces(quick)
printTable('editing traces: Concord vs Yjs + y-webrtc + y-indexeddb (3 tabs: one typing, two following)', traces)
console.log(`  → ${writeResults('trace', traces, browser)}`)
const sizes = await benchSizes()
printTable('what a user downloads (minified, gzip -9)', sizes)
console.log(`  → ${writeResults('size', sizes, null)}`)
