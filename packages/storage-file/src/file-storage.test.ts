import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import type { PersistRecord } from '@concord/core'
import { MemoryStorage } from '@concord/host'
import { FileStorage, StorageCorruptError, StorageLockedError, encodeFrame, logFile } from './file-storage.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'concord-file-'))
  dirs.push(dir)
  return dir
}

const ballot = (round: number) => ({ round, replica: `r${round % 3}` })
const command = (n: number) => ({ id: `c${n}`, prec: `c${n - 1}`, payload: [{ op: 'set', key: 'k', value: n }], ticket: { client: 'cl', seq: n, acked: 0 }, result: n })
const recordArbitrary: fc.Arbitrary<PersistRecord> = fc.oneof(
  fc.integer({ min: 1, max: 50 }).map((r): PersistRecord => ({ kind: 'lastTried', ballot: ballot(r) })),
  fc.integer({ min: 1, max: 50 }).map((r): PersistRecord => ({ kind: 'nextBal', ballot: ballot(r) })),
  fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 50 })).map(([m, r]): PersistRecord => ({ kind: 'vote', vote: { instance: m, ballot: ballot(r), command: command(m) } })),
  fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 50 })).map(([m, r]): PersistRecord => ({ kind: 'issued', entry: { instance: m, lockBallot: ballot(r), command: command(m) } })),
  fc.integer({ min: 1, max: 40 }).map((m): PersistRecord => ({
    kind: 'snapshot',
    snapshot: { anchor: { instance: m, lockBallot: ballot(1), command: command(m) }, state: { k: m }, sessions: [['cl', 0, m, []]], members: ['a', 'b'] },
  })),
  fc.integer({ min: 0, max: 40 }).map((before): PersistRecord => ({ kind: 'clear', before })),
  fc.constant<PersistRecord>({ kind: 'discard' }),
)
const batchesArbitrary = fc.array(fc.array(recordArbitrary, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 })

async function expected(batches: PersistRecord[][]) {
  const memory = new MemoryStorage()
  for (const batch of batches) await memory.write(batch)
  return memory.load()
}

describe('FileStorage', () => {
  it('reads back after a reopen exactly what in-memory storage holds for the same writes (300 random histories, with compaction)', async () => {
    await fc.assert(
      fc.asyncProperty(batchesArbitrary, fc.boolean(), async (batches, compactEarly) => {
        const dir = await freshDir()
        const storage = await FileStorage.open(dir, compactEarly ? { compactBytesMin: 600 } : {})
        for (const batch of batches) await storage.write(batch)
        const live = await storage.load()
        await storage.shutdown()
        const reopened = await FileStorage.open(dir)
        expect(reopened.recovery.tornBytes).toBe(0)
        const want = await expected(batches)
        expect(live).toEqual(want)
        expect(await reopened.load()).toEqual(want)
        await reopened.shutdown()
        await rm(dir, { recursive: true, force: true })
      }),
      { numRuns: 300 },
    )
  })

  it('compacts the log into one checkpoint by rename once it outgrows its limit, and loses nothing', async () => {
    const dir = await freshDir()
    const storage = await FileStorage.open(dir, { compactBytesMin: 4096 })
    const batches: PersistRecord[][] = []
    for (let m = 1; m <= 300; m++) {
      const batch: PersistRecord[] = [{ kind: 'issued', entry: { instance: m, lockBallot: ballot(1), command: command(m) } }]
      if (m % 50 === 0) batch.push({ kind: 'snapshot', snapshot: { anchor: { instance: m, lockBallot: ballot(1), command: command(m) }, state: { k: m }, sessions: [], members: ['a'] } }, { kind: 'clear', before: m })
      batches.push(batch)
      await storage.write(batch)
    }
    expect(storage.compactions).toBeGreaterThan(0)
    // Bounded by the live image (about 50 entries and a snapshot), not by 300 writes.
    expect(storage.logBytes).toBeLessThan(storage.bytesWritten / 2)
    expect((await stat(join(dir, logFile))).size).toBe(storage.logBytes)
    await storage.shutdown()
    const reopened = await FileStorage.open(dir)
    expect(await reopened.load()).toEqual(await expected(batches))
    await reopened.shutdown()
  })

  it('keeps each snapshot in a file of its own, written before the frame that names it; one file at a time; orphans removed; a missing or damaged one refused', async () => {
    const dir = await freshDir()
    const snapshotAt = (m: number): PersistRecord => ({ kind: 'snapshot', snapshot: { anchor: { instance: m, lockBallot: ballot(1), command: command(m) }, state: { k: 'x'.repeat(2000) }, sessions: [], members: ['a'] } })
    const storage = await FileStorage.open(dir)
    const batches: PersistRecord[][] = []
    for (let m = 1; m <= 30; m++) {
      const batch: PersistRecord[] = [{ kind: 'issued', entry: { instance: m, lockBallot: ballot(1), command: command(m) } }]
      if (m % 10 === 0) batch.push(snapshotAt(m), { kind: 'clear', before: m })
      batches.push(batch)
      await storage.write(batch)
    }
    const snapshots = async () => (await readdir(dir)).filter((f) => f.startsWith('snapshot-')).sort()
    expect(await snapshots()).toEqual(['snapshot-2']) // the third; the two before it were deleted
    // The log names the file; it does not hold the snapshot's 2,000 characters each time.
    expect(storage.logBytes).toBeLessThan(8000)
    await storage.shutdown()
    await writeFile(join(dir, 'snapshot-7'), 'a crash between the file and its frame') // named by no frame
    await writeFile(join(dir, 'snapshot-8.tmp'), 'half written')
    const reopened = await FileStorage.open(dir)
    expect(await reopened.load()).toEqual(await expected(batches))
    expect(await snapshots()).toEqual(['snapshot-2'])
    // The next snapshot gets a fresh name (after the orphans' numbers too).
    await reopened.write([snapshotAt(31)])
    expect(await snapshots()).toEqual(['snapshot-9'])
    await reopened.shutdown()
    const file = join(dir, 'snapshot-9')
    const good = await readFile(file)
    const damaged = Buffer.from(good)
    damaged[100] = damaged[100]! ^ 1
    await writeFile(file, damaged)
    await expect(FileStorage.open(dir)).rejects.toThrow(/snapshot-9 is corrupt at byte 0 \(snapshot checksum mismatch\)/)
    await rm(file)
    await expect(FileStorage.open(dir)).rejects.toThrow(/names snapshot-9, which is missing/)
  })

  it('cuts a torn last frame at every possible cut point, reports it, and keeps every complete frame', async () => {
    const dir = await freshDir()
    const batches: PersistRecord[][] = [
      [{ kind: 'nextBal', ballot: ballot(2) }],
      [{ kind: 'vote', vote: { instance: 1, ballot: ballot(2), command: command(1) } }],
    ]
    const torn = encodeFrame([{ kind: 'issued', entry: { instance: 1, lockBallot: ballot(2), command: command(1) } }])
    const storage = await FileStorage.open(dir)
    for (const batch of batches) await storage.write(batch)
    await storage.shutdown()
    const clean = await readFile(join(dir, logFile))
    const want = await expected(batches)
    for (let cut = 1; cut < torn.length; cut++) {
      await writeFile(join(dir, logFile), Buffer.concat([clean, torn.subarray(0, cut)]))
      const reopened = await FileStorage.open(dir)
      expect(reopened.recovery).toMatchObject({ frames: 2, tornBytes: cut })
      expect(reopened.recovery.torn).toMatch(/cut short/)
      expect(await reopened.load()).toEqual(want)
      await reopened.shutdown()
      expect((await readFile(join(dir, logFile))).equals(clean)).toBe(true) // truncated on disk
    }
    // An append whose blocks never reached the disk: zeros (a length-0 frame with crc 0 looks valid but is not).
    await writeFile(join(dir, logFile), Buffer.concat([clean, Buffer.alloc(300)]))
    const zeros = await FileStorage.open(dir)
    expect(zeros.recovery).toMatchObject({ frames: 2, tornBytes: 300 })
    await zeros.shutdown()
    expect((await readFile(join(dir, `${logFile}.torn-${clean.length}`))).length).toBe(300) // kept aside, not destroyed
    // A complete last frame whose bytes were not all written (zeros where the payload should be): a checksum mismatch, cut too.
    const zeroed = Buffer.from(torn)
    zeroed.fill(0, 20)
    await writeFile(join(dir, logFile), Buffer.concat([clean, zeroed]))
    const reopened = await FileStorage.open(dir)
    expect(reopened.recovery).toMatchObject({ frames: 2, tornBytes: torn.length, torn: 'checksum mismatch' })
    await reopened.shutdown()
  })

  it('refuses a log corrupted before its last frame (a flipped byte in any earlier frame), saying where', async () => {
    const dir = await freshDir()
    const storage = await FileStorage.open(dir)
    for (let m = 1; m <= 3; m++) await storage.write([{ kind: 'vote', vote: { instance: m, ballot: ballot(1), command: command(m) } }])
    await storage.shutdown()
    const clean = await readFile(join(dir, logFile))
    const firstFrameBytes = encodeFrame([{ kind: 'vote', vote: { instance: 1, ballot: ballot(1), command: command(1) } }]).length
    for (const at of [9, 30, firstFrameBytes - 1, firstFrameBytes + 12]) {
      const bad = Buffer.from(clean)
      bad[at] = bad[at]! ^ 0x20
      await writeFile(join(dir, logFile), bad)
      const error = await FileStorage.open(dir).then(() => null, (e: unknown) => e)
      expect(error).toBeInstanceOf(StorageCorruptError)
      expect((error as StorageCorruptError).message).toMatch(/corrupt at byte \d+ \(checksum mismatch\)/)
    }
    // A flipped length field in a middle frame that makes it seem to reach the end of the file: still corruption, not a torn tail.
    const lying = Buffer.from(clean)
    lying.writeUInt32LE(clean.length - 8, 0)
    await writeFile(join(dir, logFile), lying)
    await expect(FileStorage.open(dir)).rejects.toBeInstanceOf(StorageCorruptError)
    // Left as it was found: nothing truncated, the lock released.
    await writeFile(join(dir, logFile), clean)
    const reopened = await FileStorage.open(dir)
    expect((await reopened.load()).votes).toHaveLength(3)
    await reopened.shutdown()
  })

  it('a frame whose checksum matches but whose records are not records is refused, not applied', async () => {
    const dir = await freshDir()
    const storage = await FileStorage.open(dir)
    await storage.write([{ kind: 'nextBal', ballot: ballot(1) }])
    await storage.shutdown()
    const payload = Buffer.from(JSON.stringify([{ kind: 'nextBal', ballot: { round: -1, replica: 'x' } }]))
    const header = Buffer.alloc(8)
    header.writeUInt32LE(payload.length, 0)
    header.writeUInt32LE((await import('node:zlib')).crc32(payload), 4)
    await appendFile(join(dir, logFile), Buffer.concat([header, payload]))
    await appendFile(join(dir, logFile), encodeFrame([{ kind: 'nextBal', ballot: ballot(3) }]))
    await expect(FileStorage.open(dir)).rejects.toThrow(/not a batch of records/)
  })

  it('one process per directory: a second open is refused while the first holds it; a dead holder\'s lock is taken over', async () => {
    const dir = await freshDir()
    const first = await FileStorage.open(dir)
    await expect(FileStorage.open(dir)).rejects.toBeInstanceOf(StorageLockedError)
    await first.shutdown()
    await writeFile(join(dir, 'lock'), '999999999') // a pid that is not running
    const second = await FileStorage.open(dir)
    await second.shutdown()
    // This process's own pid in a lock it does not hold: left by an earlier run with the same pid (a container's PID 1).
    await writeFile(join(dir, 'lock'), String(process.pid))
    const third = await FileStorage.open(dir)
    await expect(FileStorage.open(dir)).rejects.toBeInstanceOf(StorageLockedError) // but while it holds it, a second open is refused
    await third.shutdown()
  })
})
