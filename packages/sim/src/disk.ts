import { splitIssued, StableImage, type PersistRecord, type StableState, type Vote } from '@concord/core'

/**
 * A replica's stable storage in the simulator: what survives a crash. Writes
 * arrive as batches (one per `ready()`); a batch is durable only once it is
 * flushed, and a crash loses every batch not yet flushed (like an IndexedDB
 * transaction that never completed). Flushes complete in order.
 *
 * Like the browser host, the disk uses the persistence contract's freedom
 * (splitIssued): a batch with votes or promises is flushed without the
 * issued records it carries, and those (with any held before) are flushed
 * after it, or go in order with a later batch that cannot be split. The
 * core is told `persisted` for the batch when its first part lands, so a
 * crash in between loses issued records the core counted as written.
 */
export class SimDisk extends StableImage {
  /** Every vote ever persisted, for scenario assertions ("q persisted (1,17,df)"). */
  readonly voteHistory: Vote[] = []
  private pending: { records: PersistRecord[]; seq: number | null }[] = []
  /** Issued records held back from the batches already pending (splitIssued). */
  private deferred: PersistRecord[] = []
  /** Records written, for statistics. */
  recordsWritten = 0

  write(records: PersistRecord[], seq: number): void {
    if (records.length === 0) return
    const all = this.deferred.length === 0 ? records : [...this.deferred, ...records]
    const split = splitIssued(all)
    this.deferred = split?.issued ?? []
    this.pending.push({ records: split?.first ?? all, seq })
  }

  get pendingBatches(): number {
    return this.pending.length + (this.deferred.length > 0 ? 1 : 0)
  }

  /** Make the oldest pending batch durable (the held issued records once none is left); returns its seq (null: nothing the core waits for). */
  flushOne(): number | null {
    if (this.pending.length === 0 && this.deferred.length > 0) this.pending.push({ records: this.deferred.splice(0), seq: null })
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
    while (this.pendingBatches > 0) seq = this.flushOne() ?? seq
    return seq
  }

  /** A crash: everything not flushed is lost. */
  crash(): void {
    this.pending = []
    this.deferred = []
  }

  /** What a restart reads: no vote where the command is issued (kept or written late, it is not needed). */
  load(): StableState {
    const state = this.state()
    return { ...state, votes: state.votes.filter((v) => !this.issued.has(v.instance)) }
  }
}
