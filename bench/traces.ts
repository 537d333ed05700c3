import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { BrowserContext, Page } from '@playwright/test'
import { replayInTraceOrder, type ConcurrentTrace } from '@concord/codemirror/trace-author'
import { heapBytes, measureFloor, percentile, round, startRig } from './browser.ts'
import type { BenchResult } from './results.ts'
import { yjsPaceEvery } from './trace-pace.ts'

/**
 * Real editing traces (issue 7 §1), replayed in three real tabs — one
 * typing, two following — through Concord (openText over a room) and
 * through Yjs (Y.Text over y-webrtc, persisted by y-indexeddb), in the same
 * browser run. Each tab has its own browser context (its own IndexedDB).
 * Measured the same way for both: total time until every tab holds the
 * trace's final text, keystrokes/s, the time until the other tabs show a
 * keystroke (p50/p99), payload bytes sent on all data channels (WebRTC
 * stats), bytes kept in IndexedDB per tab (every value and key, read back),
 * Chromium's own disk usage figure (StorageManager.estimate: compressed,
 * and it lags), and heap. The
 * floor in the same run: typing the trace into a plain text with no sync.
 */
type Patches = [number, number, string][]
type Trace = { endContent: string; txns: { patches: Patches }[] }
type System = 'concord' | 'yjs'

type TraceWindow = {
  trace: {
    connected(): number
    text(): string
    role?(): string
    type(url: string, paceEvery?: number): Promise<{ txns: number; ms: number; times: number[]; sent?: [string, number][] }>
    seen(): [string, number][] | number[]
    bytesSent(): Promise<number>
    storedBytes(): Promise<number>
    diskBytes(): Promise<number>
    commands?(): number
    drained?(): Promise<boolean>
    length?(): number
  }
}


function loadTrace(file: string, limit: number | null): { body: string; trace: Trace } {
  const full = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Trace
  if (limit === null || limit >= full.txns.length) return { body: JSON.stringify(full), trace: full }
  // A prefix of the trace (quick runs): its final text, by applying it here.
  const txns = full.txns.slice(0, limit)
  let text = ''
  for (const { patches } of txns) for (const [at, remove, insert] of patches) text = text.slice(0, at) + insert + text.slice(at + remove)
  const trace = { endContent: text, txns }
  return { body: JSON.stringify(trace), trace }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

/** y-webrtc's own signaling server, as its users run it. */
async function startYjsSignaling(root: string): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort()
  const child = spawn(process.execPath, [join(root, 'node_modules', 'y-webrtc', 'bin', 'server.js')], { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' }, stdio: 'ignore' })
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false)
    if (ok) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url: `ws://127.0.0.1:${port}`, process: child }
}

/** The sequential traces replayed (bench/traces/README.md): the paper, and Joseph Gentle's blog post. BENCH_TRACES=paper picks some. */
const traces = [
  { name: 'paper', file: 'automerge-paper.json.gz' },
  { name: 'blog1', file: 'seph-blog1.json.gz' },
]

/** The concurrent trace (two authors typing at once), replayed with one tab per author. */
const concurrentTraces = [{ name: 'friendsforever', file: 'friendsforever.json.gz' }]

export async function benchTraces(quick: boolean): Promise<BenchResult[]> {
  const root = join(import.meta.dirname, '..')
  const rig = await startRig()
  const yjsSignaling = await startYjsSignaling(root)
  const results: BenchResult[] = []
  const onlyTraces = process.env.BENCH_TRACES?.split(',')
  const picked = <T extends { name: string }>(list: T[]) => list.filter((t) => onlyTraces === undefined || onlyTraces.includes(t.name))
  try {
    // The physical floor of a commit in this browser, for the latencies below: one data-channel round trip + one strict IndexedDB commit.
    const floorContext = await rig.newContext()
    const floor = await measureFloor(floorContext, rig.base, quick ? 50 : 300)
    await floorContext.close()
    results.push({ name: 'trace.floorMs', value: round(floor.floorMs), unit: 'ms' })
    for (const { name, file } of picked(traces)) {
      const { body, trace } = loadTrace(join(root, 'bench', 'traces', file), quick ? 20_000 : null)
      const push = (metric: string, value: number, unit: string) => results.push({ name: `trace.${name}.${metric}`, value: round(value), unit })
      await replayTrace(rig, yjsSignaling.url, name, body, trace, push)
    }
    for (const { name, file } of picked(concurrentTraces)) {
      // Both systems report the trace's length: once is enough.
      const push = (metric: string, value: number, unit: string) => {
        if (!results.some((r) => r.name === `trace.${name}.${metric}`)) results.push({ name: `trace.${name}.${metric}`, value: round(value), unit })
      }
      // Concord twice: each transaction acknowledged before its author types the next (one consensus round
      // each: the latency of a round), and typing on meanwhile as a person at an editor does (fewer, larger
      // commands); then Yjs. BENCH_SYSTEMS=concord,concordTypingOn,yjs picks some.
      const only = process.env.BENCH_SYSTEMS?.split(',')
      const variants: { label: string; system: System; typeOn?: boolean }[] = [
        { label: 'concord', system: 'concord' },
        { label: 'concordTypingOn', system: 'concord', typeOn: true },
        { label: 'yjs', system: 'yjs' },
      ]
      for (const { label, system, typeOn } of variants.filter((v) => only === undefined || only.includes(v.label))) {
        await replayConcurrentTrace(rig, system, label, typeOn === true, system === 'concord' ? rig.signalingUrl : yjsSignaling.url, name, join(root, 'bench', 'traces', file), quick ? 3_000 : null, push)
      }
    }
  } finally {
    yjsSignaling.process.kill()
    await rig.close()
  }
  return results
}

async function replayTrace(rig: Awaited<ReturnType<typeof startRig>>, yjsSignalingUrl: string, name: string, body: string, trace: Trace, push: (metric: string, value: number, unit: string) => void): Promise<void> {
  {
    // The floor: the same keystrokes into a plain text in the same browser, no sync.
    const floorContext = await rig.newContext()
    const floorPage = await floorContext.newPage()
    await floorPage.goto(`${rig.base}/solo.html`)
    const aloneMs = await floorPage.evaluate((json) => {
      const t = JSON.parse(json) as Trace
      let text = ''
      const started = performance.now()
      for (const { patches } of t.txns) for (const [at, remove, insert] of patches) text = text.slice(0, at) + insert + text.slice(at + remove)
      return text.length >= 0 ? performance.now() - started : 0
    }, body)
    await floorContext.close()
    push('typingAloneMs', aloneMs, 'ms')
    push('edits', trace.txns.length, 'edits')

    // Concord with its defaults, Concord snapshotting every 64 commands (text
    // commands are large: seed 001 log clearing sooner), and Yjs.
    // BENCH_SYSTEMS=concord,yjs picks some (trying a setting).
    const room0 = `${name}-${Date.now()}`
    const variants: { label: string; system: System; snapshotEvery?: number }[] = [
      { label: 'concord', system: 'concord' },
      { label: 'concordSnapshot64', system: 'concord', snapshotEvery: 64 },
      { label: 'yjs', system: 'yjs' },
    ]
    const only = process.env.BENCH_SYSTEMS?.split(',')
    for (const { label, system, snapshotEvery: every } of variants.filter((v) => only === undefined || only.includes(v.label))) {
      const room = `trace-${label}-${room0}`
      const signaling = system === 'concord' ? rig.signalingUrl : yjsSignalingUrl
      const contexts: BrowserContext[] = []
      const tabs: Page[] = []
      for (let i = 0; i < 3; i++) {
        const context = await rig.newContext()
        contexts.push(context)
        const page = await context.newPage()
        await page.route(`**/traces/${name}.json`, (route) => route.fulfill({ body, contentType: 'application/json' }))
        const snapshotEvery = every !== undefined ? `&snapshotEvery=${every}` : ''
        await page.goto(`${rig.base}/trace-${system}.html?room=${room}&signaling=${encodeURIComponent(signaling)}${snapshotEvery}`)
        await page.waitForFunction(() => 'trace' in window, undefined, { timeout: 30_000 })
        tabs.push(page)
      }
      await waitFor(async () => (await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.connected())))).every((n) => n === 2), 30_000, `${system}: every tab linked to the other two`)
      if (system === 'concord') await waitFor(async () => (await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.role!())))).includes('leader'), 30_000, 'a leader')
      const storedBefore = await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.storedBytes())))
      const diskBefore = await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.diskBytes())))
      const [typist, ...followers] = tabs as [Page, ...Page[]]
      const role = system === 'concord' ? await typist.evaluate(() => (window as unknown as TraceWindow).trace.role!()) : 'peer'
      const paceEvery = system === 'yjs' ? yjsPaceEvery : undefined
      if (paceEvery !== undefined) {
        // The text's length after each step, for the wait below.
        const lengths = new Map<number, number>()
        let length = 0
        trace.txns.forEach(({ patches }, i) => {
          for (const [, remove, insert] of patches) length += insert.length - remove
          if ((i + 1) % paceEvery === 0) lengths.set(i + 1, length)
        })
        await typist.exposeFunction('benchPace', async (typed: number) => {
          const want = lengths.get(typed)!
          await waitFor(async () => (await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.length!())))).every((n) => n === want), 600_000, `${system}: every tab at ${typed} keystrokes`, 10)
          await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.drained!())))
        })
      }
      const started = Date.now()
      const typed = await typist.evaluate(([url, every]) => (window as unknown as TraceWindow).trace.type(url, every), [`/traces/${name}.json`, paceEvery] as const)
      await waitFor(async () => (await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.text().length)))).every((n) => n === trace.endContent.length), 600_000, `${system}: every tab at the final length`)
      const totalMs = Date.now() - started
      for (const tab of tabs) {
        const text = await tab.evaluate(() => (window as unknown as TraceWindow).trace.text())
        if (text !== trace.endContent) throw new Error(`${system}: a tab ended with other text than the trace's (${text.length} characters)`)
      }
      // Latency: when each keystroke showed in each follower.
      const latencies: number[] = []
      for (const follower of followers) {
        const seen = await follower.evaluate(() => (window as unknown as TraceWindow).trace.seen())
        if (system === 'concord') {
          const at = new Map(seen as [string, number][])
          let from = 0
          for (const [id, count] of typed.sent!) {
            const shown = at.get(id)
            if (shown !== undefined) for (let k = from; k < count; k++) latencies.push(shown - typed.times[k]!)
            from = count
          }
        } else {
          const times = seen as number[]
          for (let k = 0; k < Math.min(times.length, typed.times.length); k++) latencies.push(times[k]! - typed.times[k]!)
        }
      }
      const bytesSent = (await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.bytesSent())))).reduce((a, b) => a + b, 0)
      const storedAfter = await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.storedBytes())))
      const stored = storedAfter.map((after, i) => after - storedBefore[i]!)
      const diskAfter = await Promise.all(tabs.map((t) => t.evaluate(() => (window as unknown as TraceWindow).trace.diskBytes())))
      const disk = diskAfter.map((after, i) => after - diskBefore[i]!)
      const heaps = await Promise.all(tabs.map((t) => heapBytes(t)))
      const heap = heaps.map((h) => h.main + h.workers.reduce((a, b) => a + b, 0))
      push(`${label}.totalMs`, totalMs, 'ms')
      push(`${label}.typingMs`, typed.ms, 'ms')
      push(`${label}.editsPerSec`, (trace.txns.length / totalMs) * 1000, 'edits/s')
      push(`${label}.latencyMs.p50`, percentile(latencies, 50), 'ms')
      push(`${label}.latencyMs.p99`, percentile(latencies, 99), 'ms')
      push(`${label}.bytesSent`, bytesSent, 'B')
      push(`${label}.bytesStored`, stored.reduce((a, b) => a + b, 0) / stored.length, 'B/tab')
      push(`${label}.diskBytes`, disk.reduce((a, b) => a + b, 0) / disk.length, 'B/tab')
      push(`${label}.heapBytes`, heap.reduce((a, b) => a + b, 0) / heap.length, 'B/tab')
      if (system === 'concord') push(`${label}.commands`, await typist.evaluate(() => (window as unknown as TraceWindow).trace.commands!()), 'commands')
      console.log(`  ${name} ${label}: typist was ${role}; ${latencies.length} keystroke deliveries measured`)
      for (const context of contexts) await context.close()
    }
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

/**
 * The concurrent trace through Concord and through Yjs: one tab per author, each typing its own transactions as
 * recorded (the same TraceAuthor, in the trace's order: e2e/pages/trace-author.ts and trace-author-yjs.ts; a Yjs
 * author waits for no acknowledgement of its own, nor does a Concord author typing on: `typeOn`), and one tab
 * that only watches. A transaction's latency runs from when its author typed it, so one typed behind an edit in
 * flight counts its wait for that edit. Total time until
 * every tab holds the final text, transactions/s, the time until the other tabs show a transaction (p50/p99),
 * bytes sent and stored. A quick run replays a prefix, whose final text comes from the same replay in one process.
 */
async function replayConcurrentTrace(rig: Awaited<ReturnType<typeof startRig>>, system: System, label: string, typeOn: boolean, signaling: string, name: string, file: string, limit: number | null, push: (metric: string, value: number, unit: string) => void): Promise<void> {
  const full = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as ConcurrentTrace
  const trace = limit === null || limit >= full.txns.length ? full : { ...full, txns: full.txns.slice(0, limit), endContent: replayInTraceOrder({ ...full, txns: full.txns.slice(0, limit) }).text }
  const body = JSON.stringify(trace)
  type AuthorWindow = {
    traceAuthor: {
      connected(): number
      role(): string
      text(): string
      view(): string | null
      commands(): number
      author(url: string, agent: number): Promise<{ txns: number; ms: number; typed: [string, number][]; extraEdits: number }>
      seen(): [string, number][]
      bytesSent(): Promise<number>
      storedBytes(): Promise<number>
      diskBytes(): Promise<number>
    }
  }
  const room = `trace-${name}-${label}-${Date.now()}`
  const contexts: BrowserContext[] = []
  const tabs: Page[] = []
  for (let i = 0; i < trace.numAgents + 1; i++) {
    const context = await rig.newContext()
    contexts.push(context)
    const page = await context.newPage()
    await page.route(`**/traces/${name}.json`, (route) => route.fulfill({ body, contentType: 'application/json' }))
    await page.goto(`${rig.base}/${system === 'concord' ? 'trace-author' : 'trace-author-yjs'}.html?room=${room}&signaling=${encodeURIComponent(signaling)}${typeOn ? '&typeOn=1' : ''}`)
    await page.waitForFunction(() => 'traceAuthor' in window, undefined, { timeout: 30_000 })
    tabs.push(page)
  }
  /** `f` on every tab's traceAuthor (its source is evaluated in the page, as Playwright does with a function). */
  const all = <T>(f: (api: AuthorWindow['traceAuthor']) => T | Promise<T>): Promise<T[]> =>
    Promise.all(tabs.map((t) => t.evaluate((source) => (0, eval)(`(${source})`)((window as unknown as AuthorWindow).traceAuthor) as unknown, f.toString()) as Promise<T>))
  try {
    await waitFor(async () => (await all((a) => a.connected())).every((n) => n === tabs.length - 1), 30_000, `${name}: every tab linked to the others`)
    if (system === 'concord') await waitFor(async () => (await all((a) => a.role())).includes('leader'), 30_000, `${name}: a leader`)
    const storedBefore = await all((a) => a.storedBytes())
    const roles = await all((a) => a.role())
    const started = Date.now()
    const typed = await Promise.all(tabs.slice(0, trace.numAgents).map((tab, agent) => tab.evaluate(([url, a]) => (window as unknown as AuthorWindow).traceAuthor.author(url, a), [`/traces/${name}.json`, agent] as const)))
    await waitFor(async () => (await all((a) => a.text().length)).every((n) => n === trace.endContent.length), 120_000, `${name}: every tab at the final length`)
    const totalMs = Date.now() - started
    for (const text of [...(await all((a) => a.text())), ...(await all((a) => a.view())).filter((v) => v !== null)]) {
      if (text !== trace.endContent) throw new Error(`${name} ${label}: a tab ended with other text than the trace's (${text?.length} characters)`)
    }
    // Latency: from a transaction typed in its author's tab until it shows in each other tab.
    const seen = (await all((a) => a.seen())).map((entries) => new Map(entries))
    const latencies: number[] = []
    typed.forEach(({ typed: edits }, author) => {
      for (const [id, at] of edits) seen.forEach((shown, tab) => {
        const t = tab === author ? undefined : shown.get(id)
        if (t !== undefined) latencies.push(t - at)
      })
    })
    const stored = (await all((a) => a.storedBytes())).map((after, i) => after - storedBefore[i]!)
    const heap = (await Promise.all(tabs.map((t) => heapBytes(t)))).map((h) => h.main + h.workers.reduce((a, b) => a + b, 0))
    push('edits', trace.txns.length, 'edits')
    push(`${label}.totalMs`, totalMs, 'ms')
    push(`${label}.editsPerSec`, (trace.txns.length / totalMs) * 1000, 'edits/s')
    push(`${label}.latencyMs.p50`, percentile(latencies, 50), 'ms')
    push(`${label}.latencyMs.p99`, percentile(latencies, 99), 'ms')
    push(`${label}.bytesSent`, (await all((a) => a.bytesSent())).reduce((a, b) => a + b, 0), 'B')
    push(`${label}.bytesStored`, stored.reduce((a, b) => a + b, 0) / stored.length, 'B/tab')
    push(`${label}.heapBytes`, heap.reduce((a, b) => a + b, 0) / heap.length, 'B/tab')
    if (system === 'concord') push(`${label}.commands`, (await all((a) => a.commands()))[0]!, 'commands')
    console.log(`  ${name} ${label}: ${trace.numAgents} authors (roles ${roles.slice(0, trace.numAgents).join(', ')}) and a watcher (${roles.at(-1)}); ${typed.reduce((n, t) => n + t.extraEdits, 0)} transactions typed into a view holding edits their author had not seen; ${latencies.length} deliveries measured`)
  } finally {
    for (const context of contexts) await context.close()
  }
}
