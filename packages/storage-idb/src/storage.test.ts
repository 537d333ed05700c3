import 'fake-indexeddb/auto'
import { describe, expect, it } from 'vitest'
import { openDB } from 'idb'
import type { PersistRecord } from '@concord/core'
import { StorageCorruptError } from '@concord/host'
import { durabilityOf, IdbStorage, storageVersion } from './storage.ts'

const ballot = { round: 1, replica: 'a' }
const command = { id: 'x', prec: '0', payload: [], ticket: { client: 'c', seq: 1, acked: 0 }, result: null }
const issued: PersistRecord = { kind: 'issued', entry: { instance: 1, lockBallot: ballot, command } }

describe('durabilityOf', () => {
  it('is strict whenever a promise or a vote is in the batch, relaxed for issued commands only', () => {
    expect(durabilityOf([issued, issued])).toBe('relaxed')
    expect(durabilityOf([issued, { kind: 'vote', vote: { instance: 2, ballot, command } }])).toBe('strict')
    expect(durabilityOf([{ kind: 'nextBal', ballot }])).toBe('strict')
    expect(durabilityOf([{ kind: 'lastTried', ballot }, issued])).toBe('strict')
  })
})

describe('IdbStorage (fake-indexeddb: the real one is in the e2e tests)', () => {
  const vote: PersistRecord = { kind: 'vote', vote: { instance: 2, ballot, command: { ...command, id: 'y', prec: 'x' } } }
  let n = 0
  const fresh = () => `app/room/r${++n}-${Date.now()}`

  it('reads back what it wrote, and says whether the database was created by this open', async () => {
    const name = fresh()
    const first = await IdbStorage.open(name)
    expect(first.created).toBe(true)
    await first.write([{ kind: 'nextBal', ballot }, issued, vote])
    first.close()
    const second = await IdbStorage.open(name)
    expect(second.created).toBe(false)
    const loaded = await second.load()
    expect(loaded.nextBal).toEqual(ballot)
    expect(loaded.issued).toEqual([(issued as { entry: unknown }).entry])
    expect(loaded.votes).toEqual([(vote as { vote: unknown }).vote])
    second.close()
  })

  it('finds a record damaged on disk, and names it', async () => {
    const name = fresh()
    const storage = await IdbStorage.open(name)
    await storage.write([issued, vote])
    storage.close()
    // Another hand changes the result of the issued command, keeping the old checksum.
    const raw = await openDB(name, storageVersion)
    const sealed = await raw.get('issued', 1)
    await raw.put('issued', { ...sealed, r: { ...sealed.r, command: { ...sealed.r.command, result: 'forged' } } }, 1)
    raw.close()
    const reopened = await IdbStorage.open(name)
    const error = await reopened.load().then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(StorageCorruptError)
    expect((error as Error).message).toContain(`${name}: issued/1 (checksum mismatch)`)
    reopened.close()
  })

  it('finds a record moved to another key', async () => {
    const name = fresh()
    const storage = await IdbStorage.open(name)
    await storage.write([vote])
    storage.close()
    const raw = await openDB(name, storageVersion)
    await raw.put('votes', await raw.get('votes', 2), 3)
    raw.close()
    const reopened = await IdbStorage.open(name)
    await expect(reopened.load()).rejects.toThrow(/votes\/3 \(checksum mismatch\)/)
    reopened.close()
  })

  it('seals the bare records of a version 2 database when it opens it', async () => {
    const name = fresh()
    const old = await openDB(name, 2, {
      upgrade(db) {
        for (const store of ['meta', 'votes', 'issued', 'snapshot']) db.createObjectStore(store)
      },
    })
    await old.put('meta', ballot, 'nextBal')
    await old.put('issued', (issued as { entry: unknown }).entry, 1)
    old.close()
    const storage = await IdbStorage.open(name)
    expect(storage.created).toBe(false)
    const loaded = await storage.load()
    expect(loaded.nextBal).toEqual(ballot)
    expect(loaded.issued).toEqual([(issued as { entry: unknown }).entry])
    storage.close()
  })
})

describe('IdbStorage: votes at issued instances', () => {
  it('are deleted in runs, and a vote between two issued instances stays', async () => {
    const name = `app/room/runs-${Date.now()}`
    const storage = await IdbStorage.open(name)
    const v = (instance: number): PersistRecord => ({ kind: 'vote', vote: { instance, ballot, command: { ...command, id: `v${instance}` } } })
    const i = (instance: number): PersistRecord => ({ kind: 'issued', entry: { instance, lockBallot: ballot, command: { ...command, id: `v${instance}` } } })
    await storage.write([v(1), v(2), v(3), v(4), v(5), v(6), v(7)])
    // 1–3 a run, 5 alone, 7 after a vote at 8 in the same batch; 4 and 6 not issued.
    await storage.write([i(1), i(2), i(3), i(5), v(8), i(7)])
    const loaded = await storage.load()
    expect(loaded.votes.map((x) => x.instance)).toEqual([4, 6, 8])
    expect(loaded.issued.map((x) => x.instance)).toEqual([1, 2, 3, 5, 7])
    // A vote written after an issued record at the same instance in one batch is not deleted by it.
    await storage.write([i(9), v(9)])
    expect((await storage.load()).votes.map((x) => x.instance)).toEqual([4, 6, 8, 9])
    storage.close()
  })
})
