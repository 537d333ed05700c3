import { roomTest, expect } from '@concord/playwright'
import type { e2eMachine } from './pages/machines.ts'

/**
 * The Playwright fixtures of @concord/playwright (issue 10 §2), proven by
 * use: each test gets a real signaling server, a fresh room in real tabs
 * (each in its own browser context) and injects one kind of fault.
 */
const test = roomTest<typeof e2eMachine>()
test.use({ concord: { page: '/room.html', tabs: 3 } })

test('three tabs: calls made from every tab converge; a rejection reaches its caller', async ({ room }) => {
  await room.leader()
  await Promise.all(room.tabs.map((tab) => tab.call('add', { by: 1 })))
  expect(await room.converged()).toEqual({ n: 3 })
  await expect(room.tabs[0]!.call('take', { by: 10 })).rejects.toThrow(/only 3 left/)
})

test('three tabs take 1,002 calls from all of them, pipelined, and converge', async ({ room }) => {
  expect(new Set(room.tabs.map((t) => t.id)).size).toBe(3)
  await expect.poll(async () => (await Promise.all(room.tabs.map((t) => t.status()))).every((s) => s.connected.length === 2), { timeout: 20_000 }).toBe(true)
  await room.leader()
  // 334 calls in flight at once from each tab, through the page (one evaluate per tab).
  await Promise.all(room.tabs.map((t) => t.page.evaluate(async (n) => {
    const store = globalThis.__concordStore!()
    await Promise.all(Array.from({ length: n }, () => store.call('add', { by: 1 })))
  }, 334)))
  expect(await room.converged()).toEqual({ n: 1002 })
})

// Verbatim from the README.
test('the leader crashes mid-stream; nothing acknowledged is lost', async ({ room }) => {
  const leader = await room.leader()
  const other = room.tabs.find((tab) => tab !== leader)!
  await other.call('add', { by: 1 })
  await leader.crash()
  await room.leader() // a new one, among the live tabs
  await other.call('add', { by: 2 })
  expect(await room.converged()).toEqual({ n: 3 })
})

test('crash the leader tab: a new leader takes over and nothing acknowledged is lost', async ({ room }) => {
  const leader = await room.leader()
  const follower = room.tabs.find((t) => t !== leader)!
  for (let i = 0; i < 10; i++) await follower.call('append', { item: `before-${i}` })
  await leader.crash()
  const next = await room.leader()
  expect(next).not.toBe(leader)
  for (let i = 0; i < 10; i++) await follower.call('append', { item: `after-${i}` })
  const state = await room.converged()
  expect(state.items).toEqual([...Array.from({ length: 10 }, (_, i) => `before-${i}`), ...Array.from({ length: 10 }, (_, i) => `after-${i}`)])
})

test('freeze the leader tab: the others elect a leader and go on; unfrozen, it rejoins and catches up', async ({ room }) => {
  const leader = await room.leader()
  await leader.call('add', { by: 1 })
  await leader.freeze()
  const next = await room.leader()
  expect(next).not.toBe(leader)
  await next.call('add', { by: 10 })
  await leader.unfreeze()
  expect(await room.converged()).toEqual({ n: 11 })
  expect((await leader.status()).role).not.toBe('leader')
})

test('make a chosen tab the leader, cut one of its links: calls from every tab still go through', async ({ room }) => {
  await room.leader()
  const [a, b, c] = room.tabs as [typeof room.tabs[0], typeof room.tabs[0], typeof room.tabs[0]]
  await c.lead()
  // One link: cutting both isolates the leader until a rebuild, which can
  // take a second attempt (see room.spec's cut-link test); a call from a
  // then outlived its 30 s timeout once in CI.
  await c.cutLink(a)
  await Promise.all([a.call('add', { by: 1 }), b.call('add', { by: 2 }), c.call('add', { by: 3 })])
  expect(await room.converged()).toEqual({ n: 6 })
})

test('clear a follower\'s storage under it: it stops and says why, the room goes on', async ({ room }) => {
  const leader = await room.leader()
  const victim = room.tabs.find((t) => t !== leader)!
  await leader.call('add', { by: 1 })
  await victim.clearStorage()
  await leader.call('add', { by: 1 })
  await expect.poll(async () => (await victim.status()).failed, { timeout: 20_000 }).toMatch(/storage/)
  // Two of three still make a majority.
  for (let i = 0; i < 5; i++) await leader.call('add', { by: 1 })
  expect((await leader.state()).n).toBe(7)
  // Reported once, through the status: no uncaught errors in the page.
  expect(victim.errors).toEqual([])
})

test('a tab opened late catches up: the same log (calls and the reconfigurations that added each tab)', async ({ room }) => {
  await room.leader()
  await Promise.all(room.tabs.slice(0, 2).map(async (tab) => {
    for (let i = 0; i < 40; i++) await tab.call('add', { by: 1 })
  }))
  const late = await room.open()
  expect(room.tabs).toHaveLength(4)
  await expect.poll(async () => (await late.state()).n, { timeout: 20_000 }).toBe(80)
  // The same log: polled, since a reconfiguration can land between two reads.
  await expect.poll(async () => (await late.status()).lastIssued === (await room.tabs[0]!.status()).lastIssued, { timeout: 20_000 }).toBe(true)
  await room.converged()
})

test('a tab whose token passed signaling but who lacks the room key is refused by every peer; the room goes on without it', async ({ room }) => {
  await room.leader()
  // What a compromised signaling server could do: admit a peer with a valid token. The peers ask for the room key too.
  const outsider = await room.open({ roomKey: 'not-the-room-key' })
  const insiders = room.tabs.filter((t) => t !== outsider)
  await expect.poll(async () => (await Promise.all(insiders.map((t) => t.status()))).every((s) => s.peersRefused >= 1), { timeout: 30_000 }).toBe(true)
  for (const tab of insiders) {
    const s = await tab.status()
    expect(s.connected).not.toContain(outsider.id)
    expect(s.members).not.toContain(outsider.id)
  }
  expect((await outsider.status()).connected).toEqual([])
  await Promise.all(insiders.map((t) => t.call('add', { by: 1 })))
  await expect.poll(async () => (await Promise.all(insiders.map((t) => t.state()))).map((s) => s.n), { timeout: 20_000 }).toEqual([3, 3, 3])
  expect((await outsider.state()).n).toBeUndefined() // it never got a command
})
