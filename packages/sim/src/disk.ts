import { StableImage, type PersistRecord, type StableState, type Vote } from '@concord/core'

/**
 * A replica's stable storage in the simulator: what survives a crash. Writes
 * arrive as batches (one per `ready()`); a batch is durable only once it is
 * flushed, and a crash loses every batch not yet flushed (like an IndexedDB
 * transaction that never completed). Flushes complete in order.
 */
export class SimDisk extends StableImage {
  /** Every vote ever persisted, for scenario assertions ("q persisted (1,17,df)"). */
  readonly voteHistory: Vote[] = []
  private pending: { records: PersistRecord[]; seq: number }[] = []
  /** Records written, for statistics. */
  recordsWritten = 0

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
    this.recordsWritten += batch.records.length
    for (const record of batch.records) if (record.kind === 'vote') this.voteHistory.push(record.vote)
    this.apply(batch.records)
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

  /** What a restart reads: no vote where the command is issued (kept or written late, it is not needed). */
  load(): StableState {
    const state = this.state()
    return { ...state, votes: state.votes.filter((v) => !this.issued.has(v.instance)) }
  }
}
