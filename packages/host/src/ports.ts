import type { PersistRecord, ReplicaId, StableState } from '@concord/core'

/** Stable storage (DESIGN.md §3): `write` makes all records durable, in order, or none. */
export interface StableStorage {
  load(): Promise<StableState>
  write(records: readonly PersistRecord[]): Promise<void>
  close(): void
}

/** Peer-to-peer frames: a string per core message, to a named replica. */
export interface Transport {
  send(to: ReplicaId, frame: string): void
  /** Deliver frames that arrive; returns a function that stops delivery. */
  onFrame(handler: (from: ReplicaId, frame: string) => void): () => void
}

/** In-memory storage: for tests, and for replicas that need no durability. */
export class MemoryStorage implements StableStorage {
  private state: StableState = { lastTried: { round: 0, replica: '' }, nextBal: { round: 0, replica: '' }, votes: [], issued: [] }
  writes = 0

  async load(): Promise<StableState> {
    return structuredClone(this.state)
  }

  async write(records: readonly PersistRecord[]): Promise<void> {
    const votes = new Map(this.state.votes.map((v) => [v.instance, v]))
    const issued = new Map(this.state.issued.map((e) => [e.instance, e]))
    let snapshot = this.state.snapshot
    for (const r of records) {
      if (r.kind === 'lastTried') this.state.lastTried = r.ballot
      else if (r.kind === 'nextBal') this.state.nextBal = r.ballot
      else if (r.kind === 'vote') votes.set(r.vote.instance, r.vote)
      else if (r.kind === 'snapshot') snapshot = r.snapshot
      else if (r.kind === 'discard') {
        issued.clear()
        snapshot = undefined
      }
      else if (r.kind === 'clear') {
        for (const m of [...issued.keys()]) if (m < r.before) issued.delete(m)
        for (const m of [...votes.keys()]) if (m < r.before) votes.delete(m)
      } else {
        issued.set(r.entry.instance, r.entry)
        votes.delete(r.entry.instance)
      }
    }
    this.state = { ...this.state, votes: [...votes.values()], issued: [...issued.values()], snapshot }
    this.writes++
  }

  close(): void {}
}
