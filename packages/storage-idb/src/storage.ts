/// <reference path="../../../types/pako.d.ts" />
import type { Ballot, IssuedEntry, PersistRecord, Snapshot, StableState, Vote } from '@concord/core'
import { StorageCorruptError, type StableStorage } from '@concord/host'
import { crc32OfText } from './checksum.ts'
import { deleteDB, openDB, unwrap, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb'
import pako from 'pako'

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

/**
 * A sealed value kept deflated: `z` is its JSON, raw-deflated; `c` the
 * same checksum as Sealed's (over the JSON before deflating). Issued
 * commands and snapshots are stored so once their JSON passes
 * deflateAboveChars: they are most of what a replica keeps, and JSON
 * compresses 3-5× (votes stay plain: they are on the commit's critical
 * path and are deleted within milliseconds).
 */
export interface SealedDeflated {
  z: Uint8Array
  c: number
}

/** Issued commands and snapshots whose JSON is longer than this are stored deflated. */
export const deflateAboveChars = 256
const deflatedStores: ReadonlySet<StoreName> = new Set(['issued', 'snapshot'])

/**
 * Votes and issued commands are stored a batch per write (storage version
 * 4): the votes of one write are one record, its issued commands another,
 * both under the write's sequence number. Chromium's IndexedDB costs about
 * 0.15-0.2 ms of the browser's CPU per record put, on top of the commit:
 * a write of 32 votes and 32 issued commands took 11 ms as 64 records and
 * 2.2 ms as two (measured on a profile on disk). Under load that per-record
 * cost was the largest CPU consumer of a 3-tab room.
 */
interface Schema extends DBSchema {
  /** Ballots, and where the log starts (seed 001: the last clear; votes and issued commands below it are not loaded). */
  meta: { key: 'lastTried' | 'nextBal' | 'logStart'; value: Sealed<Ballot> | Sealed<number> }
  votes: { key: number; value: Sealed<Vote[]> }
  issued: { key: number; value: Sealed<IssuedEntry[]> | SealedDeflated }
  /** The latest snapshot (seed 001), under the key 'latest'. */
  snapshot: { key: 'latest'; value: Sealed<Snapshot> | SealedDeflated }
}

type StoreName = 'meta' | 'votes' | 'issued' | 'snapshot'

/** Bumped when the stores change shape (2: the snapshot store; 3: every value sealed with a checksum; 4: votes and issued commands a batch per write). */
export const storageVersion = 4
const stores = ['meta', 'votes', 'issued', 'snapshot'] as const

export function databaseName(app: string, room: string, replicaId: string): string {
  return `${app}/${room}/${replicaId}`
}

function checksumOfJson(store: StoreName, key: IDBValidKey, json: string): number {
  return crc32OfText(`${store}/${String(key)}\n${json}`)
}

const utf8 = new TextEncoder()

/** A value as stored: with its checksum, and deflated if it is an issued batch or a snapshot of some size. */
export function seal<T>(store: StoreName, key: IDBValidKey, value: T): Sealed<T> | SealedDeflated {
  const json = JSON.stringify(value)
  const c = checksumOfJson(store, key, json)
  if (json.length > deflateAboveChars && deflatedStores.has(store)) {
    // A window and hash sized to the value: deflate's set-up for its full
    // 32 KiB window was most of the cost of a small batch (130 µs against
    // 55 for 750 characters, measured in Node), for the same output.
    const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(json.length + 1))))
    return { z: pako.deflateRaw(utf8.encode(json), { windowBits, memLevel: Math.max(1, Math.min(8, windowBits - 6)) }), c }
  }
  return { r: value, c }
}

/** The value of a sealed record, or a StorageCorruptError saying which record is bad and how. */
export function unseal<T>(database: string, store: StoreName, key: IDBValidKey, sealed: unknown): T {
  const where = `${database}: ${store}/${String(key)}`
  if (typeof sealed !== 'object' || sealed === null || !('c' in sealed)) throw new StorageCorruptError(where, 'not a sealed record')
  if ('z' in sealed && sealed.z instanceof Uint8Array) {
    let json: string
    try {
      json = pako.inflateRaw(sealed.z, { to: 'string' })
    } catch {
      throw new StorageCorruptError(where, 'does not inflate')
    }
    if (sealed.c !== checksumOfJson(store, key, json)) throw new StorageCorruptError(where, 'checksum mismatch')
    return JSON.parse(json) as T
  }
  if (!('r' in sealed)) throw new StorageCorruptError(where, 'not a sealed record')
  if (sealed.c !== checksumOfJson(store, key, JSON.stringify(sealed.r))) throw new StorageCorruptError(where, 'checksum mismatch')
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

/**
 * Where the stored batches stand, kept in memory beside them (rebuilt by
 * load): the votes that still count and the batch that holds each, and the
 * highest instance of each issued batch. A vote counts until an issued
 * command at its instance is written after it, a later vote replaces it, or
 * the log is cleared past it; a batch none of whose votes counts is deleted
 * in the write that makes it so (the transaction of the records that
 * retire it).
 */
class BatchIndex {
  /** Vote batch → the instances whose vote in it still counts. */
  readonly voteBatches = new Map<number, Set<number>>()
  /** Instance → the vote that counts there, and its batch. */
  readonly live = new Map<number, { vote: Vote; batch: number }>()
  /** Issued batch → its highest instance. */
  readonly issuedBatches = new Map<number, number>()

  /** The vote at `instance` (if stored) no longer counts; returns its batch if that is now empty. */
  retireVote(instance: number): number | null {
    const held = this.live.get(instance)
    if (held === undefined) return null
    this.live.delete(instance)
    const counting = this.voteBatches.get(held.batch)!
    counting.delete(instance)
    if (counting.size > 0) return null
    this.voteBatches.delete(held.batch)
    return held.batch
  }
}

/** What one write does, planned before its transaction opens (so that its scope is exact). */
interface WritePlan {
  meta: ['lastTried' | 'nextBal', Ballot][]
  /** The log's new start (a clear), or 0 after a discard; null if unchanged. */
  logStart: number | null
  votes: Map<number, Vote>
  issued: IssuedEntry[]
  snapshot: Snapshot | null
  clearIssued: boolean
  deleteVoteBatches: number[]
  deleteIssuedBatches: number[]
}

/** Version changes of a replica's database (the stores' shapes: storageVersion). */
async function upgrade(database: IDBPDatabase<Schema>, oldVersion: number, transaction: IDBPTransaction<Schema, StoreName[], 'versionchange'>): Promise<void> {
  if (oldVersion < 1) {
    database.createObjectStore('meta')
    database.createObjectStore('votes')
    database.createObjectStore('issued')
  }
  if (oldVersion < 2) database.createObjectStore('snapshot')
  if (oldVersion >= 1 && oldVersion < 3) {
    // Version 2 stored bare values: seal each (a record damaged before
    // this cannot be told apart; from here on it can).
    for (const store of ['meta', 'snapshot'] as const) {
      if (!database.objectStoreNames.contains(store)) continue
      for (let cursor = await transaction.objectStore(store).openCursor(); cursor !== null; cursor = await cursor.continue()) {
        await cursor.update(seal(store, cursor.key, cursor.value) as never)
      }
    }
  }
  if (oldVersion >= 1 && oldVersion < 4) {
    // Versions 1-3 kept a record per instance: all issued commands
    // become batch 1, all votes batch 2 (after them: a vote stored
    // beside an issued command at its instance was written after it).
    const database_ = transaction.db.name
    for (const [store, batch] of [['issued', 1], ['votes', 2]] as const) {
      const values: unknown[] = []
      for (let cursor = await transaction.objectStore(store).openCursor(); cursor !== null; cursor = await cursor.continue()) {
        values.push(oldVersion < 3 ? cursor.value : unseal(database_, store, cursor.key, cursor.value))
      }
      await transaction.objectStore(store).clear()
      if (values.length > 0) await transaction.objectStore(store).put(seal(store, batch, values) as never, batch)
    }
  }
}

export class IdbStorage implements StableStorage {
  private index = new BatchIndex()
  /** The next write's sequence number: the key of its batches. */
  private nextBatch = 1
  /** Vote batches found empty on load, deleted by the next write. */
  private garbage: number[] = []
  /** Where the log starts (the last clear; 0 after a discard): the core never votes below it. */
  private logStart = 0
  /** A write failed: the index may no longer match the disk (the host stops and reopens). */
  private broken: unknown = null

  /** `created`: the database did not exist before this open (a new replica, or one whose storage was lost). */
  private constructor(private readonly db: IDBPDatabase<Schema>, readonly name: string, readonly created: boolean) {}

  static async open(name: string): Promise<IdbStorage> {
    let created = false
    // idb ignores a failed upgrade callback (the version change would commit
    // half-converted): a conversion that fails aborts it, the database stays
    // as it was, and open rejects with the conversion's error.
    let upgradeFailure: unknown = null
    const db = await openDB<Schema>(name, storageVersion, {
      async upgrade(database, oldVersion, _newVersion, transaction) {
        try {
          await upgrade(database, oldVersion, transaction)
        } catch (error) {
          upgradeFailure = error
          transaction.done.catch(() => {}) // it rejects with the abort; open reports the cause
          transaction.abort()
        }
        created = oldVersion === 0
      },
    }).catch((error: unknown) => {
      throw upgradeFailure ?? error
    })
    return new IdbStorage(db, name, created)
  }

  /** Remove a replica's database (a replica removed from its room, tests). */
  static async destroy(name: string): Promise<void> {
    await deleteDB(name)
  }

  async load(): Promise<StableState> {
    const read = await this.read()
    this.index = read.index
    this.nextBatch = read.nextBatch
    this.garbage = read.garbage
    this.logStart = read.logStart
    return read.state
  }

  /** What the stores hold, as the core reloads it, and the index of their batches. */
  private async read(): Promise<{ state: StableState; index: BatchIndex; nextBatch: number; garbage: number[]; logStart: number }> {
    const index = new BatchIndex()
    let nextBatch = 1
    const garbage: number[] = []
    const tx = this.db.transaction(stores, 'readonly')
    const [lastTried, nextBal, sealedLogStart, voteKeys, voteBatches, issuedKeys, issuedBatches, snapshot] = await Promise.all([
      tx.objectStore('meta').get('lastTried'),
      tx.objectStore('meta').get('nextBal'),
      tx.objectStore('meta').get('logStart'),
      tx.objectStore('votes').getAllKeys(),
      tx.objectStore('votes').getAll(),
      tx.objectStore('issued').getAllKeys(),
      tx.objectStore('issued').getAll(),
      tx.objectStore('snapshot').get('latest'),
      tx.done,
    ])
    const zero: Ballot = { round: 0, replica: '' }
    const open = <T>(store: StoreName, key: IDBValidKey, value: unknown): T => unseal<T>(this.name, store, key, value)
    const openBatch = <T>(store: 'votes' | 'issued', key: number, value: unknown): T[] => {
      const batch = open<unknown>(store, key, value)
      if (!Array.isArray(batch)) throw new StorageCorruptError(`${this.name}: ${store}/${key}`, 'not a batch')
      return batch as T[]
    }
    const logStart = sealedLogStart === undefined ? 0 : open<number>('meta', 'logStart', sealedLogStart)
    // Replay the batches in write order: a vote replaces an earlier one at
    // its instance; an issued command retires the votes written before it;
    // nothing below the start of the log counts (a batch may reach past it).
    const votes = new Map<number, { vote: Vote; batch: number }>()
    const issued = new Map<number, IssuedEntry>()
    const batches = [...voteKeys.map((key, i) => ({ key, votes: voteBatches[i] })), ...issuedKeys.map((key, i) => ({ key, issued: issuedBatches[i] }))]
    // Same key: issued first; a write's votes were planned after its issued commands retired theirs.
    batches.sort((a, b) => a.key - b.key || ('issued' in a ? -1 : 1))
    for (const batch of batches) {
      if ('issued' in batch) {
        let highest = 0
        for (const entry of openBatch<IssuedEntry>('issued', batch.key, batch.issued)) {
          highest = Math.max(highest, entry.instance)
          if (entry.instance < logStart) continue
          issued.set(entry.instance, entry)
          const held = votes.get(entry.instance)
          if (held !== undefined && held.batch < batch.key) votes.delete(entry.instance)
        }
        index.issuedBatches.set(batch.key, highest)
      } else {
        index.voteBatches.set(batch.key, new Set())
        for (const vote of openBatch<Vote>('votes', batch.key, batch.votes)) if (vote.instance >= logStart) votes.set(vote.instance, { vote, batch: batch.key })
      }
      nextBatch = Math.max(nextBatch, batch.key + 1)
    }
    for (const [instance, held] of votes) {
      index.live.set(instance, held)
      index.voteBatches.get(held.batch)!.add(instance)
    }
    for (const [batch, live] of index.voteBatches) {
      if (live.size > 0) continue
      index.voteBatches.delete(batch)
      garbage.push(batch)
    }
    const state: StableState = {
      lastTried: lastTried === undefined ? zero : open<Ballot>('meta', 'lastTried', lastTried),
      nextBal: nextBal === undefined ? zero : open<Ballot>('meta', 'nextBal', nextBal),
      votes: [...votes.values()].map((v) => v.vote),
      issued: [...issued.values()],
      snapshot: snapshot === undefined ? undefined : open<Snapshot>('snapshot', 'latest', snapshot),
    }
    return { state, index, nextBatch, garbage, logStart }
  }

  /** Fold a Ready's records into one write: the batches to put, and the older ones they retire. */
  private plan(records: readonly PersistRecord[], batch: number): WritePlan {
    const plan: WritePlan = { meta: [], logStart: null, votes: new Map(), issued: [], snapshot: null, clearIssued: false, deleteVoteBatches: this.garbage, deleteIssuedBatches: [] }
    this.garbage = []
    const retire = (instance: number) => {
      if (plan.votes.delete(instance)) return
      const empty = this.index.retireVote(instance)
      if (empty !== null) plan.deleteVoteBatches.push(empty)
    }
    for (const record of records) {
      switch (record.kind) {
        case 'lastTried':
        case 'nextBal':
          plan.meta.push([record.kind, record.ballot])
          break
        case 'vote':
          retire(record.vote.instance)
          plan.votes.set(record.vote.instance, record.vote)
          break
        case 'issued':
          // The vote at an issued instance is never needed again.
          retire(record.entry.instance)
          plan.issued.push(record.entry)
          break
        case 'snapshot':
          plan.snapshot = record.snapshot
          break
        case 'discard':
          // Out of sync (seed 000): the log and the snapshot are fetched
          // again; the votes stay. The votes that count are written afresh
          // and every older batch goes: with the issued commands that retired
          // them gone, a retired vote would count again on load, and an older
          // vote at a lower ballot than the one this replica last cast there
          // must never be reported as its latest.
          plan.clearIssued = true
          plan.issued = []
          plan.snapshot = null
          plan.logStart = this.logStart = 0
          this.index.issuedBatches.clear()
          for (const key of this.index.voteBatches.keys()) plan.deleteVoteBatches.push(key)
          this.index.voteBatches.clear()
          for (const [instance, { vote }] of this.index.live) if (!plan.votes.has(instance)) plan.votes.set(instance, vote)
          this.index.live.clear()
          break
        case 'clear': {
          // Seed 001: the start-of-log pointer advances; what lies behind it
          // goes (a batch reaching past it stays until a later clear).
          for (const [key, highest] of this.index.issuedBatches) {
            if (highest >= record.before) continue
            this.index.issuedBatches.delete(key)
            plan.deleteIssuedBatches.push(key)
          }
          plan.issued = plan.issued.filter((e) => e.instance >= record.before)
          plan.logStart = this.logStart = Math.max(this.logStart, record.before)
          for (const instance of [...this.index.live.keys()]) if (instance < record.before) retire(instance)
          for (const instance of [...plan.votes.keys()]) if (instance < record.before) plan.votes.delete(instance)
          break
        }
      }
    }
    if (plan.votes.size > 0) {
      this.index.voteBatches.set(batch, new Set(plan.votes.keys()))
      for (const [instance, vote] of plan.votes) this.index.live.set(instance, { vote, batch })
    }
    if (plan.issued.length > 0) this.index.issuedBatches.set(batch, plan.issued.reduce((highest, e) => Math.max(highest, e.instance), 0))
    return plan
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
    if (this.broken !== null) throw this.broken
    if (records.length === 0) return
    const batch = this.nextBatch++
    try {
      const plan = this.plan(records, batch)
      // Every value is sealed (and deflated) before the transaction opens:
      // a throw half-way must not leave a transaction that commits the
      // deletes queued before it (a vote batch deleted, its successor never put).
      const puts: [StoreName, IDBValidKey, unknown][] = []
      for (const [key, ballot] of plan.meta) puts.push(['meta', key, seal('meta', key, ballot)])
      if (plan.logStart !== null) puts.push(['meta', 'logStart', seal('meta', 'logStart', plan.logStart)])
      if (plan.votes.size > 0) puts.push(['votes', batch, seal('votes', batch, [...plan.votes.values()])])
      if (plan.issued.length > 0) puts.push(['issued', batch, seal('issued', batch, plan.issued)])
      if (plan.snapshot !== null) puts.push(['snapshot', 'latest', seal('snapshot', 'latest', plan.snapshot)])
      // The transaction spans the stores it puts to, deletes from or clears.
      const scope = new Set<StoreName>(puts.map(([name]) => name))
      if (plan.deleteVoteBatches.length > 0) scope.add('votes')
      if (plan.deleteIssuedBatches.length > 0) scope.add('issued')
      if (plan.clearIssued) scope.add('issued').add('snapshot')
      if (scope.size === 0) return
      const tx = unwrap(this.db).transaction([...scope], 'readwrite', { durability: durabilityOf(records) })
      const done = new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve()
        tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'))
      })
      try {
        const store = (name: StoreName) => tx.objectStore(name)
        // The transaction commits all of these or none. Clears and deletes
        // go first: a discard's clear must not take this write's own values.
        if (plan.clearIssued) {
          store('issued').clear()
          store('snapshot').clear()
        }
        for (const key of plan.deleteVoteBatches) store('votes').delete(key)
        for (const key of plan.deleteIssuedBatches) store('issued').delete(key)
        for (const [name, key, value] of puts) store(name).put(value, key)
        // Commit now rather than when the requests' results have come back to
        // this thread: one round trip to the IndexedDB backend less per write.
        tx.commit()
      } catch (error) {
        done.catch(() => {})
        try {
          tx.abort()
        } catch {
          // Already finished: it failed on its own, and says so through done.
        }
        throw error
      }
      await done
    } catch (error) {
      this.broken = error
      throw error
    }
  }

  /** Votes and issued commands a load would hand the core (tests that storage stays bounded). */
  async counts(): Promise<{ issued: number; votes: number }> {
    const { state } = await this.read()
    return { issued: state.issued.length, votes: state.votes.length }
  }

  close(): void {
    this.db.close()
  }
}
