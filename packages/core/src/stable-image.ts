import { ballotZero } from './ballot.ts'
import type { Ballot, IssuedEntry, PersistRecord, Snapshot, StableState, Vote } from './types.ts'

/**
 * What a replica's persisted records add up to (DESIGN.md §3): the fold every
 * storage that writes records as they come (memory, files, the simulator's
 * disk) keeps, to hand the core back a StableState after a restart.
 */
export class StableImage {
  lastTried: Ballot = ballotZero
  nextBal: Ballot = ballotZero
  readonly votes = new Map<number, Vote>()
  readonly issued = new Map<number, IssuedEntry>()
  snapshot: Snapshot | undefined = undefined

  /** `keepIssuedVotes`: keep the vote at an instance once it is issued (the simulator's scenarios look at votes). */
  constructor(private readonly keepIssuedVotes = false) {}

  apply(records: readonly PersistRecord[]): void {
    for (const r of records) {
      switch (r.kind) {
        case 'lastTried':
          this.lastTried = r.ballot
          break
        case 'nextBal':
          this.nextBal = r.ballot
          break
        case 'vote':
          this.votes.set(r.vote.instance, r.vote)
          break
        case 'issued':
          this.issued.set(r.entry.instance, r.entry)
          // The vote at an issued instance is never needed again.
          if (!this.keepIssuedVotes) this.votes.delete(r.entry.instance)
          break
        case 'snapshot':
          this.snapshot = r.snapshot
          break
        case 'discard':
          // Out of sync (seed 000): log and snapshot are fetched again; promises and votes stay.
          this.issued.clear()
          this.snapshot = undefined
          break
        case 'clear':
          // Seed 001: what lies behind the start-of-log pointer goes.
          for (const m of [...this.issued.keys()]) if (m < r.before) this.issued.delete(m)
          for (const m of [...this.votes.keys()]) if (m < r.before) this.votes.delete(m)
          break
      }
    }
  }

  /** The image as the core reloads it (shared objects: a storage that hands it out copies it). */
  state(): StableState {
    const votes = [...this.votes.values()].filter((v) => !this.keepIssuedVotes || !this.issued.has(v.instance))
    return { lastTried: this.lastTried, nextBal: this.nextBal, votes, issued: [...this.issued.values()], snapshot: this.snapshot }
  }

  /** Records that rebuild this image from nothing (a checkpoint). */
  records(): PersistRecord[] {
    const records: PersistRecord[] = [
      { kind: 'lastTried', ballot: this.lastTried },
      { kind: 'nextBal', ballot: this.nextBal },
    ]
    if (this.snapshot !== undefined) records.push({ kind: 'snapshot', snapshot: this.snapshot })
    // Issued before votes: an issued record drops the vote at its instance, and a vote the image
    // still holds there (written after the entry) must survive the replay.
    for (const entry of this.issued.values()) records.push({ kind: 'issued', entry })
    for (const vote of this.votes.values()) records.push({ kind: 'vote', vote })
    return records
  }
}
