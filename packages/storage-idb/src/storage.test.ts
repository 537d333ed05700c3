import 'fake-indexeddb/auto'
import { describe, expect, it } from 'vitest'
import { openDB } from 'idb'
import { createRandom, randomInt, StableImage, type PersistRecord } from '@concord/core'
import { StorageCorruptError } from '@concord/host'
import { durabilityOf, IdbStorage, seal, storageVersion } from './storage.ts'

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
    await raw.put('issued', { ...sealed, r: [{ ...sealed.r[0], command: { ...sealed.r[0].command, result: 'forged' } }] }, 1)
    raw.close()
    const reopened = await IdbStorage.open(name)
    const error = await reopened.load().then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(StorageCorruptError)
    expect((error as Error).message).toContain(`${name}: issued/1 (checksum mismatch)`)
    reopened.close()
  })

  it('keeps a large issued batch deflated, reads it back, and finds it damaged', async () => {
    const name = fresh()
    const storage = await IdbStorage.open(name)
    const text = 'the quick brown fox jumps over the lazy dog; '.repeat(40)
    const big: PersistRecord[] = [1, 2, 3].map((instance) => ({ kind: 'issued', entry: { instance, lockBallot: ballot, command: { ...command, id: `b${instance}`, result: text } } }))
    await storage.write(big)
    const raw = await openDB(name, storageVersion)
    const sealed = await raw.get('issued', 1)
    expect(sealed.z).toBeInstanceOf(Uint8Array)
    const json = JSON.stringify(big.map((r) => (r as { entry: unknown }).entry)).length
    expect(sealed.z.length).toBeLessThan(json / 5)
    expect((await storage.load()).issued).toEqual(big.map((r) => (r as { entry: unknown }).entry))
    // One byte of the deflated JSON changes on disk.
    const z = Uint8Array.from(sealed.z)
    z[Math.floor(z.length / 2)]! ^= 0x40
    await raw.put('issued', { ...sealed, z }, 1)
    raw.close()
    storage.close()
    const reopened = await IdbStorage.open(name)
    await expect(reopened.load()).rejects.toThrow(/issued\/1 \((checksum mismatch|does not inflate)\)/)
    reopened.close()
  })

  it('finds a record moved to another key', async () => {
    const name = fresh()
    const storage = await IdbStorage.open(name)
    await storage.write([vote])
    storage.close()
    const raw = await openDB(name, storageVersion)
    await raw.put('votes', await raw.get('votes', 1), 3)
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

describe('IdbStorage: a version 3 database (a record per instance)', () => {
  it('becomes batches when it opens, and loads the same', async () => {
    const name = `app/room/v3-${Date.now()}`
    const old = await openDB(name, 3, {
      upgrade(db) {
        for (const store of ['meta', 'votes', 'issued', 'snapshot']) db.createObjectStore(store)
      },
    })
    const entry = (m: number) => ({ instance: m, lockBallot: ballot, command: { ...command, id: `c${m}` } })
    const vote = (m: number) => ({ instance: m, ballot, command: { ...command, id: `c${m}` } })
    await old.put('meta', seal('meta', 'nextBal', ballot), 'nextBal')
    for (const m of [1, 2, 3]) await old.put('issued', seal('issued', m, entry(m)), m)
    // A vote beside an issued command at its instance was written after it: it stays.
    for (const m of [3, 4, 5]) await old.put('votes', seal('votes', m, vote(m)), m)
    old.close()
    const storage = await IdbStorage.open(name)
    const loaded = await storage.load()
    expect(loaded.nextBal).toEqual(ballot)
    expect(loaded.issued).toEqual([1, 2, 3].map(entry))
    expect(loaded.votes).toEqual([3, 4, 5].map(vote))
    await storage.write([{ kind: 'issued', entry: entry(4) }])
    expect((await storage.load()).votes).toEqual([3, 5].map(vote))
    storage.close()
  })
})

describe('IdbStorage: failures', () => {
  it('a version 3 database with a damaged record is left as it was, and open says which record', async () => {
    const name = `app/room/v3-bad-${Date.now()}`
    const old = await openDB(name, 3, {
      upgrade(db) {
        for (const store of ['meta', 'votes', 'issued', 'snapshot']) db.createObjectStore(store)
      },
    })
    await old.put('issued', seal('issued', 1, { instance: 1, lockBallot: ballot, command }), 1)
    await old.put('votes', { ...seal('votes', 2, { instance: 2, ballot, command }), c: 1 }, 2)
    old.close()
    const error = await IdbStorage.open(name).then(() => null, (e: unknown) => e)
    expect(error).toBeInstanceOf(StorageCorruptError)
    expect((error as Error).message).toContain('votes/2 (checksum mismatch)')
    const after = await openDB(name)
    expect(after.version).toBe(3)
    expect(await after.getAllKeys('issued')).toEqual([1])
    after.close()
  })

  it('a write that throws while it is sealed commits nothing', async () => {
    const name = `app/room/throws-${Date.now()}`
    const storage = await IdbStorage.open(name)
    const v = (round: number): PersistRecord => ({ kind: 'vote', vote: { instance: 1, ballot: { round, replica: 'a' }, command: { ...command, id: `r${round}` } } })
    await storage.write([v(1)])
    // A value JSON cannot hold (a bug elsewhere): the write fails whole, the first vote stays.
    const bad: PersistRecord = { kind: 'vote', vote: { instance: 1, ballot: { round: 2, replica: 'a' }, command: { ...command, result: 1n as never } } }
    await expect(storage.write([bad])).rejects.toThrow()
    await expect(storage.write([v(3)])).rejects.toThrow() // broken until reopened
    storage.close()
    const reopened = await IdbStorage.open(name)
    expect((await reopened.load()).votes).toEqual([(v(1) as { vote: unknown }).vote])
    reopened.close()
  })
})

describe('IdbStorage: votes at issued instances', () => {
  const v = (instance: number, round = 1): PersistRecord => ({ kind: 'vote', vote: { instance, ballot: { round, replica: 'a' }, command: { ...command, id: `v${instance}.${round}` } } })
  const i = (instance: number): PersistRecord => ({ kind: 'issued', entry: { instance, lockBallot: ballot, command: { ...command, id: `v${instance}.1` } } })

  it('are no longer loaded, and a vote written after an issued command at its instance is', async () => {
    const name = `app/room/runs-${Date.now()}`
    const storage = await IdbStorage.open(name)
    await storage.write([v(1), v(2), v(3), v(4), v(5), v(6), v(7)])
    // 4 and 6 are not issued; 7 after a vote at 8 in the same write.
    await storage.write([i(1), i(2), i(3), i(5), v(8), i(7)])
    const loaded = await storage.load()
    expect(loaded.votes.map((x) => x.instance)).toEqual([4, 6, 8])
    expect(loaded.issued.map((x) => x.instance)).toEqual([1, 2, 3, 5, 7])
    await storage.write([i(9), v(9)])
    expect((await storage.load()).votes.map((x) => x.instance)).toEqual([4, 6, 8, 9])
    storage.close()
  })

  it('a write is one record per store, and a batch goes once none of its votes counts', async () => {
    const name = `app/room/batches-${Date.now()}`
    const storage = await IdbStorage.open(name)
    await storage.write([v(1), v(2), v(3)])
    await storage.write([i(1), i(2)])
    const raw = await openDB(name, storageVersion)
    expect(await raw.getAllKeys('votes')).toEqual([1])
    expect(await raw.getAllKeys('issued')).toEqual([2])
    await storage.write([i(3), v(4)])
    expect(await raw.getAllKeys('votes')).toEqual([3]) // batch 1 went with the issued command at 3
    expect(await storage.counts()).toEqual({ issued: 3, votes: 1 })
    raw.close()
    storage.close()
  })

  /**
   * Against the fold every storage must match (StableImage, DESIGN.md §3):
   * random writes, reopened now and then. What the core does with a load is
   * compared: the votes it keeps (not at issued instances nor behind the
   * snapshot), the issued commands past the snapshot, ballots, snapshot.
   */
  it('loads what StableImage folds, over random writes, reopens, clears and discards', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = createRandom(seed)
      const name = `app/room/model-${seed}-${Date.now()}`
      let storage = await IdbStorage.open(name)
      const image = new StableImage()
      let round = 1
      let anchor = 0
      let logStart = 0
      for (let step = 0; step < 60; step++) {
        const records: PersistRecord[] = []
        for (let k = randomInt(random, 1, 8); k > 0; k--) {
          const roll = random.next()
          // As the core: it never votes below the start of its log, which only moves up (until a discard).
          const m = randomInt(random, Math.max(anchor, logStart) + 1, anchor + 25)
          if (roll < 0.45) records.push(v(m, (round += randomInt(random, 0, 2))))
          else if (roll < 0.8) {
            if (!image.issued.has(m) && !records.some((r) => r.kind === 'issued' && r.entry.instance === m)) records.push(i(m))
          } else if (roll < 0.88) {
            anchor += randomInt(random, 1, 6)
            records.push({ kind: 'snapshot', snapshot: { anchor: { instance: anchor }, state: { at: anchor } } as never })
            logStart = randomInt(random, Math.max(logStart, anchor - 4), anchor + 1)
            records.push({ kind: 'clear', before: logStart })
          } else if (roll < 0.92) {
            records.push({ kind: 'discard' })
            anchor = logStart = 0
          } else records.push({ kind: 'nextBal', ballot: { round: round++, replica: 'b' } })
        }
        await storage.write(records)
        image.apply(records)
        if (process.env.DEBUG_STORAGE === String(seed)) console.log(step, JSON.stringify(records.map((r) => r.kind === 'vote' ? `v${r.vote.instance}.${r.vote.ballot.round}` : r.kind === 'issued' ? `i${r.entry.instance}` : r.kind === 'clear' ? `clear<${r.before}` : r.kind === 'snapshot' ? `snap@${(r.snapshot as never as { anchor: { instance: number } }).anchor.instance}` : r.kind)))
        if (random.next() < 0.2) {
          storage.close()
          storage = await IdbStorage.open(name)
        }
        const loaded = await storage.load()
        const expected = image.state()
        const snapshotAt = (s: typeof expected) => (s.snapshot as { anchor: { instance: number } } | undefined)?.anchor.instance ?? 0
        const issuedPast = (s: typeof expected) => s.issued.filter((e) => e.instance > snapshotAt(s)).sort((a, b) => a.instance - b.instance)
        const kept = (s: typeof expected) => {
          const issued = new Set(s.issued.map((e) => e.instance))
          return s.votes.filter((x) => x.instance > snapshotAt(s) && !issued.has(x.instance)).sort((a, b) => a.instance - b.instance)
        }
        const where = `seed ${seed} step ${step}`
        expect(loaded.nextBal, where).toEqual(expected.nextBal)
        expect(loaded.snapshot, where).toEqual(expected.snapshot)
        expect(issuedPast(loaded), where).toEqual(issuedPast(expected))
        expect(kept(loaded), where).toEqual(kept(expected))
        // A vote loaded is never other than the one last cast at its instance.
        for (const vote of loaded.votes) if (image.votes.has(vote.instance)) expect(vote, where).toEqual(image.votes.get(vote.instance))
      }
      storage.close()
    }
  })
})
