import type { Ballot, IssuedEntry, PersistRecord, Snapshot, StableState, Vote } from '@concord/core'
import { ballotZero } from '@concord/core'

/**
 * A replica's stable storage in the simulator: what survives a crash. Writes
 * arrive as batches (one per `ready()`); a batch is durable only once it is
 * flushed, and a crash loses every batch not yet flushed (like an IndexedDB
 * transaction that never completed). Flushes complete in order.
 */
export class SimDisk {
  lastTried: Ballot = ballotZero
  nextBal: Ballot = ballotZero
  readonly votes = new Map<number, Vote>()
  readonly issued = new Map<number, IssuedEntry>()
  snapshot: Snapshot | undefined = undefined
  /** Every vote ever persisted, for scenario assertions ("q persisted (1,17,df)"). */
  readonly voteHistory: Vote[] = []
  private pending: { records: PersistRecord[]; seq: number }[] = []
  /** Records written, for statistics. */
  recordsWritten = 0

  constructor(private readonly keepIssuedVotes = false) {}

  write(records: PersistRecord[], seq: number): void {
    if (records.length > 0) this.pending.push({ records, seq })
  }

  get pendingBatches(): number {
    return this.pending.length
  }

  /** Make the oldest pending batch durable; returns its seq. */
  flushOne(): number | null {
    const batch = this.pending.shift()
    if (batch === undefined) return null
    for (const record of batch.records) this.applyRecord(record)
    return batch.seq
  }

  /** Make everything durable; returns the last seq, or null if nothing was pending. */
  flushAll(): number | null {
    let seq: number | null = null
    for (let s = this.flushOne(); s !== null; s = this.flushOne()) seq = s
    return seq
  }

  /** A crash: everything not flushed is lost. */
  crash(): void {
    this.pending = []
  }

  load(): StableState {
    return {
      lastTried: this.lastTried,
      nextBal: this.nextBal,
      votes: [...this.votes.values()].filter((v) => !this.issued.has(v.instance)),
      issued: [...this.issued.values()],
      snapshot: this.snapshot,
    }
  }

  private applyRecord(record: PersistRecord): void {
    this.recordsWritten++
    switch (record.kind) {
      case 'lastTried':
        this.lastTried = record.ballot
        break
      case 'nextBal':
        this.nextBal = record.ballot
        break
      case 'vote':
        this.votes.set(record.vote.instance, record.vote)
        this.voteHistory.push(record.vote)
        break
      case 'issued':
        this.issued.set(record.entry.instance, record.entry)
        // The host may drop the vote once the issued command is durable.
        if (!this.keepIssuedVotes) this.votes.delete(record.entry.instance)
        break
      case 'snapshot':
        this.snapshot = record.snapshot
        break
      case 'discard':
        this.issued.clear()
        this.snapshot = undefined
        break
      case 'clear':
        for (const m of [...this.issued.keys()]) if (m < record.before) this.issued.delete(m)
        for (const m of [...this.votes.keys()]) if (m < record.before) this.votes.delete(m)
        break
    }
  }
}
