import { afterEach, describe, expect, it } from 'vitest'
import type { CallReply } from '@concord/core'
import { counter } from '../../sim/src/models.ts'
import { defineMachine } from '@concord/machine'
import { MachineVersionError, StorageCorruptError } from './errors.ts'
import { ReplicaHost } from './host.ts'
import { MemoryNetwork } from './memory-transport.ts'
import { MemoryStorage, type StableStorage } from './ports.ts'

const ids = ['a', 'b', 'c']
const hosts: ReplicaHost[] = []
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close()
})

async function start(network: MemoryNetwork, id: string, storage: StableStorage = new MemoryStorage()): Promise<ReplicaHost> {
  const host = await ReplicaHost.start({ id, members: ids, machine: counter, storage, transport: network.transport(id), tickMs: 2, seed: ids.indexOf(id) + 1 })
  hosts.push(host)
  return host
}

async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

const leaderOf = (hs: ReplicaHost[]) => hs.find((h) => h.status().role === 'leader')

describe('ReplicaHost (real timers, in-memory network and storage)', () => {
  it('three hosts elect a leader, take calls from every replica, and converge', async () => {
    const network = new MemoryNetwork()
    const [a, b, c] = await Promise.all(ids.map((id) => start(network, id)))
    await until(() => leaderOf([a!, b!, c!]) !== undefined)
    const replies = await Promise.all([a!, b!, c!].flatMap((h) => Array.from({ length: 20 }, () => h.call('add', { by: 1 }))))
    expect(replies.every((r) => r.ok)).toBe(true)
    expect(new Set(replies.map((r) => (r as Extract<CallReply, { ok: true }>).result)).size).toBe(60) // each saw its own n
    await until(() => [a!, b!, c!].every((h) => h.status().issuedUpTo === 60))
    for (const h of [a!, b!, c!]) expect(h.state()).toEqual({ n: 60 })
  })

  it('takes more concurrent calls than the ticket window holds, by queueing the excess', async () => {
    const network = new MemoryNetwork()
    const all = await Promise.all(ids.map((id) => start(network, id)))
    await until(() => leaderOf(all) !== undefined)
    const replies = await Promise.all(Array.from({ length: 600 }, () => all[1]!.call('add', { by: 1 })))
    expect(replies.filter((r) => !r.ok)).toEqual([])
    await until(() => all.every((h) => h.state().n === 600))
  })

  it('a new leader takes over when the leader goes away; a restarted host recovers from its storage', async () => {
    const network = new MemoryNetwork()
    const storages = new Map(ids.map((id) => [id, new MemoryStorage()]))
    const all = await Promise.all(ids.map((id) => start(network, id, storages.get(id))))
    await until(() => leaderOf(all) !== undefined)
    for (let i = 0; i < 10; i++) await all[0]!.call('add', { by: 1 })
    const old = leaderOf(all)!
    await old.close()
    const rest = all.filter((h) => h !== old)
    await until(() => leaderOf(rest) !== undefined, 10_000)
    const after = await rest[0]!.call('add', { by: 5 })
    expect(after).toMatchObject({ ok: true, result: 15 })
    // The old leader comes back from its storage and catches up.
    const back = await start(network, old.id, storages.get(old.id))
    expect(back.state().n).toBeGreaterThanOrEqual(10)
    expect(back.status().durableIssuedUpTo).toBeGreaterThanOrEqual(10) // what its disk held
    await until(() => back.state().n === 15)
    await until(() => back.status().durableIssuedUpTo === back.status().issuedUpTo)
    expect(back.status().role).not.toBe('leader')
  })

  it('a host whose storage fails stops and says why; its callers get an answer', async () => {
    const network = new MemoryNetwork()
    const broken: StableStorage = { load: () => new MemoryStorage().load(), write: () => Promise.reject(new Error('QuotaExceededError')), close: () => {} }
    const host = await start(network, 'a', broken)
    host.campaign()
    const reply = await host.call('add', { by: 1 })
    expect(reply).toMatchObject({ ok: false, reason: expect.stringContaining('QuotaExceededError') })
    expect(host.status().failed).toMatch(/stable storage failed/)
  })

  it('an app upgrade: hosts restarted from their storage with version 2 of the machine upgrade the room\'s state once, through the log; version 1 will not start from it', async () => {
    const network = new MemoryNetwork()
    const storages = new Map(ids.map((id) => [id, new MemoryStorage()]))
    const v1 = await Promise.all(ids.map((id) => start(network, id, storages.get(id))))
    await until(() => leaderOf(v1) !== undefined)
    for (let i = 0; i < 5; i++) await v1[i % 3]!.call('add', { by: 2 })
    await until(() => v1.every((h) => h.state().n === 10))
    for (const h of hosts.splice(0)) await h.close()
    // Version 2 keeps the count under 'total', in tens and ones.
    const counterV2 = defineMachine({
      name: 'counter',
      version: 2,
      upgrades: {
        2: (tx) => {
          const n = tx.get<number>('n') ?? 0
          tx.set('total', { tens: Math.floor(n / 10), ones: n % 10 })
          tx.delete('n')
        },
      },
      functions: counter.functions,
    })
    const network2 = new MemoryNetwork()
    const v2 = await Promise.all(ids.map(async (id, i) => {
      const host = await ReplicaHost.start({ id, members: ids, machine: counterV2, storage: storages.get(id)!, transport: network2.transport(id), tickMs: 2, seed: i + 11 })
      hosts.push(host)
      return host
    }))
    // Nobody calls: the leader upgrades on its own, and every replica applies it.
    await until(() => v2.every((h) => h.state().total !== undefined), 10_000)
    for (const h of v2) expect(h.state()).toEqual({ total: { tens: 1, ones: 0 }, '@concord/version': 2 })
    const upgrades = v2[0]!.status().issuedUpTo
    await new Promise((r) => setTimeout(r, 300))
    expect(v2[0]!.status().issuedUpTo).toBe(upgrades) // once
    for (const h of hosts.splice(0)) await h.close()
    const error = await ReplicaHost.start({ id: 'a', members: ids, machine: counter, storage: storages.get('a')!, transport: new MemoryNetwork().transport('a') }).then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(MachineVersionError)
    expect((error as Error).message).toMatch(/stored state is of counter version 2, newer than the version 1 this replica runs/)
  })

  it('refuses to start from stored state of the wrong shape, naming what is wrong', async () => {
    const network = new MemoryNetwork()
    const stored = await new MemoryStorage().load()
    const damaged: StableStorage = { load: async () => ({ ...stored, nextBal: { round: -1, replica: 'b' } }), write: async () => {}, close: () => {} }
    const error = await start(network, 'a', damaged).then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(StorageCorruptError)
    expect((error as Error).message).toMatch(/corrupt at nextBal\.round/)
  })

  it('a drain tells its drained listeners before its frames leave: the reply to a call goes out before the leader\'s sends of the same drain', async () => {
    const network = new MemoryNetwork()
    const seen: string[] = []
    const inner = network.transport('a')
    const watched = { send: (to: string, frame: string) => { seen.push(`send ${(JSON.parse(frame) as { type: string }).type}`); inner.send(to, frame) }, onFrame: inner.onFrame }
    const a = await ReplicaHost.start({ id: 'a', members: ids, machine: counter, storage: new MemoryStorage(), transport: watched, tickMs: 2, seed: 1 })
    hosts.push(a)
    await Promise.all(['b', 'c'].map((id) => start(network, id)))
    a.onDrained(() => seen.push('drained'))
    a.campaign()
    await until(() => a.status().role === 'leader')
    const replies: CallReply[] = []
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => a.callWith('add', { by: 1 }, (reply) => {
        seen.push('reply')
        replies.push(reply)
        resolve()
      }))
    }
    expect(replies.every((r) => r.ok)).toBe(true)
    // Every reply is followed by its drain's end, with no frame sent in between; the drain's frames (the Success to the others) follow.
    const at = seen.flatMap((e, i) => (e === 'reply' ? [i] : []))
    expect(at).toHaveLength(5)
    for (const i of at) expect(seen[i + 1]).toBe('drained')
    expect(at.some((i) => seen[i + 2]?.startsWith('send '))).toBe(true)
  })

  it('writes a vote without the issued records queued before it; they follow within the issued write delay', async () => {
    const network = new MemoryNetwork()
    const batches: string[][] = []
    const inner = new MemoryStorage()
    const watched: StableStorage = { load: () => inner.load(), write: (records) => { batches.push(records.map((r) => r.kind)); return inner.write(records) }, close: () => inner.close() }
    // Issued records wait up to 500 ms here, not 20: on a loaded machine a call can take longer than 20 ms, and the record is then due with the next vote.
    const a = await ReplicaHost.start({ id: 'a', members: ids, machine: counter, storage: watched, transport: network.transport('a'), tickMs: 2, seed: 1, issuedWriteDelayMs: 500 })
    hosts.push(a)
    await Promise.all(['b', 'c'].map((id) => start(network, id)))
    a.campaign()
    await until(() => a.status().role === 'leader')
    for (let i = 0; i < 10; i++) expect(await a.call('add', { by: 1 })).toMatchObject({ ok: true })
    // The votes of calls 2-10 are written alone, though the issued record of the call before was queued first.
    const votes = batches.filter((b) => b.includes('vote'))
    expect(votes.length).toBeGreaterThanOrEqual(10)
    expect(votes.slice(1).every((b) => !b.includes('issued'))).toBe(true)
    // The issued records follow, in batches of their own.
    await until(() => a.status().durableIssuedUpTo === a.status().issuedUpTo)
    expect(batches.some((b) => b.length > 0 && b.every((k) => k === 'issued'))).toBe(true)
  })

  it('writes the issued records it holds back at once when the page goes away (flushIssued)', async () => {
    const network = new MemoryNetwork()
    // A delay no test waits out: only the flush can write them.
    const a = await ReplicaHost.start({ id: 'a', members: ids, machine: counter, storage: new MemoryStorage(), transport: network.transport('a'), tickMs: 2, seed: 1, issuedWriteDelayMs: 60_000 })
    hosts.push(a)
    await Promise.all(['b', 'c'].map((id) => start(network, id)))
    a.campaign()
    await until(() => a.status().role === 'leader')
    for (let i = 0; i < 3; i++) expect(await a.call('add', { by: 1 })).toMatchObject({ ok: true })
    await new Promise((r) => setTimeout(r, 50))
    expect(a.status().durableIssuedUpTo).toBeLessThan(a.status().issuedUpTo)
    a.flushIssued()
    await until(() => a.status().durableIssuedUpTo === a.status().issuedUpTo)
  })

  it('drops frames that are not JSON or that name another sender, and counts them', async () => {
    const network = new MemoryNetwork()
    const a = await start(network, 'a')
    const fake = network.transport('b')
    fake.send('a', '{not json')
    fake.send('a', JSON.stringify({ type: 'Heartbeat', from: 'c', to: 'a', ballot: { round: 9, replica: 'c' }, issuedUpTo: 0, round: 1 }))
    fake.send('a', JSON.stringify({ type: 'Nonsense', from: 'b', to: 'a' }))
    await until(() => a.status().framesDropped === 3)
    expect(a.status().nextBal.round).toBe(0)
  })
})
