import type { Ballot, IssuedEntry, PersistRecord, Snapshot, StableState, Vote } from '@concord/core'
import { StorageCorruptError, type StableStorage } from '@concord/host'
import { crc32OfText } from './checksum.ts'
import { deleteDB, openDB, unwrap, type DBSchema, type IDBPDatabase } from 'idb'

/**
 * Stable storage of one browser replica in IndexedDB (issue 4 §3): one
 * database per replica, named `<app>/<room>/<replicaId>`; every record of one
 * Ready goes in one readwrite transaction with `durability: 'strict'` (group
 * commit; Chromium's default has been 'relaxed' since 121, and a vote or an
 * acknowledgement must not precede its record reaching the disk). The host
 * steps `persisted` only once `write` has resolved, so that messages that
 * depend on a record leave after it is durable.
 */
/**
 * Every value is stored sealed with a checksum over its store, its key and
 * its JSON (issue 9 §5): a record damaged on disk, or written by another
 * hand, is found when the replica loads and the replica does not start from
 * it (StorageCorruptError).
 */
export interface Sealed<T> {
  r: T
  c: number
}

interface Schema extends DBSchema {
  meta: { key: 'lastTried' | 'nextBal'; value: Sealed<Ballot> }
  votes: { key: number; value: Sealed<Vote> }
  issued: { key: number; value: Sealed<IssuedEntry> }
  /** The latest snapshot (seed 001), under the key 'latest'. */
  snapshot: { key: 'latest'; value: Sealed<Snapshot> }
}

type StoreName = 'meta' | 'votes' | 'issued' | 'snapshot'

/** Bumped when the stores change shape (2: the snapshot store; 3: every value sealed with a checksum). */
export const storageVersion = 3
const stores = ['meta', 'votes', 'issued', 'snapshot'] as const

export function databaseName(app: string, room: string, replicaId: string): string {
  return `${app}/${room}/${replicaId}`
}

function checksum(store: StoreName, key: IDBValidKey, value: unknown): number {
  return crc32OfText(`${store}/${String(key)}\n${JSON.stringify(value)}`)
}

export function seal<T>(store: StoreName, key: IDBValidKey, value: T): Sealed<T> {
  return { r: value, c: checksum(store, key, value) }
}

/** The value of a sealed record, or a StorageCorruptError saying which record is bad and how. */
export function unseal<T>(database: string, store: StoreName, key: IDBValidKey, sealed: unknown): T {
  const where = `${database}: ${store}/${String(key)}`
  if (typeof sealed !== 'object' || sealed === null || !('r' in sealed) || !('c' in sealed)) throw new StorageCorruptError(where, 'not a sealed record')
  if (sealed.c !== checksum(store, key, sealed.r)) throw new StorageCorruptError(where, 'checksum mismatch')
  return sealed.r as T
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

/** The stores a batch of records touches: the scope of its transaction. */
function storesOf(records: readonly PersistRecord[]): StoreName[] {
  const touched = new Set<StoreName>()
  for (const record of records) {
    switch (record.kind) {
      case 'lastTried':
      case 'nextBal':
        touched.add('meta')
        break
      case 'vote':
        touched.add('votes')
        break
      case 'issued':
      case 'clear':
        touched.add('issued').add('votes')
        break
      case 'snapshot':
        touched.add('snapshot')
        break
      case 'discard':
        touched.add('issued').add('snapshot')
        break
    }
  }
  return [...touched]
}

export class IdbStorage implements StableStorage {
  /** `created`: the database did not exist before this open (a new replica, or one whose storage was lost). */
  private constructor(private readonly db: IDBPDatabase<Schema>, readonly name: string, readonly created: boolean) {}

  static async open(name: string): Promise<IdbStorage> {
    let created = false
    const db = await openDB<Schema>(name, storageVersion, {
      async upgrade(database, oldVersion, _newVersion, transaction) {
        created = oldVersion === 0
        if (oldVersion < 1) {
          database.createObjectStore('meta')
          database.createObjectStore('votes')
          database.createObjectStore('issued')
        }
        if (oldVersion < 2) database.createObjectStore('snapshot')
        if (oldVersion >= 1 && oldVersion < 3) {
          // Version 2 stored bare values: seal each (a record damaged before
          // this cannot be told apart; from here on it can).
          for (const store of stores) {
            if (!database.objectStoreNames.contains(store)) continue
            for (let cursor = await transaction.objectStore(store).openCursor(); cursor !== null; cursor = await cursor.continue()) {
              await cursor.update(seal(store, cursor.key, cursor.value) as never)
            }
          }
        }
      },
    })
    return new IdbStorage(db, name, created)
  }

  /** Remove a replica's database (a replica removed from its room, tests). */
  static async destroy(name: string): Promise<void> {
    await deleteDB(name)
  }

  async load(): Promise<StableState> {
    const tx = this.db.transaction(stores, 'readonly')
    const [lastTried, nextBal, voteKeys, votes, issuedKeys, issued, snapshot] = await Promise.all([
      tx.objectStore('meta').get('lastTried'),
      tx.objectStore('meta').get('nextBal'),
      tx.objectStore('votes').getAllKeys(),
      tx.objectStore('votes').getAll(),
      tx.objectStore('issued').getAllKeys(),
      tx.objectStore('issued').getAll(),
      tx.objectStore('snapshot').get('latest'),
      tx.done,
    ])
    const zero: Ballot = { round: 0, replica: '' }
    const open = <T>(store: StoreName, key: IDBValidKey, value: unknown): T => unseal<T>(this.name, store, key, value)
    return {
      lastTried: lastTried === undefined ? zero : open('meta', 'lastTried', lastTried),
      nextBal: nextBal === undefined ? zero : open('meta', 'nextBal', nextBal),
      votes: votes.map((vote, i) => open<Vote>('votes', voteKeys[i]!, vote)),
      issued: issued.map((entry, i) => open<IssuedEntry>('issued', issuedKeys[i]!, entry)),
      snapshot: snapshot === undefined ? undefined : open<Snapshot>('snapshot', 'latest', snapshot),
    }
  }

  /**
   * The hot path, once per Ready: raw IndexedDB under idb's `unwrap`. idb
   * wraps every request in a promise with two listeners; a write needs only
   * the transaction's outcome (a failed request aborts it), and the
   * wrapping was a sixth of the worker's time per command in a 3-tab room.
   * The transaction spans only the stores its records touch: a vote, the
   * usual case, locks `votes` alone.
   */
  async write(records: readonly PersistRecord[]): Promise<void> {
    if (records.length === 0) return
    const tx = unwrap(this.db).transaction(storesOf(records), 'readwrite', { durability: durabilityOf(records) })
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'))
    })
    const store = (name: StoreName) => tx.objectStore(name)
    // The vote at an issued instance is never needed again: deleted in one
    // request per run of consecutive issued instances (a Ready's issued
    // commands are usually one run), not one per command.
    let run: [number, number] | null = null
    const deleteRun = () => {
      if (run !== null) store('votes').delete(run[0] === run[1] ? run[0] : IDBKeyRange.bound(run[0], run[1]))
      run = null
    }
    const issuedRun = (instance: number) => {
      if (run !== null && instance === run[1] + 1) run[1] = instance
      else {
        deleteRun()
        run = [instance, instance]
      }
    }
    // Requests are queued in order; the transaction commits them all or none.
    for (const record of records) {
      // Any other record's requests come after the deletes of the run before it: order is kept.
      if (record.kind !== 'issued') deleteRun()
      switch (record.kind) {
        case 'lastTried':
        case 'nextBal':
          store('meta').put(seal('meta', record.kind, record.ballot), record.kind)
          break
        case 'vote':
          store('votes').put(seal('votes', record.vote.instance, record.vote), record.vote.instance)
          break
        case 'issued':
          store('issued').put(seal('issued', record.entry.instance, record.entry), record.entry.instance)
          issuedRun(record.entry.instance)
          break
        case 'snapshot':
          store('snapshot').put(seal('snapshot', 'latest', record.snapshot), 'latest')
          break
        case 'discard':
          // Out of sync (seed 000): the log and the snapshot are fetched again.
          store('issued').clear()
          store('snapshot').clear()
          break
        case 'clear':
          // Seed 001: the start-of-log pointer advances; what lies behind it goes.
          store('issued').delete(IDBKeyRange.upperBound(record.before, true))
          store('votes').delete(IDBKeyRange.upperBound(record.before, true))
          break
      }
    }
    deleteRun()
    // Commit now rather than when the requests' results have come back to
    // this thread: one round trip to the IndexedDB backend less per write.
    tx.commit()
    await done
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
