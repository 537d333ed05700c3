import type { Ballot, IssuedEntry, PersistRecord, Snapshot, StableState, Vote } from '@concord/core'
import type { StableStorage } from '@concord/host'
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb'

/**
 * Stable storage of one browser replica in IndexedDB (issue 4 §3): one
 * database per replica, named `<app>/<room>/<replicaId>`; every record of one
 * Ready goes in one readwrite transaction with `durability: 'strict'` (group
 * commit; Chromium's default has been 'relaxed' since 121, and a vote or an
 * acknowledgement must not precede its record reaching the disk). The host
 * steps `persisted` only once `write` has resolved, so that messages that
 * depend on a record leave after it is durable.
 */
interface Schema extends DBSchema {
  meta: { key: 'lastTried' | 'nextBal'; value: Ballot }
  votes: { key: number; value: Vote }
  issued: { key: number; value: IssuedEntry }
  /** The latest snapshot (seed 001), under the key 'latest'. */
  snapshot: { key: 'latest'; value: Snapshot }
}

/** Bumped when the stores change shape (2: the snapshot store). */
export const storageVersion = 2
const stores = ['meta', 'votes', 'issued', 'snapshot'] as const

export function databaseName(app: string, room: string, replicaId: string): string {
  return `${app}/${room}/${replicaId}`
}

/**
 * 'strict' whenever the batch holds a promise or a vote (lastTried, nextBal,
 * prevVote): those must be on disk before the message that reports them
 * leaves. A batch of issued commands only may be 'relaxed': an issued
 * command is already durable on the majority that voted for it, so losing
 * the last few in a crash costs a catch-up from a peer, never safety.
 */
export function durabilityOf(records: readonly PersistRecord[]): IDBTransactionDurability {
  return records.some((r) => r.kind !== 'issued') ? 'strict' : 'relaxed'
}

/** A request whose outcome the transaction's `done` reports. */
function settled(request: Promise<unknown>): void {
  request.catch(() => {})
}

export class IdbStorage implements StableStorage {
  private constructor(private readonly db: IDBPDatabase<Schema>, readonly name: string) {}

  static async open(name: string): Promise<IdbStorage> {
    const db = await openDB<Schema>(name, storageVersion, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore('meta')
          database.createObjectStore('votes')
          database.createObjectStore('issued')
        }
        if (oldVersion < 2) database.createObjectStore('snapshot')
      },
    })
    return new IdbStorage(db, name)
  }

  /** Remove a replica's database (a replica removed from its room, tests). */
  static async destroy(name: string): Promise<void> {
    await deleteDB(name)
  }

  async load(): Promise<StableState> {
    const tx = this.db.transaction(stores, 'readonly')
    const [lastTried, nextBal, votes, issued, snapshot] = await Promise.all([
      tx.objectStore('meta').get('lastTried'),
      tx.objectStore('meta').get('nextBal'),
      tx.objectStore('votes').getAll(),
      tx.objectStore('issued').getAll(),
      tx.objectStore('snapshot').get('latest'),
      tx.done,
    ])
    const zero: Ballot = { round: 0, replica: '' }
    return { lastTried: lastTried ?? zero, nextBal: nextBal ?? zero, votes, issued, snapshot }
  }

  async write(records: readonly PersistRecord[]): Promise<void> {
    if (records.length === 0) return
    const tx = this.db.transaction(stores, 'readwrite', { durability: durabilityOf(records) })
    const meta = tx.objectStore('meta')
    const votes = tx.objectStore('votes')
    const issued = tx.objectStore('issued')
    // Requests are queued in order; the transaction commits them all or none,
    // and tx.done says which: a request's own failure (an abort: quota,
    // storage cleared) is not a second, unhandled error.
    for (const record of records) {
      switch (record.kind) {
        case 'lastTried':
        case 'nextBal':
          settled(meta.put(record.ballot, record.kind))
          break
        case 'vote':
          settled(votes.put(record.vote, record.vote.instance))
          break
        case 'issued':
          settled(issued.put(record.entry, record.entry.instance))
          // The vote at an issued instance is never needed again.
          settled(votes.delete(record.entry.instance))
          break
        case 'snapshot':
          settled(tx.objectStore('snapshot').put(record.snapshot, 'latest'))
          break
        case 'discard':
          // Out of sync (seed 000): the log and the snapshot are fetched again.
          settled(issued.clear())
          settled(tx.objectStore('snapshot').clear())
          break
        case 'clear':
          // Seed 001: the start-of-log pointer advances; what lies behind it goes.
          settled(issued.delete(IDBKeyRange.upperBound(record.before, true)))
          settled(votes.delete(IDBKeyRange.upperBound(record.before, true)))
          break
      }
    }
    await tx.done
  }

  /** Records held per store (the inspector, and tests that storage stays bounded). */
  async counts(): Promise<{ issued: number; votes: number }> {
    const tx = this.db.transaction(['issued', 'votes'], 'readonly')
    const [issued, votes] = await Promise.all([tx.objectStore('issued').count(), tx.objectStore('votes').count(), tx.done])
    return { issued, votes }
  }

  close(): void {
    this.db.close()
  }
}
