import { link, mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { z } from 'zod'
import { StableImage, ballotSchema, issuedEntrySchema, snapshotBodySchema, voteSchema, type PersistRecord, type Snapshot, type StableState } from '@concord/core'
import { StorageCorruptError as HostStorageCorruptError, type StableStorage } from '@concord/host'

/**
 * Durable storage of one edge replica in a directory (issue 8 §1): an
 * append-only log of checksummed frames, one frame per `write` (the group
 * commit: all records of a Ready or none), each followed by fdatasync before
 * `write` resolves — the host steps `persisted` only then, so no message that
 * depends on a record leaves before it is on disk.
 *
 *   frame = u32 LE payload length | u32 LE crc32(payload) | payload (JSON: PersistRecord[])
 *
 * A crash can leave the last frame torn (its write never completed, so
 * `write` never resolved and nothing depends on it): on load it is detected
 * by its length or checksum, cut off and reported in `recovery`. A bad frame
 * with good frames after it is not a torn write but corruption — records
 * that were acknowledged may be gone — and `open` refuses with
 * StorageCorruptError rather than serve a replica that forgot a promise.
 *
 * Snapshots (seed 001) go to files of their own, `snapshot-<n>`: written
 * whole, fsynced and renamed into place (then the directory fsynced) before
 * the log frame that names them is appended, so a frame never names a file
 * that is not on disk; a file no durable frame names (a crash in between, or
 * a snapshot superseded) is deleted. The log is compacted into a checkpoint
 * (the records that rebuild the current image, naming the current snapshot
 * file, not copying it) written to `log.next`, fsynced and renamed over
 * `log`: a crash leaves either the old log or the new one, never a mix.
 */

export const logFile = 'log'
export const nextLogFile = 'log.next'
export const lockFile = 'lock'
export const frameHeaderBytes = 8
/** A frame above this is not one we wrote (a corrupt length): the log is damaged. */
export const frameBytesMax = 256 * 1024 * 1024
/** The log is compacted when it exceeds this and `compactRatio` × its last checkpoint. */
export const compactBytesMin = 4 * 1024 * 1024
export const compactRatio = 4

export const snapshotFilePrefix = 'snapshot-'
const snapshotFileSchema = z.string().regex(/^snapshot-\d{1,15}$/)
const snapshotSchema = snapshotBodySchema.extend({ anchor: issuedEntrySchema })

/** A record as the log holds it: a snapshot is named by its file. */
type DiskRecord = Exclude<PersistRecord, { kind: 'snapshot' }> | { kind: 'snapshot-file'; file: string }

const recordSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('lastTried'), ballot: ballotSchema }),
  z.strictObject({ kind: z.literal('nextBal'), ballot: ballotSchema }),
  z.strictObject({ kind: z.literal('vote'), vote: voteSchema }),
  z.strictObject({ kind: z.literal('issued'), entry: issuedEntrySchema }),
  z.strictObject({ kind: z.literal('snapshot-file'), file: snapshotFileSchema }),
  z.strictObject({ kind: z.literal('clear'), before: z.number().int().min(0) }),
  z.strictObject({ kind: z.literal('discard') }),
])
const frameSchema = z.array(recordSchema)

/** The log holds a frame that is damaged and is not the last one. */
export class StorageCorruptError extends HostStorageCorruptError {
  constructor(readonly path: string, readonly offset: number, why: string) {
    super(`${path} at byte ${offset}`, why, `${path} is corrupt at byte ${offset} (${why}) with frames after it: acknowledged records may be lost, so this replica will not start from it. Move the directory away and let the replica rejoin its room as a new member.`)
  }
}

/** Another process holds the directory. */
export class StorageLockedError extends Error {
  override readonly name = 'StorageLockedError'
  constructor(readonly path: string, readonly pid: number) {
    super(`${path} is in use by process ${pid}: one replica per data directory`)
  }
}

export interface FileStorageOptions {
  /** Log bytes below which it is never compacted (default compactBytesMin). */
  compactBytesMin?: number
}

export interface Recovery {
  /** Frames read back on open. */
  frames: number
  /** Bytes of a torn last frame cut off on open (0: the log was clean). */
  tornBytes: number
  /** Why the torn frame was rejected, if there was one. */
  torn: string | null
}

export function encodeFrame(records: readonly DiskRecord[] | Snapshot): Buffer {
  const payload = Buffer.from(JSON.stringify(records), 'utf8')
  if (payload.length > frameBytesMax) throw new RangeError(`a write of ${payload.length} bytes exceeds frameBytesMax (${frameBytesMax})`)
  const header = Buffer.alloc(frameHeaderBytes)
  header.writeUInt32LE(payload.length, 0)
  header.writeUInt32LE(crc32(payload), 4)
  return Buffer.concat([header, payload])
}

/** Reads frames until the end or the first bad one: the good records, and where and why it stopped. */
export function decodeFrames(bytes: Buffer): { frames: DiskRecord[][]; end: number; bad: string | null } {
  const frames: DiskRecord[][] = []
  let offset = 0
  while (offset < bytes.length) {
    if (bytes.length - offset < frameHeaderBytes) return { frames, end: offset, bad: 'header cut short' }
    const length = bytes.readUInt32LE(offset)
    if (length > frameBytesMax) return { frames, end: offset, bad: `length ${length} above frameBytesMax` }
    const start = offset + frameHeaderBytes
    if (start + length > bytes.length) return { frames, end: offset, bad: 'payload cut short' }
    const payload = bytes.subarray(start, start + length)
    if (crc32(payload) !== bytes.readUInt32LE(offset + 4)) return { frames, end: offset, bad: 'checksum mismatch' }
    let records: unknown
    try {
      records = JSON.parse(payload.toString('utf8'))
    } catch {
      return { frames, end: offset, bad: 'checksum matches but the payload is not JSON' }
    }
    const parsed = frameSchema.safeParse(records)
    if (!parsed.success) return { frames, end: offset, bad: `not a batch of records: ${parsed.error.issues[0]?.message ?? 'invalid'}` }
    frames.push(parsed.data as DiskRecord[])
    offset = start + length
  }
  return { frames, end: offset, bad: null }
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Whether a whole, valid frame (length, checksum and records all good) starts
 * anywhere after the bad one at `end`. Only the last append can be torn —
 * every earlier one was fsynced before the next began — so a valid frame
 * after a bad one means the bad one is corruption, not a torn write,
 * whatever its length field says (a flipped bit there can make a middle
 * frame seem to reach the end of the file). A torn append leaves garbage or
 * zeros behind it, never a frame that checks out.
 */
function goodFrameAfter(bytes: Buffer, end: number): boolean {
  for (let offset = end + 1; offset + frameHeaderBytes < bytes.length; offset++) {
    const length = bytes.readUInt32LE(offset)
    if (length === 0 || length > bytes.length - offset - frameHeaderBytes) continue
    // decodeFrames checks the checksum before it parses anything.
    if (decodeFrames(bytes.subarray(offset, offset + frameHeaderBytes + length)).frames.length === 1) return true
  }
  return false
}

/** Writes `bytes` to `tmp`, fsyncs, renames it to `name` and fsyncs the directory: after a crash, `name` is the old file or the new one, whole. */
async function replaceDurably(dir: string, tmp: string, name: string, bytes: Buffer): Promise<void> {
  const handle = await open(join(dir, tmp), 'w')
  try {
    await handle.write(bytes, 0, bytes.length, 0)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(join(dir, tmp), join(dir, name))
  await fsyncDirectory(dir)
}

/** Lock files this process holds (a second open in the same process is refused). */
const held = new Set<string>()

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export class FileStorage implements StableStorage {
  private readonly image = new StableImage()
  private queue: Promise<void> = Promise.resolve()
  private size: number
  private checkpointBytes: number
  private closed = false
  private closing: Promise<void> | null = null
  /** The snapshot file the image's snapshot is in (null: none), and the next file's number. */
  private snapshotFile: string | null = null
  private nextSnapshot = 0
  /** Writes and bytes appended since open (status, benchmarks). */
  writes = 0
  bytesWritten = 0
  compactions = 0

  private constructor(readonly dir: string, private log: FileHandle, size: number, readonly recovery: Recovery, private readonly compactAt: number) {
    this.size = size
    this.checkpointBytes = size
  }

  /** Opens (creating) the directory, takes its lock, reads the log back, cuts a torn tail. */
  static async open(dir: string, options: FileStorageOptions = {}): Promise<FileStorage> {
    await mkdir(dir, { recursive: true })
    await FileStorage.lock(dir)
    try {
      await rm(join(dir, nextLogFile), { force: true }) // a compaction that never reached its rename
      const path = join(dir, logFile)
      const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return Buffer.alloc(0)
        throw error
      })
      const { frames, end, bad } = decodeFrames(bytes)
      if (bad !== null && goodFrameAfter(bytes, end)) throw new StorageCorruptError(path, end, bad)
      const log = await open(path, 'a+')
      if (end < bytes.length) {
        // The torn frame's write never completed: nothing was acknowledged on
        // it. Its bytes are kept aside (log.torn-<offset>) rather than destroyed.
        await writeFile(join(dir, `${logFile}.torn-${end}`), bytes.subarray(end))
        await log.truncate(end)
        await log.datasync()
      }
      const recovery = { frames: frames.length, tornBytes: bytes.length - end, torn: bad }
      const storage = new FileStorage(dir, log, end, recovery, options.compactBytesMin ?? compactBytesMin)
      await storage.replay(frames, path)
      return storage
    } catch (error) {
      await FileStorage.unlock(dir)
      throw error
    }
  }

  /** Rebuilds the image from the log's frames, reading the one snapshot file the last of them names. */
  private async replay(frames: DiskRecord[][], path: string): Promise<void> {
    // Snapshot files superseded later in the log may be gone: only the one that ends up in the image is read.
    const named = new Map<Snapshot, string>()
    for (const frame of frames) {
      this.image.apply(frame.map((r): PersistRecord => {
        if (r.kind !== 'snapshot-file') return r
        const placeholder = { file: r.file } as unknown as Snapshot
        named.set(placeholder, r.file)
        return { kind: 'snapshot', snapshot: placeholder }
      }))
    }
    const current = this.image.snapshot
    if (current !== undefined) {
      const file = named.get(current)!
      this.image.snapshot = await this.readSnapshot(file, path)
      this.snapshotFile = file
    }
    const files = (await readdir(this.dir)).filter((f) => f.startsWith(snapshotFilePrefix))
    for (const f of files) this.nextSnapshot = Math.max(this.nextSnapshot, Number(f.slice(snapshotFilePrefix.length).split('.')[0]) + 1 || 0)
    // Files no durable frame names: written before a crash, or superseded.
    for (const f of files) if (f !== this.snapshotFile) await rm(join(this.dir, f), { force: true })
  }

  private async readSnapshot(file: string, path: string): Promise<Snapshot> {
    const bytes = await readFile(join(this.dir, file)).catch(() => null)
    if (bytes === null) throw new StorageCorruptError(path, 0, `the log names ${file}, which is missing`)
    if (bytes.length < frameHeaderBytes || bytes.readUInt32LE(0) !== bytes.length - frameHeaderBytes || crc32(bytes.subarray(frameHeaderBytes)) !== bytes.readUInt32LE(4)) {
      throw new StorageCorruptError(join(this.dir, file), 0, 'snapshot checksum mismatch')
    }
    const parsed = snapshotSchema.safeParse(JSON.parse(bytes.subarray(frameHeaderBytes).toString('utf8')))
    if (!parsed.success) throw new StorageCorruptError(join(this.dir, file), 0, `not a snapshot: ${parsed.error.issues[0]?.message ?? ''}`)
    return parsed.data as Snapshot
  }

  /** Writes a snapshot to a new file, crash-safely; returns its name. */
  private async writeSnapshot(snapshot: Snapshot): Promise<string> {
    const file = `${snapshotFilePrefix}${this.nextSnapshot++}`
    await replaceDurably(this.dir, `${file}.tmp`, file, encodeFrame(snapshot))
    return file
  }

  /** The records as the log holds them: snapshots named by their files (written first). */
  private async toDisk(records: readonly PersistRecord[], files: Map<Snapshot, string>): Promise<DiskRecord[]> {
    const out: DiskRecord[] = []
    for (const r of records) {
      if (r.kind !== 'snapshot') out.push(r)
      else out.push({ kind: 'snapshot-file', file: files.get(r.snapshot) ?? (await this.writeSnapshot(r.snapshot)) })
    }
    return out
  }

  /**
   * The lock file holds the owner's pid, put in place whole (written to a
   * file of its own, then hard-linked: no reader sees it empty). A lock whose
   * pid is dead is stale; so is one with this process's own pid that this
   * process does not hold (a container restarts its edge with the same pid).
   */
  private static async lock(dir: string): Promise<void> {
    const path = join(dir, lockFile)
    if (held.has(path)) throw new StorageLockedError(dir, process.pid)
    const mine = join(dir, `${lockFile}.${process.pid}`)
    await writeFile(mine, String(process.pid))
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await link(mine, path)
          held.add(path)
          return
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
          const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim())
          if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new StorageLockedError(dir, pid)
          await rm(path, { force: true }) // left by a process that died (SIGKILL)
        }
      }
      throw new StorageLockedError(dir, 0)
    } finally {
      await rm(mine, { force: true })
    }
  }

  private static async unlock(dir: string): Promise<void> {
    const path = join(dir, lockFile)
    held.delete(path)
    await rm(path, { force: true })
  }

  async load(): Promise<StableState> {
    return structuredClone(this.image.state())
  }

  /** Appends one frame and fdatasyncs (snapshot files first); resolves once it is durable. Writes run in call order. */
  write(records: readonly PersistRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.dir} is closed`))
    if (records.length === 0) return this.queue
    const batch = structuredClone(records) as PersistRecord[]
    const done = this.queue.then(async () => {
      const disk = await this.toDisk(batch, new Map())
      const frame = encodeFrame(disk)
      await this.log.write(frame, 0, frame.length, null)
      await this.log.datasync()
      this.size += frame.length
      this.bytesWritten += frame.length
      this.writes++
      this.image.apply(batch)
      // The snapshot file the image now holds; an earlier one is named by no durable frame that matters.
      const named = disk.filter((r) => r.kind === 'snapshot-file').at(-1)?.file
      const current = this.image.snapshot === undefined ? null : named ?? this.snapshotFile
      if (this.snapshotFile !== null && this.snapshotFile !== current) await rm(join(this.dir, this.snapshotFile), { force: true })
      this.snapshotFile = current
      if (this.size > Math.max(this.compactAt, compactRatio * this.checkpointBytes)) await this.compact()
    })
    // A failed write fails this call; later writes still run (and fail the same way if the disk is gone).
    this.queue = done.catch(() => {})
    return done
  }

  /** Rewrites the log as one checkpoint frame, crash-safely (write, fsync, rename, fsync the directory). */
  private async compact(): Promise<void> {
    const current = this.image.snapshot
    const frame = encodeFrame(await this.toDisk(this.image.records(), new Map(current !== undefined && this.snapshotFile !== null ? [[current, this.snapshotFile]] : [])))
    await replaceDurably(this.dir, nextLogFile, logFile, frame)
    await this.log.close()
    this.log = await open(join(this.dir, logFile), 'a+')
    this.size = this.checkpointBytes = frame.length
    this.compactions++
  }

  /** Bytes in the log now. */
  get logBytes(): number {
    return this.size
  }

  close(): void {
    if (this.closing !== null) return
    this.closed = true
    this.closing = this.queue.then(async () => {
      await this.log.close().catch(() => {})
      await FileStorage.unlock(this.dir)
    })
  }

  /** Closes once every write queued so far is done, and frees the directory. */
  async shutdown(): Promise<void> {
    this.close()
    await this.closing
  }
}
