import { benchBrowser } from './browser.ts'
import { benchMembership } from './membership.ts'
import { printTable, writeResults, type BenchResult } from './results.ts'
import { benchTraces } from './traces.ts'
import { benchScale } from './scale.ts'
import { benchSizes } from './sizes.ts'

/**
 * The benchmarks in real tabs. BENCH_AREAS=scale,trace runs some of them; a
 * run of some traces or systems (BENCH_TRACES, BENCH_SYSTEMS) merges its
 * figures into the area's results file instead of replacing it.
 */
const quick = process.argv.includes('--quick')
const only = process.env.BENCH_AREAS?.split(',')
const browser = `Debian Chromium (${process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'}), headless, a profile on disk (IndexedDB commits reach the disk)`
const areas: [area: string, title: string, run: () => Promise<BenchResult[]>, browser: string | null][] = [
  ['browser', 'browser (3 tabs of one room, real WebRTC and IndexedDB)', () => benchBrowser(quick), browser],
  ['membership', 'membership and compaction (real tabs, dynamic membership)', () => benchMembership(quick), browser],
  ['scale', 'consensus and scale (rooms of 2 to 9 tabs; a text of 1 KB to 10 MB)', () => benchScale(quick), browser],
  ['trace', 'editing traces: Concord vs Yjs + y-webrtc + y-indexeddb (3 tabs: one typing, two following; the concurrent trace: one tab per author)', () => benchTraces(quick), browser],
  ['size', 'what a user downloads (minified, gzip -9)', () => benchSizes(), null],
]
for (const [area, title, run, ranIn] of areas) {
  if (only !== undefined && !only.includes(area)) continue
  const results = await run()
  printTable(title, results)
  const partial = area === 'trace' && (process.env.BENCH_TRACES !== undefined || process.env.BENCH_SYSTEMS !== undefined)
  console.log(`  → ${writeResults(area, results, ranIn, { merge: partial })}`)
}
