import { benchBrowser } from './browser.ts'
import { printTable, writeResults } from './results.ts'

const quick = process.argv.includes('--quick')
const results = await benchBrowser(quick)
const browser = `Debian Chromium (${process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'}), headless`
printTable('browser (3 tabs of one room, real WebRTC and IndexedDB)', results)
console.log(`  → ${writeResults('browser', results, browser)}`)
