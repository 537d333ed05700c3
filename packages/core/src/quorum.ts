import type { ReplicaId } from './types.ts'

/**
 * Seed 004's quorum rule, carried into Paxos (ours): relative to a
 * membership of N, a set of members may go on when it holds more than half
 * of them, or exactly half including the crown prince — the member with the
 * highest priority, which every replica computes from the membership alone.
 * Any two such sets intersect (two halves both hold the prince; a half and
 * more than half, or two more-than-halves, overlap by counting), so this is
 * a Paxos quorum system: it serves phase 1 and phase 2 alike, and for an
 * even N it lets the prince's half of a split go on where a plain majority
 * would stop both halves (seed 004 FIG. 9, scenarios M6a–c). With N = 2 the
 * prince alone is a quorum: our replacement for the seed's shared quorum
 * device or operator (M7b; a deviation, recorded in DESIGN notes).
 */
export class QuorumSystem {
  readonly members: readonly ReplicaId[]
  readonly crownPrince: ReplicaId
  private readonly memberSet: ReadonlySet<ReplicaId>

  constructor(members: readonly ReplicaId[]) {
    this.members = members
    this.memberSet = new Set(members)
    this.crownPrince = crownPrince(members)
  }

  get size(): number {
    return this.members.length
  }

  has(id: ReplicaId): boolean {
    return this.memberSet.has(id)
  }

  /** Whether `count` distinct members, the prince among them or not, go on. */
  isQuorumCount(count: number, withPrince: boolean): boolean {
    const n = this.members.length
    return 2 * count > n || (2 * count === n && withPrince)
  }

  /** Whether these ids (duplicates and non-members are ignored) form a
   *  quorum. Called on every step and every vote: it allocates nothing for
   *  an array (the sets it is given hold a few ids, so the duplicate check
   *  is a scan). */
  isQuorum(ids: Iterable<ReplicaId>): boolean {
    const list = Array.isArray(ids) ? (ids as readonly ReplicaId[]) : [...ids]
    let count = 0
    let prince = false
    for (let i = 0; i < list.length; i++) {
      const id = list[i]!
      if (!this.memberSet.has(id) || list.indexOf(id) !== i) continue
      count++
      if (id === this.crownPrince) prince = true
    }
    return this.isQuorumCount(count, prince)
  }

  /** The smallest quorum size (with the prince). */
  get smallest(): number {
    return Math.floor(this.members.length / 2) + (this.members.length % 2 === 0 ? 0 : 1)
  }
}

/**
 * The highest-priority member: in the seed, the highest node id. Ids compare
 * by length, then by code units, so that s10 ranks above s9 and the order is
 * the same on every replica (no locale involved).
 */
export function crownPrince(members: readonly ReplicaId[]): ReplicaId {
  let best = members[0] ?? ''
  for (const id of members) if (id.length > best.length || (id.length === best.length && id > best)) best = id
  return best
}
