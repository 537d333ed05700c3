import { createRandom, decodeMessage, encodeMessage, Replica, splitIssued, stableStateSchema, type CallReply, type IssuedEntry, type PersistRecord, type Random, type ReplicaEvent, type ReplicaId, type ReplicaStatus } from '@concord/core'
import { createMachine, upgradeFunction, type Functions, type Json, type MachineDefinition, type MachineInstance } from '@concord/machine'
import type { StableStorage, Transport } from './ports.ts'
import { MachineVersionError, StorageCorruptError } from './errors.ts'

/**
 * A replica run for real (DESIGN.md §3: "hosts own the clocks, sockets and
 * disks"): ticks from a timer, frames from a transport, records to stable
 * storage. The loop is the persistence contract of the core: every Ready's
 * records go to storage in order (one `write` each, the group commit), and
 * `persisted` is stepped only when that write is durable, which releases the
 * messages that depended on it. The same host runs in a browser worker and,
 * later, at the edge.
 */
export interface HostOptions<F extends Functions> {
  id: ReplicaId
  /** The genesis members (see ReplicaConfig.members). */
  members: readonly ReplicaId[]
  /** Membership decided at start (seed 004, ours): true — the room looked
   *  empty, so a replica with nothing stored founds it alone; false — join.
   *  Either way a replica with stored state goes on from it. Unset: `members`. */
  found?: boolean
  machine: MachineDefinition<F>
  storage: StableStorage
  transport: Transport
  /** Milliseconds per core tick (heartbeats every 2 ticks, 20 when the room is idle; elections after 10–20, 60–120 after an idle heartbeat). */
  tickMs?: number
  pipelineDepth?: number
  /** Seed of the replica's random source (defaults to a random one). */
  seed?: number
  /** Applied commands between snapshots (seed 001; the core's default otherwise). */
  snapshotEvery?: number
  /** Ticks of silence after which a member no longer holds log clearing back. */
  clearSilentTicks?: number
  /** Join as a learner by choice: fed every command, never a voter (ReplicaConfig.learner). */
  learner?: boolean
  /** How long issued records alone may wait for the next write (issuedWriteDelayMs by default). */
  issuedWriteDelayMs?: number
}

/** Frames above this size are dropped unread (the transport chunks, this bounds memory). */
export const frameBytesMax = 8 * 1024 * 1024
export const tickMsDefault = 10
/** How long issued commands alone may wait to share a transaction with what
 *  comes next. Longer than the gap between one command and a caller's next
 *  (a few milliseconds): at 4 ms the lone write started just before the next
 *  vote arrived, and the vote queued behind it (a 3-tab room, measured).
 *  And long enough that they are seldom written alone: the tabs of one
 *  browser share its IndexedDB backend, where every transaction of every tab
 *  runs in turn, so a tab's issued-only write delays the others' votes. At
 *  20 ms the three tabs of a room taking one call at a time wrote ~400 such
 *  transactions per 500 calls, each ~4 ms in the backend, and a vote's commit
 *  took 2.1-2.9 ms (p50; 1 ms alone). At 200 ms (3 runs each, alternating):
 *  leader's call p50 3.6-5.7 ms against 5.8-7.3, pipelined 2,417-2,437
 *  calls/s against 1,327-2,073. Nothing waits for them: the votes of a
 *  majority make a command durable, and a replica that needs its issued
 *  prefix on disk (to clear its log) writes at once (awaitsPersist). */
export const issuedWriteDelayMs = 200
/** Issued records held back from a vote's write (splitIssued) beyond this
 *  many go with it: a room under steady load still writes them. */
export const issuedDeferredMax = 256
/** How often (in ticks) a leader checks whether the room's state awaits an app upgrade. */
export const upgradeCheckTicks = 50
/** Unanswered calls a host has in the core at once (below the core's sessionResultsMax). */
export const callsInFlightMax = 128

export type HostEvent =
  | { type: 'applied'; entries: IssuedEntry[] }
  /** MS was replaced by a snapshot's state at `instance` (then 'applied' goes on after it). */
  | { type: 'installed'; instance: number; state: Record<string, Json> }
  /** Out-of-sync detection (seed 000) and other things worth showing. */
  | { type: 'replica'; event: ReplicaEvent }
  | { type: 'failed'; error: string }

export class ReplicaHost<F extends Functions = Functions> {
  readonly id: ReplicaId
  private readonly replica: Replica
  private readonly machine: MachineInstance<F>
  private readonly storage: StableStorage
  private readonly listeners = new Set<(event: HostEvent) => void>()
  private readonly drainedListeners = new Set<() => void>()
  private readonly waiting = new Map<number, (reply: CallReply) => void>()
  private readonly queued: { name: string; args: Json; resolve: (reply: CallReply) => void }[] = []
  private readonly client: string
  private seq = 0
  private writes: Promise<void> = Promise.resolve()
  /** Records of Readies not yet handed to storage, and the seq that covers them. */
  private unwritten: PersistRecord[] = []
  private unwrittenSeq = 0
  private unwrittenUrgent = false
  /** When the oldest unwritten issued record was queued (null: none is). */
  private issuedQueuedAt: number | null = null
  private readonly issuedWriteDelay: number
  private writeTimer: ReturnType<typeof setTimeout> | null = null
  private writeTimerDelay = 0
  private writing = false
  private scheduled = false
  private closed = false
  private failure: string | null = null
  private readonly timer: ReturnType<typeof setInterval>
  private readonly stopTransport: () => void
  private readonly transport: Transport
  private framesDropped = 0
  private ticks = 0
  /** When the tick timer started, and its period: status() says how far the ticks run behind the clock. */
  private readonly startedAt = performance.now()
  private readonly tickMs: number
  /** Every issued command up to here is on this replica's disk. */
  private durableIssued = 0
  private upgrading = false
  /** Storage writes done, and their total time (for status and benchmarks). */
  private writesDone = 0
  private callsDone = 0
  private callMsTotal = 0
  private writeMsTotal = 0

  private constructor(options: HostOptions<F>, replica: Replica, machine: MachineInstance<F>, random: Random) {
    this.id = options.id
    this.replica = replica
    this.machine = machine
    this.storage = options.storage
    this.issuedWriteDelay = options.issuedWriteDelayMs ?? issuedWriteDelayMs
    this.transport = options.transport
    // A client id per host session: ticket sequences restart with the host.
    this.client = `${options.id}/${Math.floor(random.next() * 2 ** 48).toString(36)}`
    this.stopTransport = options.transport.onFrame((from, frame) => this.onFrame(from, frame))
    this.tickMs = options.tickMs ?? tickMsDefault
    this.timer = setInterval(() => {
      this.input({ type: 'tick' })
      if (++this.ticks % upgradeCheckTicks === 0) this.upgradeIfLeading()
    }, this.tickMs)
    this.schedule()
  }

  static async start<F extends Functions>(options: HostOptions<F>): Promise<ReplicaHost<F>> {
    const stable = await options.storage.load()
    const checked = stableStateSchema.safeParse(stable)
    if (!checked.success) {
      const issue = checked.error.issues[0]!
      throw new StorageCorruptError(issue.path.join('.') || 'the root', issue.message)
    }
    const machine = createMachine(options.machine)
    const random = createRandom(options.seed ?? Math.floor(Math.random() * 2 ** 31))
    const nothingStored = stable.issued.length === 0 && stable.votes.length === 0 && stable.snapshot === undefined && stable.nextBal.round === 0 && stable.lastTried.round === 0
    // A learner never founds: a room needs a voter.
    const members = options.found === undefined ? options.members : options.found && nothingStored && options.learner !== true ? [options.id] : []
    const replica = new Replica({
      id: options.id,
      members,
      logGenesis: options.found !== undefined,
      machine,
      random,
      ...(options.pipelineDepth !== undefined ? { pipelineDepth: options.pipelineDepth } : {}),
      ...(options.snapshotEvery !== undefined ? { snapshotEvery: options.snapshotEvery } : {}),
      ...(options.clearSilentTicks !== undefined ? { clearSilentTicks: options.clearSilentTicks } : {}),
      ...(options.learner === true ? { learner: true } : {}),
      stable,
    })
    // Restored: state written by a newer version of the app must not be run by this older one.
    const version = machine.stateVersion()
    if (version !== null && version > options.machine.version) throw new MachineVersionError(options.machine.name, version, options.machine.version)
    const host = new ReplicaHost(options, replica, machine, random)
    host.durableIssued = stable.issued.reduce((most, entry) => Math.max(most, entry.instance), stable.snapshot?.anchor.instance ?? 0)
    return host
  }

  /** Call an app function; resolves when its command is issued and applied here (or it is rejected).
   *  Beyond callsInFlightMax unanswered calls, calls wait here (the ticket
   *  table keeps a bounded window of unacknowledged calls per client). */
  call(name: string, args: Json): Promise<CallReply> {
    return new Promise<CallReply>((resolve, reject) => {
      try {
        this.callWith(name, args, resolve)
      } catch (error) {
        reject(error)
      }
    })
  }

  /** call() with a callback, run inside the drain that issued the command:
   *  a host that forwards replies (the worker) sends each with the events of
   *  the same drain, in one message. Throws if the replica is closed or failed. */
  callWith(name: string, args: Json, onReply: (reply: CallReply) => void): void {
    if (this.closed || this.failure !== null) throw new Error(this.failure ?? 'the replica is closed')
    this.queued.push({ name, args, resolve: onReply })
    this.submitQueued()
  }

  private submitQueued(): void {
    while (this.queued.length > 0 && this.waiting.size < callsInFlightMax) {
      const { name, args, resolve } = this.queued.shift()!
      const seq = ++this.seq
      // Every seq below the lowest unanswered one has been answered.
      let acked = seq
      for (const s of this.waiting.keys()) if (s < acked) acked = s
      const submitted = performance.now()
      this.waiting.set(seq, (reply) => {
        this.callsDone++
        this.callMsTotal += performance.now() - submitted
        resolve(reply)
      })
      this.input({ type: 'call', call: { ticket: { client: this.client, seq, acked }, name, args } })
    }
  }

  /**
   * An app upgrade (machine version) is carried by the log: a leader whose
   * machine is newer than the room's state calls the upgrade, a command like
   * any other (every function call would also upgrade first; this makes it
   * happen without waiting for one). Replicas of the older version are
   * refused by the peer handshake meanwhile.
   */
  private upgradeIfLeading(): void {
    if (this.upgrading || this.closed || this.failure !== null || !this.machine.needsUpgrade()) return
    if (this.replica.status().role !== 'leader') return
    this.upgrading = true
    void this.call(upgradeFunction, null).finally(() => (this.upgrading = false))
  }

  /** Ask this replica to lead now (tests, "make this tab the leader"). */
  campaign(): void {
    this.input({ type: 'campaign' })
  }

  /** Who is in the room (signaling presence, open links): whom to ask to join. */
  peers(peers: readonly ReplicaId[]): void {
    this.input({ type: 'peers', peers })
  }

  /** Leave the membership gracefully (a tab closing, seed 004 FIG. 6). */
  leave(): void {
    this.input({ type: 'leave' })
    // The tab is going (pagehide): what a reload recovers is what is on disk.
    this.flushIssued()
  }

  /** Write the issued records held back (issuedWriteDelayMs) now: the page is going away. */
  flushIssued(): void {
    if (this.unwritten.length === 0) return
    this.issuedQueuedAt = -Infinity
    this.kickWriter()
  }

  state(): Record<string, Json> {
    return this.machine.snapshot()
  }

  status(): ReplicaStatus & { framesDropped: number; failed: string | null; writes: number; writeMsAverage: number; callMsAverage: number; durableIssuedUpTo: number; digest: string; ticksBehindMs: number } {
    return {
      ...this.replica.status(),
      // The protocol's timeouts are in ticks: a starved or throttled timer stretches them by this much.
      ticksBehindMs: Math.max(0, Math.round(performance.now() - this.startedAt - this.ticks * this.tickMs)),
      // Seed 000's digest of MS: equal on every replica at the same issuedUpTo (the inspector shows it side by side).
      digest: this.machine.digest(),
      durableIssuedUpTo: this.durableIssued,
      framesDropped: this.framesDropped,
      failed: this.failure,
      writes: this.writesDone,
      writeMsAverage: this.writesDone === 0 ? 0 : this.writeMsTotal / this.writesDone,
      callMsAverage: this.callsDone === 0 ? 0 : this.callMsTotal / this.callsDone,
    }
  }

  subscribe(listener: (event: HostEvent) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Called at the end of every drain, after its events and replies and
   * before its frames are sent: a host that forwards output in batches (the
   * worker, to its tab) sends its batch here. A reply then does not wait
   * behind the drain's sends, and a data-channel send from a worker costs
   * about 0.2 ms in Chromium here (a leader's Success to the other replicas
   * is in the same drain as the reply to its own tab).
   */
  onDrained(listener: () => void): () => void {
    this.drainedListeners.add(listener)
    return () => this.drainedListeners.delete(listener)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    if (this.writeTimer !== null) clearTimeout(this.writeTimer)
    this.writeTimer = null
    this.stopTransport()
    await this.writes.catch(() => {})
    // A graceful close writes what waits (a crash would only lose issued
    // commands, which the majority holds).
    if (this.unwritten.length > 0 && this.failure === null) {
      await this.storage.write(this.unwritten).catch(() => {})
      this.unwritten = []
    }
    this.storage.close()
  }

  private onFrame(from: ReplicaId, frame: string): void {
    if (frame.length > frameBytesMax) {
      this.framesDropped++
      return
    }
    let message: unknown
    try {
      message = decodeMessage(frame)
    } catch {
      this.framesDropped++
      return
    }
    // The transport knows who sent the frame: a frame naming another sender is refused.
    if (typeof message !== 'object' || message === null || (message as { from?: unknown }).from !== from) {
      this.framesDropped++
      return
    }
    const result = this.input({ type: 'message', message })
    if (result !== null && !result.ok) this.framesDropped++
  }

  private input(input: Parameters<Replica['step']>[0]): ReturnType<Replica['step']> | null {
    if (this.closed || this.failure !== null) return null
    const result = this.replica.step(input)
    this.schedule()
    return result
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.drain()
    })
  }

  /** Take every Ready the core has: queue its records, deliver its events
   *  and replies, tell the drained listeners, send what may leave; then start
   *  the write of what this drain queued. The messages sent here depend only
   *  on records already durable, so they and the replies go out before the
   *  write's own work (sealing, the transaction's requests) is done on this
   *  thread. Sending later than the core allows is always safe; frames keep
   *  their order. */
  private drain(): void {
    let queued = false
    const outbound: [to: ReplicaId, frame: string][] = []
    for (let guard = 0; guard < 10_000 && !this.closed && this.failure === null && this.replica.hasReady(); guard++) {
      const ready = this.replica.ready()
      if (ready.persist.length > 0) {
        let urgent = false
        for (const record of ready.persist) {
          this.unwritten.push(record)
          if (record.kind !== 'issued') urgent = true
          else this.issuedQueuedAt ??= performance.now()
        }
        this.unwrittenSeq = ready.persistSeq
        this.unwrittenUrgent ||= urgent
        queued = true
      }
      for (const message of ready.send) {
        if (message.to === this.id) this.replica.step({ type: 'loopback', message })
        else outbound.push([message.to, encodeMessage(message)])
      }
      if (ready.installed !== null) {
        this.emit({ type: 'installed', instance: ready.installed.instance, state: ready.installed.state as Record<string, Json> })
      }
      if (ready.issued.length > 0) this.emit({ type: 'applied', entries: ready.issued })
      for (const event of ready.events) this.emit({ type: 'replica', event })
      for (const reply of ready.replies) {
        if (reply.ticket.client !== this.client) continue
        const resolve = this.waiting.get(reply.ticket.seq)
        this.waiting.delete(reply.ticket.seq)
        resolve?.(reply)
      }
      if (ready.replies.length > 0) this.submitQueued()
    }
    for (const listener of this.drainedListeners) listener()
    for (const [to, frame] of outbound) this.transport.send(to, frame)
    if (queued) this.kickWriter()
  }

  /**
   * Start a write now if a promise or a vote waits (a message waits for it);
   * issued commands alone that a message waits for in the next task, after
   * this one's replies have gone out; other issued
   * commands within issuedWriteDelayMs: they are durable on the voting
   * majority already, and the next vote — a caller's next command, usually a
   * moment away — then shares their transaction instead of queueing behind it.
   */
  private kickWriter(): void {
    if (this.writing || this.unwritten.length === 0) return
    if (this.unwrittenUrgent) {
      if (this.writeTimer !== null) clearTimeout(this.writeTimer)
      this.writeTimer = null
      this.writes = this.writeLoop()
      return
    }
    // Only issued records wait: due issuedWriteDelayMs after the oldest was queued.
    const delay = this.replica.awaitsPersist() ? 0 : Math.max(0, this.issuedWriteDelay - (performance.now() - (this.issuedQueuedAt ?? performance.now())))
    if (this.writeTimer !== null) {
      if (delay >= this.writeTimerDelay) return
      clearTimeout(this.writeTimer)
    }
    this.writeTimerDelay = delay
    this.writeTimer = setTimeout(() => {
      this.writeTimer = null
      if (!this.writing && this.unwritten.length > 0) this.writes = this.writeLoop()
    }, delay)
  }

  /**
   * One write at a time; whatever Readies produced while it ran goes in the
   * next one, together (group commit: under load, one transaction carries
   * the records of many commands). A write that a message waits for leaves
   * the issued records it would carry for later (splitIssued), until they
   * are issuedWriteDelayMs old or issuedDeferredMax many: they are off the
   * critical path, and a vote's commit alone is the fastest.
   */
  private async writeLoop(): Promise<void> {
    this.writing = true
    try {
      let first = true
      while (this.unwritten.length > 0 && !this.closed && this.failure === null && (first || this.unwrittenUrgent || this.replica.awaitsPersist())) {
        first = false
        const split = this.unwrittenUrgent && this.mayDeferIssued() ? splitIssued(this.unwritten) : null
        const records = split?.first ?? this.unwritten
        const seq = this.unwrittenSeq
        this.unwritten = split?.issued ?? []
        if (split === null) this.issuedQueuedAt = null
        this.unwrittenUrgent = false
        const started = performance.now()
        try {
          await this.storage.write(records)
        } catch (error) {
          return this.fail(`stable storage failed: ${describeStorageError(error)}`)
        }
        this.writesDone++
        for (const record of records) {
          // Issued entries are written in instance order: the highest is the durable prefix's end.
          if (record.kind === 'issued') this.durableIssued = Math.max(this.durableIssued, record.entry.instance)
          else if (record.kind === 'snapshot') this.durableIssued = Math.max(this.durableIssued, record.snapshot.anchor.instance)
          else if (record.kind === 'discard') this.durableIssued = 0
        }
        this.writeMsTotal += performance.now() - started
        if (this.closed) return
        this.replica.step({ type: 'persisted', seq })
        this.drain()
      }
    } finally {
      this.writing = false
    }
    this.kickWriter()
  }

  private mayDeferIssued(): boolean {
    if (this.issuedQueuedAt === null || performance.now() - this.issuedQueuedAt >= this.issuedWriteDelay) return false
    let count = 0
    for (const record of this.unwritten) if (record.kind === 'issued') count++
    return count < issuedDeferredMax
  }

  /** A replica whose writes fail cannot vote safely: it stops, and says why. */
  private fail(error: string): void {
    this.failure = error
    clearInterval(this.timer)
    this.emit({ type: 'failed', error })
    for (const [seq, resolve] of this.waiting) {
      resolve({ ticket: { client: this.client, seq, acked: 0 }, ok: false, code: 'overloaded', reason: error })
    }
    this.waiting.clear()
    for (const { resolve } of this.queued.splice(0)) resolve({ ticket: { client: this.client, seq: 0, acked: 0 }, ok: false, code: 'overloaded', reason: error })
  }

  private emit(event: HostEvent): void {
    for (const listener of this.listeners) listener(event)
  }
}

/** A storage error in words: its name, its message, and what a full quota means (browsers give QuotaExceededError no message). */
export function describeStorageError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const text = error.message === '' ? error.name : `${error.name}: ${error.message}`
  return error.name === 'QuotaExceededError' ? `${text} (the disk, or this origin's storage quota, is full)` : text
}
