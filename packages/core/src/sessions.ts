import { assert } from './assert.ts'
import { sessionResultsMax, sessionsMax } from './constants.ts'
import type { Instance, SessionsData, Ticket } from './types.ts'

/**
 * The replicated ticket table (seed 003, ours). Seed 003 has servers claim a
 * ticket by a broadcast vote so that exactly one server handles it; we claim
 * it through the log instead: a command carries its call's ticket, and
 * applying it records the result here, in instance order, on every replica.
 * A call re-sent to a new leader (or through another replica) therefore runs
 * at most once. Where the seed rejects a duplicate, we answer it with the
 * first call's result.
 *
 * Bounded: per client the results of unacknowledged calls only (the ticket's
 * `acked` lets us forget the rest), and at most `sessionsMax` clients; the
 * client applied least recently is forgotten first (found by a scan, which
 * only a new client in a full table pays). Every replica evicts the same
 * client at the same instance, so the table stays identical.
 */
interface Session {
  acked: number
  results: Map<number, { outcome: CallOutcome; instance: Instance }>
  lastInstance: Instance
}

/** How a call ended, as the log recorded it. */
export type CallOutcome = { ok: true; result: unknown } | { ok: false; code: string; reason: string }

export type TicketLookup = { kind: 'new' } | { kind: 'done'; outcome: CallOutcome; instance: Instance } | { kind: 'stale' }

export class Sessions {
  private readonly sessions = new Map<string, Session>()

  lookup(ticket: Ticket): TicketLookup {
    const session = this.sessions.get(ticket.client)
    if (session === undefined) return { kind: 'new' }
    const done = session.results.get(ticket.seq)
    if (done !== undefined) return { kind: 'done', ...done }
    if (ticket.seq < session.acked) return { kind: 'stale' }
    return { kind: 'new' }
  }

  /** Whether the client has room for one more unacknowledged call. */
  hasRoom(ticket: Ticket): boolean {
    return ticket.seq - Math.max(ticket.acked, this.sessions.get(ticket.client)?.acked ?? 0) < sessionResultsMax
  }

  record(ticket: Ticket, outcome: CallOutcome, instance: Instance): void {
    let session = this.sessions.get(ticket.client)
    if (session === undefined) {
      if (this.sessions.size >= sessionsMax) this.evictOldest()
      session = { acked: 0, results: new Map(), lastInstance: instance }
      this.sessions.set(ticket.client, session)
    }
    session.lastInstance = instance
    if (ticket.acked > session.acked) {
      session.acked = ticket.acked
      // Results are inserted in about seq order: drop from the front.
      for (const seq of session.results.keys()) {
        if (seq >= session.acked) break
        session.results.delete(seq)
      }
    }
    session.results.set(ticket.seq, { outcome, instance })
    // The leader refuses calls beyond the window (hasRoom), so this can only
    // trip on a client that broke its own acked promise; stay bounded anyway.
    while (session.results.size > sessionResultsMax) {
      const oldest = session.results.keys().next()
      assert(!oldest.done, 'results map cannot be empty here')
      session.results.delete(oldest.value)
    }
  }

  /** The table as data, in its own order (snapshots, seed 001). */
  toData(): SessionsData {
    const data: SessionsData = []
    for (const [client, session] of this.sessions) {
      const results: SessionsData[number][3] = []
      for (const [seq, { outcome, instance }] of session.results) results.push([seq, instance, outcome])
      data.push([client, session.acked, session.lastInstance, results])
    }
    return data
  }

  /** Replace the table with one taken by `toData` (already validated). */
  load(data: SessionsData): void {
    this.sessions.clear()
    for (const [client, acked, lastInstance, results] of data) {
      const map = new Map<number, { outcome: CallOutcome; instance: Instance }>()
      for (const [seq, instance, outcome] of results) map.set(seq, { outcome: outcome as CallOutcome, instance })
      this.sessions.set(client, { acked, results: map, lastInstance })
    }
  }

  get size(): number {
    return this.sessions.size
  }

  private evictOldest(): void {
    let oldest: string | undefined
    let oldestInstance = Infinity
    for (const [client, session] of this.sessions) {
      if (session.lastInstance < oldestInstance) {
        oldest = client
        oldestInstance = session.lastInstance
      }
    }
    assert(oldest !== undefined, 'evicting from an empty session table')
    this.sessions.delete(oldest)
  }
}

export function ticketKey(ticket: Ticket): string {
  return `${ticket.client}#${ticket.seq}`
}
