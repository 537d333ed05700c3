import type { Ballot } from './types.ts'

/**
 * Ballots are pairs (round, replicaId), totally ordered by round, then by
 * replica id ([0048]: the ballot-number space is partitioned among devices,
 * each owning the numbers that end in its own id).
 */

/** −∞: the value of lastTried and nextBal before any ballot ([0056]). */
export const ballotZero: Ballot = Object.freeze({ round: 0, replica: '' })

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1
  if (a.replica === b.replica) return 0
  return a.replica < b.replica ? -1 : 1
}

export function ballotEquals(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.replica === b.replica
}

export function ballotLess(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) < 0
}

export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a : b
}

export function formatBallot(b: Ballot): string {
  return b.round === 0 ? '-∞' : `${b.round}.${b.replica}`
}
