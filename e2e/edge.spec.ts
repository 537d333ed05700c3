import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { roomTest, expect } from '@concord/playwright'
import { spawnEdge, type EdgeProcess } from '@concord/edge'
import type { e2eMachine } from './pages/machines.ts'

/**
 * Issue 8: an edge replica (a real `concord-edge` process, file storage,
 * Node WebRTC) in a room with real tabs keeps the room when every tab is
 * closed, and serves its state to the tabs that open later.
 */
const test = roomTest<typeof e2eMachine>()
test.use({ concord: { page: '/room.html', tabs: 2 } })

const machineModule = resolve(import.meta.dirname, 'pages/edge-machine.ts')

test('a room of two tabs and an edge replica: one tab closes, the other crashes, the room lives on in the edge; two new tabs get its state', async ({ room }) => {
  test.setTimeout(180_000)
  const data = await mkdtemp(join(tmpdir(), 'concord-e2e-edge-'))
  let edge: EdgeProcess | null = null
  try {
    edge = await spawnEdge({ room: room.name, signaling: room.signaling, data, machine: machineModule })
    const edgeId = (await edge.status()).id
    const [a, b] = room.tabs as [typeof room.tabs[0], typeof room.tabs[0]]
    await expect.poll(async () => [...(await a.status()).members].sort(), { timeout: 30_000 }).toEqual([a.id, b.id, edgeId].sort())
    for (let i = 0; i < 5; i++) await a.call('append', { item: `a${i}` })
    for (let i = 0; i < 5; i++) await b.call('append', { item: `b${i}` })
    const before = (await room.converged()).items as string[]
    await expect.poll(async () => (await edge!.state<{ items?: string[] }>()).items, { timeout: 20_000 }).toEqual(before)

    // One tab closes (it leaves the room); the other's renderer crashes (no goodbye). In a room of
    // one tab and the edge, the edge is the crown prince (the longer id): its half goes on alone,
    // removes the silent tab, and still takes calls.
    // A closed tab whose goodbye did not get through is removed after 10 s of silence, counted from the latest
    // election: on a loaded machine (CI runs the paper trace beside this) that took over 30 s.
    await a.close()
    // Failing, the room's report and the edge's status (its leader, and when it heard each member) say why.
    const removed = expect.poll(async () => [...(await edge!.status()).members].sort(), { timeout: 60_000, message: `the closed tab ${a.id} removed` }).toEqual([b.id, edgeId].sort())
    await room.explained(removed.catch(async (error: unknown) => {
      console.log(`[edge] ${JSON.stringify(await edge!.status())}`)
      throw error
    }))
    await b.crash()
    await expect.poll(async () => (await edge!.status()).members, { timeout: 60_000 }).toEqual([edgeId])
    expect(await edge.call('append', { item: 'while-no-tab-was-open' })).toMatchObject({ ok: true })

    // Two new tabs (new replicas, empty storage) join through the edge and get the whole state from it.
    const c = await room.open()
    const d = await room.open()
    await room.formed()
    const want = [...before, 'while-no-tab-was-open']
    await expect.poll(async () => (await c.state()).items, { timeout: 30_000 }).toEqual(want)
    await c.call('append', { item: 'c0' })
    await d.call('append', { item: 'd0' })
    const after = await room.converged()
    expect(after.items).toEqual([...want, 'c0', 'd0'])
    await expect.poll(async () => (await edge!.state<{ items?: string[] }>()).items, { timeout: 20_000 }).toEqual(after.items)
  } finally {
    edge?.child.kill('SIGTERM')
    await edge?.exited
    await rm(data, { recursive: true, force: true })
  }
})
