import { expect, test, type BrowserContext, type Page } from '@playwright/test'
import { signalingPort } from './playwright.config.ts'

/**
 * Multi-tab tests (issue 4 §6): real Chromium tabs, each a replica in its
 * worker with IndexedDB, talking over real WebRTC data channels introduced
 * by the real signaling server.
 */
type Status = {
  replicaId: string
  role: string
  leader: string | null
  lastIssued: number
  connected: string[]
  framesDropped: number
  lastOutOfSync: { kind: string; instance: number; digests: Record<string, string> } | null
  members: string[]
  voter: boolean
}
type RoomApi = {
  replicaId: string
  state(): Record<string, unknown>
  status(): Status
  add(by: number): Promise<number>
  append(item: string): Promise<number>
  attempt(name: string, args: Record<string, unknown>): Promise<{ ok: boolean; value?: unknown; error?: string; message?: string }>
  storedCounts(): Promise<{ issued: number; votes: number }>
  corruptStoredSnapshot(): Promise<number>
  store: {
    lead(): void
    cutLink(peer: string): void
    injectFrame(peer: string, frame: string): void
    debugWorkerStatus(): Promise<{ logStart: number; logSize: number; snapshotAt: number; counters: Record<string, number> }>
    close(): Promise<void>
  }
}
declare const room: RoomApi

const signaling = `ws://127.0.0.1:${signalingPort}`
let roomCount = 0
const newRoom = () => `room-${Date.now()}-${roomCount++}`

async function openTab(context: BrowserContext, name: string, slots = 3, query = ''): Promise<Page> {
  const page = await context.newPage()
  page.on('pageerror', (error) => console.log(`[${name} page error] ${error.message}`))
  await page.goto(`/room.html?room=${name}&slots=${slots}&signaling=${encodeURIComponent(signaling)}${query}`)
  await page.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  return page
}

const status = (page: Page) => page.evaluate(() => room.status())
async function waitForLeader(pages: Page[]): Promise<Page> {
  await expect.poll(async () => (await Promise.all(pages.map(status))).filter((s) => s.role === 'leader').length, { timeout: 20_000 }).toBe(1)
  const all = await Promise.all(pages.map(status))
  return pages[all.findIndex((s) => s.role === 'leader')]!
}

test('three tabs take 1,002 calls from all of them and converge', async ({ context }) => {
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name), await openTab(context, name)]
  const ids = await Promise.all(pages.map((p) => p.evaluate(() => room.replicaId)))
  expect(new Set(ids).size).toBe(3)
  await expect.poll(async () => (await Promise.all(pages.map(status))).every((s) => s.connected.length === 2), { timeout: 20_000 }).toBe(true)
  await waitForLeader(pages)
  const perTab = 334 // 1,002 calls in all
  await Promise.all(pages.map((p) => p.evaluate(async (n) => Promise.all(Array.from({ length: n }, () => room.add(1))), perTab)))
  await expect.poll(async () => (await Promise.all(pages.map((p) => p.evaluate(() => room.state().n)))), { timeout: 20_000 }).toEqual([1002, 1002, 1002])
})

test('the leader tab closes in the middle of a stream of calls: a new leader takes over, nothing acknowledged is lost, nothing runs twice', async ({ context }) => {
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name), await openTab(context, name)]
  const leader = await waitForLeader(pages)
  const followers = pages.filter((p) => p !== leader)
  // Each follower appends its own numbered items, one after another, and records what was acknowledged.
  const streams = followers.map((p, i) =>
    p.evaluate(async (tag) => {
      const acked: string[] = []
      const failed: string[] = []
      for (let k = 0; k < 60; k++) {
        const item = `${tag}-${k}`
        const r = await room.attempt('append', { item })
        if (r.ok) acked.push(item)
        else failed.push(`${item}: ${r.error}`)
      }
      return { acked, failed }
    }, `f${i}`),
  )
  await new Promise((r) => setTimeout(r, 300))
  const closedAt = Date.now()
  await leader.close()
  const results = await Promise.all(streams)
  await waitForLeader(followers)
  // The new leader issues commands: measure how soon after the close one is acknowledged.
  await followers[0]!.evaluate(() => room.add(1))
  const failoverMs = Date.now() - closedAt
  console.log(`failover: a call acknowledged ${failoverMs} ms after the leader tab closed (upper bound; includes the stream)`)
  const acked = results.flatMap((r) => r.acked)
  expect(results.flatMap((r) => r.failed)).toEqual([])
  expect(acked.length).toBe(120)
  await expect.poll(async () => (await Promise.all(followers.map((p) => p.evaluate(() => (room.state().items as string[] | undefined)?.length ?? 0)))), { timeout: 20_000 }).toEqual([120, 120])
  for (const p of followers) {
    const items = (await p.evaluate(() => room.state().items)) as string[]
    expect(new Set(items).size).toBe(items.length) // none twice
    expect([...items].sort()).toEqual([...acked].sort()) // none lost, nothing else
  }
})

test('a tab reloads and recovers from IndexedDB, then catches up', async ({ context }) => {
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name)]
  await waitForLeader(pages)
  await pages[0]!.evaluate(async () => { for (let i = 0; i < 20; i++) await room.add(1) })
  await expect.poll(() => pages[1]!.evaluate(() => room.state().n)).toBe(20)
  const id = await pages[1]!.evaluate(() => room.replicaId)
  await pages[1]!.reload()
  await pages[1]!.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  expect(await pages[1]!.evaluate(() => room.replicaId)).toBe(id) // the same replica, from sessionStorage
  expect(await pages[1]!.evaluate(() => room.state().n)).toBe(20) // from its own IndexedDB, before any peer
  await pages[0]!.evaluate(async () => { for (let i = 0; i < 5; i++) await room.add(1) })
  await expect.poll(() => pages[1]!.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(25)
})

test('a tab opened late catches up', async ({ context }) => {
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name)]
  await waitForLeader(pages)
  await Promise.all(pages.map((p) => p.evaluate(async () => { for (let i = 0; i < 40; i++) await room.add(1) })))
  const late = await openTab(context, name)
  await expect.poll(() => late.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(80)
  expect((await status(late)).lastIssued).toBe(80)
})

test('a long-running room keeps its log bounded behind snapshots, and a late tab gets the snapshot', async ({ context }) => {
  const name = newRoom()
  const query = '&snapshotEvery=50'
  const pages = [await openTab(context, name, 3, query), await openTab(context, name, 3, query)]
  await waitForLeader(pages)
  // The third slot is vacant: after its silence limit (5 s) it no longer holds clearing back.
  await Promise.all(pages.map((p) => p.evaluate(async () => { for (let i = 0; i < 300; i++) await room.add(1) })))
  const worker = (p: Page) => p.evaluate(() => room.store.debugWorkerStatus())
  await expect.poll(async () => (await Promise.all(pages.map(worker))).map((w) => w.logStart >= 550), { timeout: 20_000 }).toEqual([true, true])
  for (const p of pages) {
    const w = await worker(p)
    expect(w.logSize).toBeLessThanOrEqual(51) // of 600 commands applied
    const stored = await p.evaluate(() => room.storedCounts())
    expect(stored.issued).toBeLessThanOrEqual(51)
    expect(stored.issued).toBe(w.logSize)
    console.log(`after 600 calls: ${w.logSize} issued entries in memory and ${stored.issued} in IndexedDB, snapshot at ${w.snapshotAt}`)
  }
  // A tab that never saw the room: what it misses is cleared everywhere, so it gets the snapshot.
  const late = await openTab(context, name, 3, query)
  await expect.poll(() => late.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(600)
  const lateWorker = await worker(late)
  expect(lateWorker.counters['snapshots.received']).toBe(1)
  await late.evaluate(() => room.add(1))
  await expect.poll(async () => Promise.all(pages.map((p) => p.evaluate(() => room.state().n)))).toEqual([601, 601])
  // Reloaded, it starts from its own stored snapshot.
  await late.reload()
  await late.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  expect(await late.evaluate(() => room.state().n)).toBe(601)
})

test('a tab whose stored state was corrupted is detected out of sync, refreshed from a peer and reports it', async ({ context }) => {
  const name = newRoom()
  const query = '&snapshotEvery=10'
  const pages = [await openTab(context, name, 3, query), await openTab(context, name, 3, query), await openTab(context, name, 3, query)]
  const leader = await waitForLeader(pages)
  const victim = pages.find((p) => p !== leader)!
  await leader.evaluate(async () => { for (let i = 0; i < 25; i++) await room.add(1) })
  await expect.poll(() => victim.evaluate(async () => (await room.store.debugWorkerStatus()).snapshotAt), { timeout: 20_000 }).toBeGreaterThan(0)
  expect(await victim.evaluate(() => room.corruptStoredSnapshot())).toBeGreaterThan(0)
  await victim.reload()
  await victim.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  // It loads the damage; the leader's next checkpoint (a quiet room gets one
  // within half a second) compares digests, and it is told to refresh.
  await expect.poll(async () => (await status(victim)).lastOutOfSync?.kind, { timeout: 20_000 }).toBe('refreshing')
  await leader.evaluate(() => room.add(1))
  await expect.poll(() => victim.evaluate(() => room.state()), { timeout: 20_000 }).toEqual({ n: 26 })
  const report = (await status(victim)).lastOutOfSync
  expect(Object.keys(report!.digests)).toHaveLength(2)
  console.log(`out of sync at instance ${report!.instance}: ${JSON.stringify(report!.digests)}; refreshed`)
})

test('dynamic membership: the first tab founds the room, others join, a closed tab leaves, nothing is lost', async ({ context }) => {
  const name = newRoom()
  const query = '&membership=dynamic'
  const members = async (page: Page) => [...(await status(page)).members].sort()
  const a = await openTab(context, name, 3, query)
  const idA = await a.evaluate(() => room.replicaId)
  await expect.poll(() => members(a), { timeout: 20_000 }).toEqual([idA]) // it founded the room, alone
  for (let i = 0; i < 5; i++) await a.evaluate(() => room.add(1)) // a room of one tab works
  const b = await openTab(context, name, 3, query)
  const c = await openTab(context, name, 3, query)
  const ids = [idA, ...(await Promise.all([b, c].map((p) => p.evaluate(() => room.replicaId))))].sort()
  expect(new Set(ids).size).toBe(3)
  const joinedAt = Date.now()
  await expect.poll(async () => Promise.all([a, b, c].map(members)), { timeout: 20_000 }).toEqual([ids, ids, ids])
  console.log(`two tabs joined a room of one in ${Date.now() - joinedAt} ms`)
  await expect.poll(() => c.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(5) // without losing anything
  await Promise.all([b, c].map((p) => p.evaluate(async () => { for (let i = 0; i < 10; i++) await room.add(1) })))
  // The founder closes: it leaves; the two others go on.
  await a.close({ runBeforeUnload: true })
  const rest = ids.filter((id) => id !== idA)
  await expect.poll(async () => Promise.all([b, c].map(members)), { timeout: 30_000 }).toEqual([rest, rest])
  await b.evaluate(() => room.add(100))
  await expect.poll(async () => Promise.all([b, c].map((p) => p.evaluate(() => room.state().n))), { timeout: 20_000 }).toEqual([125, 125])
  // A reload keeps the tab's replica (its id and its storage).
  const idC = await c.evaluate(() => room.replicaId)
  await c.reload()
  await c.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  expect(await c.evaluate(() => room.replicaId)).toBe(idC)
  expect(await c.evaluate(() => room.state().n)).toBe(125)
  await c.evaluate(() => room.add(1))
  await expect.poll(() => b.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(126)
})

test('a room grows to 5 voters and 2 learners, loses a voter that closes and one that dies, and promotes learners; no acknowledged call is lost or doubled', async ({ context }) => {
  test.setTimeout(120_000)
  const name = newRoom()
  const query = '&membership=dynamic'
  const tabs: Page[] = [await openTab(context, name, 3, query)]
  await expect.poll(async () => (await status(tabs[0]!)).voter, { timeout: 20_000 }).toBe(true)
  for (let i = 1; i < 7; i++) {
    tabs.push(await openTab(context, name, 3, query))
    await expect.poll(async () => (await status(tabs[i]!)).lastIssued, { timeout: 20_000 }).toBeGreaterThan(0)
  }
  const voters = async () => (await Promise.all(tabs.map(status))).filter((s) => s.voter).map((s) => s.replicaId)
  await expect.poll(async () => (await voters()).length, { timeout: 30_000 }).toBe(5)
  const learners = (await Promise.all(tabs.map(status))).filter((s) => !s.voter)
  expect(learners).toHaveLength(2)
  // Every tab calls, learners too, while a voter closes and another crashes.
  const streams = tabs.map((p, i) =>
    p.evaluate(async (tag) => {
      const acked: string[] = []
      for (let k = 0; k < 15; k++) {
        const r = await room.attempt('append', { item: `${tag}-${k}` })
        if (r.ok) acked.push(`${tag}-${k}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return acked
    }, `t${i}`).catch(() => [] as string[]),
  )
  const all = await Promise.all(tabs.map(status))
  const [closing, crashing] = all.filter((s) => s.voter && s.role !== 'leader').map((s) => tabs[all.indexOf(s)]!)
  await new Promise((resolve) => setTimeout(resolve, 300))
  await closing!.close({ runBeforeUnload: true })
  // The other's replica dies without a goodbye (its worker and links are
  // torn down, no leave is sent): it is removed after its silence. (A
  // renderer crash by CDP can take other tabs of the same site with it, and
  // a frozen page's worker goes on running its replica, so neither is used.)
  await crashing!.evaluate(() => room.store.close())
  const alive = tabs.filter((p) => p !== closing && p !== crashing)
  // What the two lost tabs were told before they went counts too (a crashed page may never answer).
  const lost = [closing, crashing].map((p) => streams[tabs.indexOf(p!)]!)
  const settled = (promise: Promise<string[]>) => Promise.race([promise, new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 1_000))])
  const acked = [...(await Promise.all(alive.map((p) => streams[tabs.indexOf(p)]!))), ...(await Promise.all(lost.map(settled)))].flat()
  // The two learners are promoted: five voters again, all of them alive.
  const aliveIds = (await Promise.all(alive.map(status))).map((s) => s.replicaId).sort()
  await expect.poll(async () => [...(await status(alive[0]!)).members].sort(), { timeout: 40_000 }).toEqual(aliveIds)
  const items = async (p: Page) => ((await p.evaluate(() => room.state().items)) as string[] | undefined) ?? []
  await expect.poll(async () => new Set((await Promise.all(alive.map(items))).map((list) => list.length)).size, { timeout: 20_000 }).toBe(1)
  for (const p of alive) {
    const list = await items(p)
    expect(new Set(list).size).toBe(list.length) // none twice
    for (const item of acked) expect(list).toContain(item) // none acknowledged lost
  }
  console.log(`5 voters + 2 learners; ${acked.length} calls acknowledged while a voter closed and one died; learners promoted`)
})

test('a duplicated tab (sessionStorage copied) gets a new replica id', async ({ context }) => {
  const name = newRoom()
  const first = await openTab(context, name)
  const id = await first.evaluate(() => room.replicaId)
  const duplicate = await context.newPage()
  // What "Duplicate tab" does: the same sessionStorage in a new tab.
  await duplicate.addInitScript(([key, value]) => sessionStorage.setItem(key!, value!), [`concord:e2e:${name}:slot`, id])
  await duplicate.goto(`/room.html?room=${name}&slots=3&signaling=${encodeURIComponent(signaling)}`)
  await duplicate.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  const other = await duplicate.evaluate(() => room.replicaId)
  expect(other).not.toBe(id)
  await waitForLeader([first, duplicate])
  await first.evaluate(() => room.add(7))
  await expect.poll(() => duplicate.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(7)
})

test('a cut peer link is rebuilt and the room keeps working', async ({ context }) => {
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name), await openTab(context, name)]
  await expect.poll(async () => (await Promise.all(pages.map(status))).every((s) => s.connected.length === 2), { timeout: 20_000 }).toBe(true)
  await waitForLeader(pages)
  const [a, b] = await Promise.all(pages.slice(0, 2).map((p) => p.evaluate(() => room.replicaId)))
  await pages[0]!.evaluate((peer) => room.store.cutLink(peer), b!)
  await pages[0]!.evaluate(async () => { for (let i = 0; i < 10; i++) await room.add(1) })
  await expect.poll(async () => (await status(pages[0]!)).connected, { timeout: 20_000 }).toContain(b)
  await expect.poll(async () => (await status(pages[1]!)).connected, { timeout: 20_000 }).toContain(a)
  await expect.poll(async () => (await Promise.all(pages.map((p) => p.evaluate(() => room.state().n)))), { timeout: 20_000 }).toEqual([10, 10, 10])
})

test('a malformed data-channel message is dropped and counted, and changes nothing', async ({ context }) => {
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name)]
  await waitForLeader(pages)
  await pages[0]!.evaluate(() => room.add(3))
  await expect.poll(() => pages[1]!.evaluate(() => room.state().n)).toBe(3)
  const target = await pages[1]!.evaluate(() => room.replicaId)
  const before = (await status(pages[1]!)).framesDropped
  await pages[0]!.evaluate((peer) => {
    room.store.injectFrame(peer, '{"type":"BeginBallot","from":')
    room.store.injectFrame(peer, JSON.stringify({ type: 'Voted', from: room.replicaId, to: peer, ballot: { round: -1, replica: 'x' }, instances: [1] }))
  }, target)
  await expect.poll(async () => (await status(pages[1]!)).framesDropped, { timeout: 10_000 }).toBe(before + 2)
  expect(await pages[1]!.evaluate(() => room.state().n)).toBe(3)
  await pages[0]!.evaluate(() => room.add(1))
  await expect.poll(() => pages[1]!.evaluate(() => room.state().n)).toBe(4)
})

test('the API answers with typed errors: a rejection, bad arguments', async ({ context }) => {
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name)]
  await waitForLeader(pages)
  await pages[1]!.evaluate(() => room.add(2))
  expect(await pages[1]!.evaluate(() => room.attempt('take', { by: 5 }))).toMatchObject({ ok: false, error: 'RejectedError', message: 'rejected: only 2 left' })
  expect(await pages[1]!.evaluate(() => room.attempt('add', { by: 'three' }))).toMatchObject({ ok: false, error: 'ValidationError', message: expect.stringContaining('by') })
  expect(await pages[1]!.evaluate(() => room.attempt('nope', {}))).toMatchObject({ ok: false, error: 'ValidationError' })
  expect(await pages[1]!.evaluate(() => room.attempt('take', { by: 2 }))).toMatchObject({ ok: true, value: 0 })
})

test('a tab without quorum reads its state and queues calls, which run when quorum returns', async ({ context }) => {
  const name = newRoom()
  const alone = await openTab(context, name)
  expect(await alone.evaluate(() => room.state())).toEqual({}) // readable at once
  const pending = alone.evaluate(() => room.add(5)) // 1 of 3 slots: no quorum, so it waits
  await new Promise((r) => setTimeout(r, 1500))
  expect((await status(alone)).lastIssued).toBe(0)
  const second = await openTab(context, name) // quorum (2 of 3) returns
  expect(await pending).toBe(5)
  await expect.poll(() => second.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(5)
})
