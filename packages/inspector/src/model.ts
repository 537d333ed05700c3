import type { ReplicaReport, StoreStatus } from '@concord/client'

/**
 * What the inspector knows of a room (no DOM here: unit-tested): the latest
 * report of each replica, the message rate derived from two reports in a
 * row, the recent events read from changes of this tab's status, and the
 * samples of the timeline chart. Everything is bounded.
 */
export const eventsMax = 60
export const timelineSamplesMax = 120
/** A replica that has not reported for this long is shown as unreachable. */
export const reportStaleMs = 4_000

export type EventKind = 'election' | 'join' | 'leave' | 'network' | 'storage' | 'out-of-sync'

export interface InspectorEvent {
  at: number
  kind: EventKind
  text: string
}

export interface ReplicaRow {
  report: ReplicaReport
  at: number
  /** Messages received per second, from the last two reports (null after the first). */
  messagesPerSec: number | null
  stale: boolean
  /** Its digest differs from another replica's at the same issued instance (seed 000). */
  digestDiffers: boolean
}

export interface TimelineSample {
  at: number
  issued: Record<string, number>
  events: EventKind[]
}

const received = (report: ReplicaReport) => Object.entries(report.counters).reduce((n, [name, v]) => (name.startsWith('received.') ? n + v : n), 0)

export class InspectorModel {
  private readonly latest = new Map<string, { report: ReplicaReport; at: number; messagesPerSec: number | null }>()
  readonly events: InspectorEvent[] = []
  readonly samples: TimelineSample[] = []
  private pendingMarks: EventKind[] = []
  private last: StoreStatus | null = null

  /** A report of this replica or of a peer. */
  update(report: ReplicaReport, at: number): void {
    const before = this.latest.get(report.id)
    const seconds = before === undefined ? 0 : (at - before.at) / 1000
    const messagesPerSec = before !== undefined && seconds > 0 ? Math.max(0, (received(report) - received(before.report)) / seconds) : null
    this.latest.set(report.id, { report, at, messagesPerSec })
  }

  /** This tab's status, each refresh: what changed becomes an event. */
  observe(status: StoreStatus, at: number): void {
    const last = this.last
    this.last = status
    if (last === null) {
      // Where the timeline starts: the room as this tab first sees it.
      this.event(at, 'election', status.leader === null ? `no leader yet (${status.members.length} members)` : `${status.leader} leads, ballot ${status.ballot} (${status.members.length} members)`)
      return
    }
    if (status.leader !== last.leader || (status.ballot !== last.ballot && status.leader !== null)) {
      this.event(at, 'election', status.leader === null ? `no leader (ballot ${status.ballot})` : `${status.leader} leads, ballot ${status.ballot}`)
    }
    for (const id of status.members) if (!last.members.includes(id)) this.event(at, 'join', `${id} joined`)
    for (const id of last.members) if (!status.members.includes(id)) this.event(at, 'leave', `${id} left`)
    if (status.signaling !== last.signaling) this.event(at, 'network', `signaling ${status.signaling}`)
    for (const id of last.connected) if (!status.connected.includes(id)) this.event(at, 'network', `link to ${id} lost`)
    for (const id of status.connected) if (!last.connected.includes(id)) this.event(at, 'network', `link to ${id} open`)
    if (status.failed !== null && status.failed !== last.failed) this.event(at, 'storage', `storage: ${status.failed}`)
    if (status.recoveries > last.recoveries) this.event(at, 'storage', `recovered from a storage failure (${status.recoveries})`)
  }

  event(at: number, kind: EventKind, text: string): void {
    this.events.unshift({ at, kind, text })
    if (this.events.length > eventsMax) this.events.length = eventsMax
    this.pendingMarks.push(kind)
  }

  /** One point of the timeline: every replica's issued instance now. */
  sample(at: number): void {
    const issued: Record<string, number> = {}
    for (const [id, { report, at: reportedAt }] of this.latest) if (at - reportedAt < reportStaleMs) issued[id] = report.issuedUpTo
    this.samples.push({ at, issued, events: this.pendingMarks })
    this.pendingMarks = []
    if (this.samples.length > timelineSamplesMax) this.samples.shift()
  }

  /** The replicas to show: this room's members and whoever reported, members first. */
  rows(members: readonly string[], at: number): ReplicaRow[] {
    const ids = [...new Set([...members, ...this.latest.keys()])]
    const byIssued = new Map<number, Set<string>>()
    for (const { report } of this.latest.values()) {
      const digests = byIssued.get(report.issuedUpTo) ?? new Set()
      digests.add(report.digest)
      byIssued.set(report.issuedUpTo, digests)
    }
    const rows: ReplicaRow[] = []
    for (const id of ids) {
      const entry = this.latest.get(id)
      if (entry === undefined) continue
      rows.push({
        report: entry.report,
        at: entry.at,
        messagesPerSec: entry.messagesPerSec,
        stale: at - entry.at >= reportStaleMs,
        digestDiffers: (byIssued.get(entry.report.issuedUpTo)?.size ?? 1) > 1,
      })
    }
    return rows
  }

  /** Forget a replica that left the room and stopped reporting. */
  forget(members: readonly string[], at: number): void {
    for (const [id, entry] of this.latest) if (!members.includes(id) && at - entry.at >= reportStaleMs) this.latest.delete(id)
  }
}

/**
 * What a user must know now, in words, or null: a storage failure (a full
 * disk included), a lost signaling server, peers out of reach, no majority.
 */
export function problemOf(status: StoreStatus): { level: 'error' | 'warning'; text: string } | null {
  if (status.failed !== null) {
    return { level: 'error', text: `Storage failed: ${status.failed}. ${status.recoveries > 0 || /quota|full/i.test(status.failed) ? 'This tab keeps its state on screen and retries; free some disk space if the disk is full.' : 'This tab keeps its state on screen and retries.'}` }
  }
  const others = status.members.filter((id) => id !== status.replicaId)
  const unreachable = others.filter((id) => !status.connected.includes(id))
  const reachable = status.members.length - unreachable.length
  if (status.members.length > 1 && reachable * 2 <= status.members.length) {
    return { level: 'error', text: `No majority of the room is reachable (${reachable} of ${status.members.length} replicas${unreachable.length > 0 ? `; out of reach: ${unreachable.join(', ')}` : ''}). You still see the last state; calls wait and run when enough tabs are back.` }
  }
  if (status.signaling !== 'open') {
    return { level: 'warning', text: `The signaling server is unreachable (${status.signaling}). Open links keep working; new tabs cannot join until it is back. Reconnecting…` }
  }
  if (unreachable.length > 0) {
    return { level: 'warning', text: `Lost contact with ${unreachable.join(', ')}. The room goes on with the others; a tab that does not come back is removed.` }
  }
  return null
}
