import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { roomTest, expect } from '@concord/playwright'
import { replayInTraceOrder, type ConcurrentTrace } from '@concord/codemirror/trace-author'
import type { textMachine } from './pages/machines.ts'

/**
 * Issue 7: the concurrent trace (friendsforever: two people typing one
 * document at once) replayed in real tabs, one per author, each typing its
 * own transactions as recorded; a third tab only watches. Every tab must end
 * with the trace's final text. The test replays its first
 * `prefixTransactions` (both authors type in them; its final text comes from
 * the same replay in this process); `npm run bench` replays all of it: on
 * two cores shared with the other tests the whole trace took up to 6 of the
 * test's 10 minutes.
 */
const prefixTransactions = 10_000
type AuthorApi = {
  commands(): number
  text(): string
  view(): string | null
  author(url: string, agent: number): Promise<{ txns: number; ms: number; typed: [string, number][]; extraEdits: number }>
}
declare const traceAuthor: AuthorApi

const test = roomTest<typeof textMachine>()
test.use({ concord: { page: '/trace-author.html', tabs: 3 } })

const body = gunzipSync(readFileSync(new URL('../bench/traces/friendsforever.json.gz', import.meta.url)))
const full = JSON.parse(body.toString('utf8')) as ConcurrentTrace
const prefix = { ...full, txns: full.txns.slice(0, prefixTransactions) }
const trace: ConcurrentTrace = { ...prefix, endContent: replayInTraceOrder(prefix).text }
const served = Buffer.from(JSON.stringify(trace))

for (const typeOn of [false, true]) {
  test.describe(typeOn ? 'typing on while an edit is in flight' : 'each transaction acknowledged before the next', () => {
    if (typeOn) test.use({ concord: { page: '/trace-author.html', tabs: 3, query: { typeOn: 1 } } })
    replay(typeOn)
  })
}

function replay(typeOn: boolean): void {
  test(`the concurrent trace (friendsforever, its first 10,000 transactions), one tab per author typing its own edits as recorded${typeOn ? ', typing on' : ''}: every tab ends with its final text`, async ({ room }) => {
    test.setTimeout(600_000)
    for (const tab of room.tabs) await tab.page.route('**/traces/friendsforever.json', (route) => route.fulfill({ body: served, contentType: 'application/json' }))
    await room.leader()
    const authors = room.tabs.slice(0, trace.numAgents)
    const started = Date.now()
    const results = await Promise.all(authors.map((tab, agent) => tab.page.evaluate(([url, a]) => traceAuthor.author(url, a), ['/traces/friendsforever.json', agent] as const)))
    const ms = Date.now() - started
    expect(results.reduce((n, r) => n + r.txns, 0)).toBe(trace.txns.length)
    await expect.poll(async () => Promise.all(room.tabs.map((t) => t.page.evaluate(() => traceAuthor.text().length))), { timeout: 60_000 }).toEqual(room.tabs.map(() => trace.endContent.length))
    for (const tab of room.tabs) expect(await tab.page.evaluate(() => traceAuthor.text())).toBe(trace.endContent)
    for (const tab of authors) expect(await tab.page.evaluate(() => traceAuthor.view())).toBe(trace.endContent)
    // Typing on, a command carries a run of transactions; otherwise one each.
    const commands = await room.tabs[0]!.page.evaluate(() => traceAuthor.commands())
    if (typeOn) expect(commands).toBeLessThan(trace.txns.length)
    else expect(commands).toBe(trace.txns.length)
    console.log(`friendsforever${typeOn ? ', typing on' : ''}: ${trace.txns.length} transactions by ${trace.numAgents} authors in ${commands} commands, ${ms} ms (${Math.round((trace.txns.length / ms) * 1000)}/s); ${results.reduce((n, r) => n + r.extraEdits, 0)} typed into a view holding edits their author had not seen`)
  })
}
