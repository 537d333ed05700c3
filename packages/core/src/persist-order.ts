import type { PersistRecord } from './types.ts'

/**
 * The persistence contract's one freedom (hosts may use it; none must):
 * issued records may become durable after records that follow them.
 *
 * Why it is safe: no message waits for an issued record (a Success reports
 * a command already durable on the majority that voted for it; only
 * NextBallot, BallotInfo and Voted wait, on lastTried, nextBal and the
 * vote), so `persisted` may be stepped once the rest of a batch is durable.
 * A crash before the issued records land leaves the replica with its votes
 * at those instances and without the entries: it learns them again from a
 * peer, as after a crash just before they were written.
 *
 * Why it is worth it: in a browser with its profile on disk, a strict
 * IndexedDB commit of one vote in one object store took 0.8-1.0 ms, and
 * 1.2-1.6 ms with the previous command's issued entry in a second store
 * beside it; with another tab's commit at the same time (the leader's and
 * a follower's), 1.6-1.9 against 2.4-2.9 ms. The vote is on a call's
 * critical path; the issued entry is not. In a room of 3 tabs, paired runs
 * gave a leader's call p50 5.3 against 6.0 ms and 5.9 against 6.9 ms.
 *
 * Only batches whose other records do not depend on the issued ones before
 * them may be split: a snapshot, clear or discard is written in order with
 * everything before it (an issued entry written after a clear or discard
 * would bring back what they removed), and so is an issued reconfiguration
 * (a command with `members`). A vote after a reconfiguration was cast under
 * the new members; a replica that restarted with that vote on disk but not
 * the reconfiguration would find it in its history, refuse to lead past a
 * reconfiguration it has not applied, and wait to catch up on one no peer
 * may hold (simulator seed 21929: the room stopped). Returns null when
 * there is nothing to split: no issued record, or nothing else, or such a
 * record.
 */
export function splitIssued(records: readonly PersistRecord[]): { first: PersistRecord[]; issued: PersistRecord[] } | null {
  const first: PersistRecord[] = []
  const issued: PersistRecord[] = []
  for (const record of records) {
    switch (record.kind) {
      case 'issued':
        if (record.entry.command.members !== undefined) return null
        issued.push(record)
        break
      case 'vote':
      case 'lastTried':
      case 'nextBal':
        first.push(record)
        break
      case 'snapshot':
      case 'clear':
      case 'discard':
        return null
    }
  }
  return first.length === 0 || issued.length === 0 ? null : { first, issued }
}
