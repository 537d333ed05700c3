import { chromium, type BrowserContext, type CDPSession, type Page } from '@playwright/test'
import { createServer } from 'vite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startSignalingServer } from '@concord/signaling'
import { developmentSecret } from '@concord/signaling'
import type { BenchResult } from './results.ts'
import { coreCount, cpuBetween, sampleCpu, type ProcessKind } from './cpu.ts'

/**
 * Browser figures (issue 4 acceptance), in three real Chromium tabs of one
 * room over real WebRTC and IndexedDB: commit latency of a call from the
 * leader tab and from a follower tab (one call at a time), calls/s with
 * pipelining, failover time, and the physical floor measured in the same
 * browser (one data-channel round trip + one strict IndexedDB commit).
 */
const chromiumPath = process.env.CONCORD_CHROMIUM ?? '/usr/bin/chromium'
const args = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

/** The signaling server, the e2e pages served by Vite, and Chromium: what a browser benchmark runs on. */
export interface Rig {
  base: string
  signalingUrl: string
  /**
   * A browser with a profile on disk, as a user's browser has: its tabs'
   * IndexedDB commits reach the disk. A context from browser.newContext() is
   * off the record, and its IndexedDB lives in memory: a 'strict' commit
   * there took 0.6 ms, no more than a 'relaxed' one (0.5), against 1.1 ms
   * strict and 0.5 relaxed on disk (this VM); and a long Yjs replay grew the
   * browser process past 4 GB holding y-indexeddb's writes. Each call starts
   * its own browser (its own profile, so its own IndexedDB).
   */
  newContext(): Promise<BrowserContext>
  /** The profile directory of a context from newContext(): its processes' command lines name it (bench/cpu.ts). */
  profileOf(context: BrowserContext): string
  close(): Promise<void>
}

export async function startRig(): Promise<Rig> {
  const signaling = await startSignalingServer({ secret: developmentSecret })
  const vite = await createServer({ configFile: resolve(import.meta.dirname, '..', 'e2e', 'vite.config.ts'), server: { port: 0, host: '127.0.0.1', hmr: false }, logLevel: 'error' })
  await vite.listen()
  const base = vite.resolvedUrls!.local[0]!.replace(/\/$/, '')
  const profiles: { context: BrowserContext; dir: string }[] = []
  return {
    base,
    signalingUrl: signaling.url,
    async newContext() {
      const dir = mkdtempSync(join(tmpdir(), 'concord-bench-profile-'))
      const context = await chromium.launchPersistentContext(dir, { executablePath: chromiumPath, args })
      profiles.push({ context, dir })
      return context
    },
    profileOf(context) {
      const profile = profiles.find((p) => p.context === context)
      if (profile === undefined) throw new Error('not a context of this rig')
      return profile.dir
    },
    async close() {
      // Closing a context ends its browser; then its profile goes.
      for (const { context, dir } of profiles.splice(0)) {
        await context.close().catch(() => {})
        rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
      }
      await vite.close()
      await signaling.close()
    },
  }
}

/**
 * The physical floor of a commit, in this browser: one data-channel round trip (p50) plus one strict IndexedDB
 * commit (p50); and a commit through the store's own storage layer beside it. Also two strict commits started
 * together in two databases (p50 until both are done): the leader's tab and a follower's tab of one browser
 * commit their votes at about the same moment, in the one backend that holds every database of the origin.
 */
export async function measureFloor(context: BrowserContext, base: string, n: number, cpuMarker: string | null = null): Promise<{ rttMs: number; idbMs: number; pairedIdbMs: number; viaStorageMs: number; floorMs: number; strictCommitCpuMs: Record<ProcessKind, number> | null }> {
  const floorPage = await context.newPage()
  await floorPage.goto(`${base}/floor.html`)
  await floorPage.waitForFunction(() => 'floor' in window)
  type Floor = { floor: Record<'roundTrips' | 'strictCommits' | 'pairedStrictCommits' | 'storageCommits', (n: number) => Promise<number[]>> }
  const rtt = await floorPage.evaluate((count) => (window as never as Floor).floor.roundTrips(count), n)
  const cpuBefore = cpuMarker === null ? null : sampleCpu(cpuMarker)
  const idb = await floorPage.evaluate((count) => (window as never as Floor).floor.strictCommits(count), n)
  const cpuAfter = cpuMarker === null ? null : sampleCpu(cpuMarker)
  const paired = await floorPage.evaluate((count) => (window as never as Floor).floor.pairedStrictCommits(count), n)
  const viaStorage = await floorPage.evaluate((count) => (window as never as Floor).floor.storageCommits(count), n)
  await floorPage.close()
  const rttMs = percentile(rtt, 50)
  const idbMs = percentile(idb, 50)
  const strictCommitCpuMs = cpuBefore !== null && cpuAfter !== null ? cpuBetween(cpuBefore, cpuAfter, n).msPerOp : null
  return { rttMs, idbMs, pairedIdbMs: percentile(paired, 50), viaStorageMs: percentile(viaStorage, 50), floorMs: rttMs + idbMs, strictCommitCpuMs }
}

/** Calls made before any is timed: the tabs' and workers' code is compiled by then (V8 optimizes a function after some hundreds of runs). */
export const warmUpCalls = 300

export async function benchBrowser(quick: boolean): Promise<BenchResult[]> {
  const rig = await startRig()
  const { base } = rig
  const signaling = { url: rig.signalingUrl }
  try {
    const context = await rig.newContext()
    const results: BenchResult[] = []
    // The floor.
    const profile = rig.profileOf(context)
    const floor = await measureFloor(context, base, quick ? 50 : 300, profile)
    results.push({ name: 'browser.idbStorageCommitMs.p50', value: round(floor.viaStorageMs), unit: 'ms' })
    results.push({ name: 'browser.dataChannelRttMs.p50', value: round(floor.rttMs), unit: 'ms' })
    results.push({ name: 'browser.idbStrictCommitMs.p50', value: round(floor.idbMs), unit: 'ms' })
    results.push({ name: 'browser.floorMs', value: round(floor.floorMs), unit: 'ms' })
    results.push({ name: 'browser.idbPairedStrictCommitMs.p50', value: round(floor.pairedIdbMs), unit: 'ms' })
    results.push({ name: 'browser.floorMs.oneBrowser', value: round(floor.rttMs + floor.pairedIdbMs), unit: 'ms' })
    // What one strict commit alone costs the browser process (its IndexedDB backend) in CPU.
    if (floor.strictCommitCpuMs !== null) results.push({ name: 'browser.idbStrictCommitCpuMs.browserProcess', value: round(floor.strictCommitCpuMs.browser), unit: 'ms' })

    // A three-tab room.
    const room = `bench-${Date.now()}`
    const url = `${base}/room.html?room=${room}&slots=3&signaling=${encodeURIComponent(signaling.url)}${process.env.BENCH_TICK ? `&tick=${process.env.BENCH_TICK}` : ''}${process.env.BENCH_ALPHA ? `&alpha=${process.env.BENCH_ALPHA}` : ''}${process.env.BENCH_STORAGE ? `&storage=${process.env.BENCH_STORAGE}` : ''}`
    const tabs = await openRoomTabs(context, url, 3)
    const leader = await leaderOf(tabs)
    const follower = tabs.find((t) => t !== leader)!
    await timeCalls(leader, warmUpCalls)
    // A round trip between the leader's tab and its worker with no call (the
    // worker's status, asked over comlink): every call makes this round trip
    // (to the worker and back), which neither floor has.
    const hops = await leader.evaluate(async (n) => {
      const store = (window as never as { room: { store: { debugWorkerStatus(): Promise<unknown> } } }).room.store
      const times: number[] = []
      for (let i = 0; i < n; i++) {
        const started = performance.now()
        await store.debugWorkerStatus()
        times.push(performance.now() - started)
      }
      return times
    }, quick ? 50 : 300)
    results.push({ name: 'browser.workerRoundTripMs.p50', value: round(percentile(hops, 50)), unit: 'ms' })
    const sequential = quick ? 100 : 500
    // The CPU a call costs every process of the browser, and how busy the
    // machine's cores were meanwhile: where the time above the floor goes.
    const cpuBefore = sampleCpu(profile)
    const leaderMs = await timeCalls(leader, sequential)
    const cpuAfter = sampleCpu(profile)
    if (cpuBefore !== null && cpuAfter !== null) {
      const { msPerOp, busyShare } = cpuBetween(cpuBefore, cpuAfter, sequential)
      results.push({ name: 'browser.cpuMsPerCall.browserProcess', value: round(msPerOp.browser), unit: 'ms' })
      results.push({ name: 'browser.cpuMsPerCall.renderers', value: round(msPerOp.renderer), unit: 'ms' })
      results.push({ name: 'browser.cpuMsPerCall.network', value: round(msPerOp.network), unit: 'ms' })
      results.push({ name: 'browser.cpuMsPerCall.total', value: round(msPerOp.browser + msPerOp.renderer + msPerOp.network + msPerOp.other), unit: 'ms' })
      results.push({ name: 'browser.cpuBusyPercent', value: Math.round(busyShare * 100), unit: `% of ${coreCount} cores` })
    }
    const followerMs = await timeCalls(follower, sequential)
    const w = await leader.evaluate(() => (window as never as { room: { store: { worker?: unknown }; status(): { writes: number; writeMsAverage: number } } }).room.status())
    results.push({ name: 'browser.workerIdbWriteMs.average', value: round(w.writeMsAverage), unit: 'ms' })
    const wc = await leader.evaluate(async () => (window as never as { room: { store: { debugWorkerStatus(): Promise<{ callMsAverage: number }> } } }).room.store.debugWorkerStatus())
    results.push({ name: 'browser.workerCallMs.average', value: round(wc.callMsAverage), unit: 'ms' })
    results.push({ name: 'browser.commitMs.leader.p50', value: round(percentile(leaderMs, 50)), unit: 'ms' })
    results.push({ name: 'browser.commitMs.leader.p99', value: round(percentile(leaderMs, 99)), unit: 'ms' })
    results.push({ name: 'browser.commitMs.follower.p50', value: round(percentile(followerMs, 50)), unit: 'ms' })
    results.push({ name: 'browser.commitMs.follower.p99', value: round(percentile(followerMs, 99)), unit: 'ms' })
    const burst = quick ? 1000 : 5000
    const seconds = await leader.evaluate(async (count) => {
      const started = performance.now()
      await Promise.all(Array.from({ length: count }, () => (window as never as RoomWindow).room.add(1)))
      return (performance.now() - started) / 1000
    }, burst)
    results.push({ name: 'browser.callsPerSec', value: Math.round(burst / seconds), unit: 'calls/s' })
    if (process.env.BENCH_DEBUG) {
      for (const t of tabs) console.log(JSON.stringify(await t.evaluate(async () => { const s = await (window as never as { room: { store: { debugWorkerStatus(): Promise<Record<string, unknown>> } } }).room.store.debugWorkerStatus(); return { role: s.role, writes: s.writes, writeMs: s.writeMsAverage, issued: s.issuedUpTo, counters: s.counters } })))
    }

    // An idle room: what the three tabs send on their data channels per
    // second with no call in flight (heartbeats and their acks; the floor is 0).
    const idleSettleMs = 2_000
    const idleMs = quick ? 3_000 : 20_000
    await new Promise((r) => setTimeout(r, idleSettleMs))
    const sentBytes = async () => (await Promise.all(tabs.map((t) => t.evaluate(() => (window as never as RoomWindow).room.bytesSent())))).reduce((a, b) => a + b, 0)
    const idleFrom = await sentBytes()
    const idleStarted = Date.now()
    await new Promise((r) => setTimeout(r, idleMs))
    results.push({ name: 'browser.idleBytesPerSec', value: Math.round(((await sentBytes()) - idleFrom) / ((Date.now() - idleStarted) / 1000)), unit: 'B/s' })

    // Failover: close the leader tab, call from a follower at once.
    const survivors = tabs.filter((t) => t !== leader)
    const closedAt = Date.now()
    await leader.close()
    await survivors[0]!.evaluate(() => (window as never as RoomWindow).room.add(1))
    results.push({ name: 'browser.failoverMs', value: Date.now() - closedAt, unit: 'ms' })
    await context.close()

    // The same room and calls with the replicas' storage in memory, no
    // IndexedDB: what the protocol, the data channels and the tabs cost
    // without the two strict commits of each call (not a mode to ship: a
    // replica that forgets its votes can break quorum intersection). In a
    // browser of its own, where no IndexedDB work of the room above goes on.
    const memoryContext = await rig.newContext()
    const memoryProfile = rig.profileOf(memoryContext)
    const memoryTabs = await openRoomTabs(memoryContext, `${url.replace(`room=${room}`, `room=${room}-memory`).replace(/&storage=\w+/, '')}&storage=memory`, 3)
    const memoryLeader = await leaderOf(memoryTabs)
    await timeCalls(memoryLeader, warmUpCalls)
    const memoryBefore = sampleCpu(memoryProfile)
    const memoryMs = await timeCalls(memoryLeader, sequential)
    const memoryAfter = sampleCpu(memoryProfile)
    results.push({ name: 'browser.commitMs.leader.memoryStorage.p50', value: round(percentile(memoryMs, 50)), unit: 'ms' })
    if (memoryBefore !== null && memoryAfter !== null) {
      const { msPerOp } = cpuBetween(memoryBefore, memoryAfter, sequential)
      results.push({ name: 'browser.cpuMsPerCall.total.memoryStorage', value: round(msPerOp.browser + msPerOp.renderer + msPerOp.network + msPerOp.other), unit: 'ms' })
    }
    return results
  } finally {
    await rig.close()
  }
}

/** What the e2e room page exposes (e2e/pages/room.ts). */
interface RoomWindow {
  room: { add(by: number): Promise<number>; status(): { role: string }; bytesSent(): Promise<number> }
}

/** `count` tabs of the e2e room page at `url`, one after another, each once its store is open. */
export async function openRoomTabs(context: BrowserContext, url: string, count: number): Promise<Page[]> {
  const tabs: Page[] = []
  for (let i = 0; i < count; i++) {
    const page = await context.newPage()
    await page.goto(url)
    await page.waitForFunction(() => 'room' in window, undefined, { timeout: 30_000 })
    tabs.push(page)
  }
  return tabs
}

export async function leaderOf(tabs: Page[]): Promise<Page> {
  for (let i = 0; i < 300; i++) {
    for (const t of tabs) if ((await t.evaluate(() => (window as never as RoomWindow).room.status().role)) === 'leader') return t
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('no leader')
}

export function timeCalls(page: Page, count: number): Promise<number[]> {
  return page.evaluate(async (n) => {
    const api = (window as never as RoomWindow).room
    const times: number[] = []
    for (let i = 0; i < n; i++) {
      const started = performance.now()
      await api.add(1)
      times.push(performance.now() - started)
    }
    return times
  }, count)
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

export const round = (x: number) => Math.round(x * 100) / 100

/**
 * JS heap in use by a tab's main thread and by each of its dedicated
 * workers (the replica), after a garbage collection, through the DevTools
 * protocol: workers are reached by auto-attaching to them from the page's
 * session (Playwright's own CDP sessions do not reach into workers).
 */
export async function heapBytes(page: Page): Promise<{ main: number; workers: number[] }> {
  const threads = await pageThreads(page)
  try {
    await new Promise((r) => setTimeout(r, 200)) // the attach events of existing workers
    const workers: number[] = []
    for (const session of threads.workers) {
      await threads.inWorker(session, 'HeapProfiler.collectGarbage')
      workers.push((await threads.inWorker<{ usedSize: number }>(session, 'Runtime.getHeapUsage')).usedSize)
    }
    await threads.session.send('HeapProfiler.collectGarbage')
    const main = (await threads.session.send('Runtime.getHeapUsage')).usedSize
    return { main, workers }
  } finally {
    await threads.session.detach()
  }
}

/** A page's CDP session and its dedicated workers, reached through it (auto-attached, not flattened). */
export interface PageThreads {
  session: CDPSession
  /** The workers' session ids, as they attach. */
  workers: string[]
  /** A CDP command in one worker, answered with its result. */
  inWorker<T = unknown>(sessionId: string, method: string, params?: object): Promise<T>
}

export async function pageThreads(page: Page): Promise<PageThreads> {
  const session = await page.context().newCDPSession(page)
  const workers: string[] = []
  const pending = new Map<number, (result: unknown) => void>()
  session.on('Target.attachedToTarget', (event) => {
    if (event.targetInfo.type === 'worker') workers.push(event.sessionId)
  })
  session.on('Target.receivedMessageFromTarget', (event) => {
    const message = JSON.parse(event.message) as { id?: number; result?: unknown }
    if (message.id === undefined) return
    pending.get(message.id)?.(message.result)
    pending.delete(message.id)
  })
  await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false })
  let nextId = 1
  const inWorker = <T>(sessionId: string, method: string, params: object = {}) =>
    new Promise<T>((resolve) => {
      const id = nextId++
      pending.set(id, resolve as (result: unknown) => void)
      void session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
    })
  return { session, workers, inWorker }
}
