import * as z from 'zod/mini'

/**
 * Replica reports (issue 6 §4): what the inspector shows of every replica in
 * the room — its log (issued, voted, cleared), ballot, digest, message
 * counters — asked of each peer over the data channels when an inspector
 * is open, never through the log and never through signaling. A tab answers
 * `R?` with `R` + its report as JSON; an answer is checked against
 * `replicaReportSchema` like any input from a peer, and dropped (counted)
 * if it is not one.
 */
export const reportPrefix = 'R'
export const reportRequest = 'R?'
/** The largest report, as JSON characters. */
export const reportCharsMax = 8_192
/** A peer asking more often than this is answered once per interval (the rest are dropped and counted). */
export const reportIntervalMs = 250

// zod/mini, not zod: the same checks, about 7 KB gzip in the main thread's
// bundle instead of about 23 (classic zod's chainable methods keep most of
// the library alive). This is the main thread's only zod schema.
const id = z.string().check(z.minLength(1), z.maxLength(64))
const count = z.int().check(z.nonnegative())

export const replicaReportSchema = z.object({
  id,
  role: z.enum(['follower', 'candidate', 'leader']),
  leader: z.nullable(id),
  ballot: z.string().check(z.maxLength(48)),
  members: z.array(id).check(z.maxLength(64)),
  issuedUpTo: count,
  votedUpTo: count,
  /** Seed 001's start of the log: entries below it are cleared. */
  logStart: count,
  logSize: count,
  snapshotAt: count,
  /** Seed 000's digest of the state at issuedUpTo. */
  digest: z.string().check(z.maxLength(128)),
  /** The core's message and event counters (sent/received per type, drops). */
  counters: z.record(z.string().check(z.maxLength(64)), z.number()).check(z.refine((c) => Object.keys(c).length <= 256, 'at most 256 counters')),
  pendingCalls: count,
  writes: count,
  writeMsAverage: z.number().check(z.nonnegative()),
  connected: z.array(id).check(z.maxLength(64)),
  failed: z.nullable(z.string().check(z.maxLength(1_000))),
  /** This origin's storage use as the browser estimates it (every tab and database of the origin), or null. */
  storageBytes: z.nullable(count),
})

export type ReplicaReport = z.infer<typeof replicaReportSchema>

export interface ReportLink {
  send(to: string, message: string): void
  connectedPeers(): string[]
  /** This replica's report now. */
  local(): Promise<ReplicaReport>
}

export class Reports {
  private readonly listeners = new Set<(report: ReplicaReport) => void>()
  private readonly answeredAt = new Map<string, number>()
  /** Report messages dropped: malformed, too large, or asked too often. */
  dropped = 0

  constructor(private readonly link: ReportLink) {}

  /** Ask every peer with an open link for its report (answers go to onReport). */
  request(): void {
    for (const peer of this.link.connectedPeers()) this.link.send(peer, reportRequest)
  }

  onReport(listener: (report: ReplicaReport) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** A message from a peer: true if it was a report or a request for one (handled here). */
  receive(from: string, message: string, now: number): boolean {
    if (!message.startsWith(reportPrefix)) return false
    if (message === reportRequest) {
      const last = this.answeredAt.get(from)
      if (last !== undefined && now - last < reportIntervalMs) {
        this.dropped++
        return true
      }
      this.answeredAt.set(from, now)
      this.link.local().then((report) => this.link.send(from, reportPrefix + JSON.stringify(report)), () => {})
      return true
    }
    let report: ReplicaReport
    try {
      if (message.length > reportCharsMax + reportPrefix.length) throw new RangeError('too large')
      const parsed = replicaReportSchema.safeParse(JSON.parse(message.slice(reportPrefix.length)))
      // A peer speaks for itself only.
      if (!parsed.success || parsed.data.id !== from) throw new TypeError('not a report')
      report = parsed.data
    } catch {
      this.dropped++
      return true
    }
    for (const listener of this.listeners) listener(report)
    return true
  }

  /** Forget peers whose links closed (their rate limits). */
  onPeers(connected: readonly string[]): void {
    const now = new Set(connected)
    for (const peer of [...this.answeredAt.keys()]) if (!now.has(peer)) this.answeredAt.delete(peer)
  }

  close(): void {
    this.listeners.clear()
  }
}
