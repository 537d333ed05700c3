import { StableImage, type PersistRecord, type ReplicaId, type StableState } from '@concord/core'

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
  private readonly image = new StableImage()
  writes = 0

  async load(): Promise<StableState> {
    return structuredClone(this.image.state())
  }

  async write(records: readonly PersistRecord[]): Promise<void> {
    this.image.apply(structuredClone(records))
    this.writes++
  }

  close(): void {}
}
