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
  ballot: string
  lastIssued: number
  connected: string[]
  framesDropped: number
  lastOutOfSync: { kind: string; instance: number; digests: Record<string, string> } | null
  members: string[]
  voter: boolean
  adopted: string[]
}
type RoomApi = {
  replicaId: string
  state(): Record<string, unknown>
  status(): Status
  add(by: number): Promise<number>
  append(item: string): Promise<number>
  attempt(name: string, args: Record<string, unknown>): Promise<{ ok: boolean; value?: unknown; error?: string; message?: string }>
  storedCounts(): Promise<{ issued: number; votes: number }>
  crownPrince(): string
  corruptStoredSnapshot(): Promise<number>
  meshLog(): string[]
  store: {
    lead(): void
    cutLink(peer: string): void
    injectFrame(peer: string, frame: string): void
    debugWorkerStatus(): Promise<{ logStart: number; logSize: number; snapshotAt: number; counters: Record<string, number>; adoptions: number; issuedUpTo: number; durableIssuedUpTo: number }>
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
/** Until every command the tab applied is on its disk: issued commands are written up to issuedWriteDelayMs after
 *  they are applied (at once when the page goes, but a reload can win that race), so a test of what a reload
 *  recovers from the tab's own storage waits for them first. */
async function onDisk(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(async () => { const w = await room.store.debugWorkerStatus(); return w.durableIssuedUpTo >= w.issuedUpTo }), { timeout: 5_000 }).toBe(true)
}
/** Runs a test's steps; if they fail, prints every tab's mesh log first. */
async function withMeshLogs(pages: Page[], steps: () => Promise<void>): Promise<void> {
  try {
    await steps()
  } catch (error) {
    for (const page of pages) console.log((await page.evaluate(() => room.meshLog()).catch(() => ['(no log)'])).join('\n'))
    // The worker is asked with a deadline: a hung one must not hang the report.
    for (const page of pages) console.log(JSON.stringify(await page.evaluate(async () => ({ ...room.status(), worker: await Promise.race([room.store.debugWorkerStatus(), new Promise((resolve) => setTimeout(() => resolve('no answer within 5 s'), 5_000))]) })).catch(() => '(no status)')))
    throw error
  }
}
async function waitForLeader(pages: Page[]): Promise<Page> {
  // The leader is taken from the same reading that found exactly one (a re-read could catch an election).
  let leader = -1
  await expect.poll(async () => {
    const roles = (await Promise.all(pages.map(status))).map((s) => s.role)
    leader = roles.indexOf('leader')
    return roles.filter((r) => r === 'leader').length
  }, { timeout: 20_000 }).toBe(1)
  return pages[leader]!
}

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
  // The second tab may still be joining (caught up, then added): 20 s, as every other wait here (5 s failed once in CI).
  await expect.poll(() => pages[1]!.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(20)
  const id = await pages[1]!.evaluate(() => room.replicaId)
  await onDisk(pages[1]!)
  await pages[1]!.reload()
  await pages[1]!.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  expect(await pages[1]!.evaluate(() => room.replicaId)).toBe(id) // the same replica, from sessionStorage
  expect(await pages[1]!.evaluate(() => room.state().n)).toBe(20) // from its own IndexedDB, before any peer
  await pages[0]!.evaluate(async () => { for (let i = 0; i < 5; i++) await room.add(1) })
  await expect.poll(() => pages[1]!.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(25)
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
    // Issued commands reach IndexedDB up to issuedWriteDelayMs after they are applied: the two agree once written.
    let w = await worker(p)
    let stored = await p.evaluate(() => room.storedCounts())
    await expect.poll(async () => {
      w = await worker(p)
      stored = await p.evaluate(() => room.storedCounts())
      return stored.issued - w.logSize
    }, { timeout: 5_000 }).toBe(0)
    expect(w.logSize).toBeLessThanOrEqual(51) // of 600 commands applied
    expect(stored.issued).toBeLessThanOrEqual(51)
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
  await onDisk(late)
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
  await withMeshLogs(pages, async () => {
    await expect.poll(async () => (await status(victim)).lastOutOfSync?.kind, { timeout: 20_000 }).toBe('refreshing')
  })
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
  await onDisk(c)
  await c.reload()
  await c.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  expect(await c.evaluate(() => room.replicaId)).toBe(idC)
  expect(await c.evaluate(() => room.state().n)).toBe(125)
  await c.evaluate(() => room.add(1))
  await expect.poll(() => b.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(126)
})

test('a room grows 1 → 5 → 9 tabs (5 voters, 4 learners) and shrinks to 2 by random closes and renderer crashes while calls run; no acknowledged call is lost or doubled', { tag: '@alone' }, async ({ browser, baseURL }) => {
  test.setTimeout(300_000)
  // Each tab in its own browser context, so that crashing one renderer
  // takes no other tab with it. The order of closes and crashes is random;
  // the seed is printed, and E2E_SEED replays it.
  const seed = Number(process.env.E2E_SEED ?? Date.now() % 1_000_000)
  let x = seed
  const random = () => ((x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32)
  console.log(`grow/shrink seed ${seed}`)
  const name = newRoom()
  const started = Date.now()
  const acked: string[] = []
  const open = async (): Promise<Page> => {
    const context = await browser.newContext({ baseURL: baseURL! })
    const page = await context.newPage()
    // Acknowledgements are reported as they happen: a tab that crashes
    // later cannot report them afterwards.
    page.on('console', (message) => {
      const text = message.text()
      if (text.startsWith('acked ')) acked.push(text.slice('acked '.length))
    })
    await page.goto(`/room.html?room=${name}&membership=dynamic&signaling=${encodeURIComponent(signaling)}`)
    await page.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 30_000 })
    return page
  }
  // Every tab calls until it goes, learners too.
  const stream = (page: Page, tag: string) =>
    void page.evaluate(async (tag) => {
      for (let k = 0; !(window as unknown as { stopCalls?: boolean }).stopCalls; k++) {
        const r = await room.attempt('append', { item: `${tag}-${k}` })
        if (r.ok) console.log(`acked ${tag}-${k}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }, tag).catch(() => {})
  const tabs: Page[] = []
  const grow = async (to: number) => {
    while (tabs.length < to) {
      const page = await open()
      tabs.push(page)
      await expect.poll(async () => (await status(page)).lastIssued, { timeout: 30_000 }).toBeGreaterThan(0)
      stream(page, `t${tabs.length}`)
    }
  }
  const views = () => Promise.all(tabs.map(status))
  await grow(1)
  await expect.poll(async () => (await status(tabs[0]!)).voter, { timeout: 20_000 }).toBe(true)
  await withMeshLogs(tabs, async () => {
    await grow(5)
    await expect.poll(async () => (await views()).filter((s) => s.voter).length, { timeout: 30_000 }).toBe(5)
  })
  await withMeshLogs(tabs, async () => {
    await grow(9)
    await expect.poll(async () => (await views()).filter((s) => s.voter).length, { timeout: 30_000 }).toBe(5)
  })
  expect((await views()).filter((s) => !s.voter)).toHaveLength(4)
  console.log(`9 tabs: 5 voters, 4 learners; ${acked.length} calls acknowledged so far, at ${Math.round((Date.now() - started) / 1000)} s`)

  // Shrink to 2, one tab at a time (a room can lose a minority of its
  // voters at once, not more): after each, wait until the members are
  // exactly the tabs still alive, up to five.
  let closes = 0
  let crashes = 0
  while (tabs.length > 2) {
    const victim = tabs.splice(Math.floor(random() * tabs.length), 1)[0]!
    if (random() < 0.5) {
      await victim.close({ runBeforeUnload: true })
      closes++
    } else {
      const cdp = await victim.context().newCDPSession(victim)
      // The renderer dies: its worker, its links, no goodbye. (Page.crash
      // never answers; the page's crash event says it happened.)
      const crashed = victim.waitForEvent('crash', { timeout: 10_000 })
      void cdp.send('Page.crash').catch(() => {})
      await crashed
      crashes++
    }
    console.log(`${closes + crashes}: ${closes} closes, ${crashes} crashes, ${tabs.length} tabs left, ${acked.length} acknowledged, at ${Math.round((Date.now() - started) / 1000)} s`)
    const alive = (await views()).map((s) => s.replicaId)
    await withMeshLogs(tabs, () => expect
      .poll(async () => {
        const all = await views()
        const members = [...all[0]!.members].sort()
        const converged = members.length === Math.min(5, alive.length) && members.every((m) => alive.includes(m)) && all.every((s) => [...s.members].sort().join() === members.join())
        return converged ? 'converged' : `alive ${alive.join()}; members ${all.map((s) => `${s.replicaId} ${s.role} [${s.members.join()}]`).join('; ')}`
      }, { timeout: 60_000 })
      .toBe('converged'))
  }
  // The two left stop, call once more each; then every acknowledged call is in both, once.
  await Promise.all(tabs.map((p) => p.evaluate(() => Object.assign(window, { stopCalls: true }))))
  await Promise.all(tabs.map((p, i) => p.evaluate((item) => room.append(item), `last-${i}`)))
  const items = async (p: Page) => ((await p.evaluate(() => room.state().items)) as string[] | undefined) ?? []
  await expect.poll(async () => new Set((await Promise.all(tabs.map(items))).map((list) => list.join())).size, { timeout: 20_000 }).toBe(1)
  const final = await items(tabs[0]!)
  expect(new Set(final).size).toBe(final.length) // none twice
  const missing = acked.filter((item) => !final.includes(item))
  expect(missing).toEqual([]) // none acknowledged lost
  expect(final).toEqual(expect.arrayContaining(['last-0', 'last-1']))
  console.log(`grew to 9 and shrank to 2 (${closes} closes, ${crashes} renderer crashes); ${acked.length} calls acknowledged, all in the final state once`)
  await Promise.all(tabs.map((p) => p.context().close()))
})

test('a room of two tabs of one profile goes on when the crown prince crashes: the survivor adopts its replica (its Web Lock is free), which leaves', async ({ context }) => {
  test.setTimeout(90_000)
  const name = newRoom()
  const a = await openTab(context, name)
  await expect.poll(async () => (await status(a)).voter, { timeout: 20_000 }).toBe(true)
  const b = await openTab(context, name)
  await expect.poll(async () => (await Promise.all([a, b].map(status))).map((s) => s.members.length), { timeout: 20_000 }).toEqual([2, 2])
  await a.evaluate(() => room.add(1))
  await b.evaluate(() => room.add(1))
  const prince = await a.evaluate(() => room.crownPrince())
  const [dead, survivor] = (await a.evaluate(() => room.replicaId)) === prince ? [a, b] : [b, a]
  // The crown prince's renderer dies: its worker and links with it, no
  // goodbye. The survivor alone is exactly half of the room, without the
  // crown prince: by the quorum rule alone it could never go on.
  const crashed = dead.waitForEvent('crash', { timeout: 10_000 })
  void (await context.newCDPSession(dead)).send('Page.crash').catch(() => {})
  await crashed
  const survivorId = await survivor.evaluate(() => room.replicaId)
  const started = Date.now()
  expect(await survivor.evaluate(() => room.add(10))).toBe(12) // answered once the dead tab's replica, adopted, has voted
  console.log(`the survivor of a crashed crown prince served a call after ${Date.now() - started} ms`)
  await expect.poll(async () => (await status(survivor)).members, { timeout: 30_000 }).toEqual([survivorId]) // it left
  await expect.poll(async () => (await status(survivor)).adopted, { timeout: 10_000 }).toEqual([]) // and was closed
  expect((await survivor.evaluate(() => room.store.debugWorkerStatus())).adoptions).toBe(1)
  await survivor.evaluate(() => room.add(1))
  expect(await survivor.evaluate(() => room.state().n)).toBe(13)
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
  test.setTimeout(120_000)
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name), await openTab(context, name)]
  await expect.poll(async () => (await Promise.all(pages.map(status))).every((s) => s.connected.length === 2), { timeout: 20_000 }).toBe(true)
  await waitForLeader(pages)
  const [a, b] = await Promise.all(pages.slice(0, 2).map((p) => p.evaluate(() => room.replicaId)))
  await withMeshLogs(pages, async () => {
    await pages[0]!.evaluate((peer) => room.store.cutLink(peer), b!)
    await pages[0]!.evaluate(async () => { for (let i = 0; i < 10; i++) await room.add(1) })
    // A rebuild that does not open is given up after linkOpenTimeoutMs (10 s)
    // and tried again within linkRetryDelayMaxMs (5 s): allow two full tries
    // on a loaded 2-core CI machine (once, 20 s was not enough there).
    await expect.poll(async () => (await status(pages[0]!)).connected, { timeout: 40_000 }).toContain(b)
    await expect.poll(async () => (await status(pages[1]!)).connected, { timeout: 40_000 }).toContain(a)
    await expect.poll(async () => (await Promise.all(pages.map((p) => p.evaluate(() => room.state().n)))), { timeout: 20_000 }).toEqual([10, 10, 10])
  })
})

test('a malformed data-channel message is dropped and counted, and changes nothing', async ({ context }) => {
  const name = newRoom()
  // Fixed slots: no join traffic, so every dropped frame is one of ours.
  const pages = [await openTab(context, name, 3, '&membership=slots'), await openTab(context, name, 3, '&membership=slots')]
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

test('a peer that forges another replica\'s ballots and votes, then floods the channel, is refused and counted; the room keeps serving', async ({ context }) => {
  const name = newRoom()
  const pages = [0, 1, 2].map(() => openTab(context, name, 3, '&membership=slots'))
  const [a, b, c] = await Promise.all(pages)
  await waitForLeader([a!, b!, c!])
  await a!.evaluate(() => room.add(1))
  await expect.poll(() => b!.evaluate(() => room.state().n)).toBe(1)
  const [idB, idC] = await Promise.all([b!, c!].map((p) => p.evaluate(() => room.replicaId)))
  const before = (await status(b!)).framesDropped
  // From a's link, frames that claim to come from c: a huge ballot (taken,
  // it would make b refuse every real leader) and votes for it.
  const forged = 3
  const junk = 5_000
  await a!.evaluate(({ to, as, junk }) => {
    room.store.injectFrame(to, JSON.stringify({ type: 'NextBallot', from: as, to, ballot: { round: 1_000_000, replica: as }, n: 1 }))
    room.store.injectFrame(to, JSON.stringify({ type: 'Voted', from: as, to, ballot: { round: 1_000_000, replica: as }, instances: [2, 3] }))
    room.store.injectFrame(to, JSON.stringify({ type: 'Heartbeat', from: as, to, ballot: { round: 1_000_000, replica: as }, issuedUpTo: 99, clearUpTo: 99 }))
    for (let i = 0; i < junk; i++) room.store.injectFrame(to, `junk ${i}`)
  }, { to: idB!, as: idC!, junk })
  // Calls go on during the flood and after it.
  expect(await c!.evaluate(() => room.add(1))).toBe(2)
  await expect.poll(async () => (await status(b!)).framesDropped, { timeout: 20_000 }).toBe(before + forged + junk)
  // The forged ballot (round 1,000,000) was never taken. (A real election
  // under the flood's load may move the ballot on: seen once in CI.)
  expect((await status(b!)).ballot).not.toMatch(/^1000000\./)
  expect(await b!.evaluate(() => room.add(1))).toBe(3)
  await expect.poll(() => Promise.all([a!, b!, c!].map((p) => p.evaluate(() => room.state().n)))).toEqual([3, 3, 3])
  console.log(`${forged} forged frames and ${junk} junk frames dropped and counted; the room kept serving`)
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
  // A room of three fixed slots ('slots' membership): one tab is not a quorum.
  const alone = await openTab(context, name, 3, '&membership=slots')
  expect(await alone.evaluate(() => room.state())).toEqual({}) // readable at once
  const pending = alone.evaluate(() => room.add(5)) // 1 of 3 slots: no quorum, so it waits
  await new Promise((r) => setTimeout(r, 1500))
  expect((await status(alone)).lastIssued).toBe(0)
  const second = await openTab(context, name, 3, '&membership=slots') // quorum (2 of 3) returns
  expect(await pending).toBe(5)
  await expect.poll(() => second.evaluate(() => room.state().n), { timeout: 20_000 }).toBe(5)
})
