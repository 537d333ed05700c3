import { assert } from './assert.ts'
import { ballotEquals, compareBallots } from './ballot.ts'
import type { Command, CommandId, Instance, Proposal, Vote } from './types.ts'

/**
 * InitHistProc ([0057] step 3, condition B3(I,β) of [0052]), pure.
 *
 * Starting at `from`, the lowest instance whose issued command the leader
 * does not know, and going through consecutive instances: at instance m pick,
 * among the reported votes whose command is *anchored* — its precedent is the
 * command issued at m−1, or H's entry at m−1 — the one cast in the highest
 * ballot ([0053] ballot #43: "the valid command from the latest ballot is
 * chosen"); stop at the first instance with none ([0057] step (b)). Instances
 * whose issued command the leader already knows are passed through: they are
 * not re-proposed, but they anchor the next instance.
 *
 * `issued(m)` returns the known issued command at m (m = from − 1 must be
 * known: instance 0 is the null command). `votes(m)` returns every vote
 * reported at m by the BallotInfo messages of the leader's majority.
 */
export interface HistoryInput {
  from: Instance
  issued: (instance: Instance) => Command | undefined
  precedentOfFrom: CommandId
  votes: (instance: Instance) => readonly Vote[]
}

export interface HistoryResult {
  /** H: (instance, command) pairs to re-propose, in instance order. */
  history: Proposal[]
  /** The first instance free for a new command. */
  nextCommandNo: Instance
  /** The id of the command at nextCommandNo − 1: the precedent of the next new command. */
  lastCommandId: CommandId
}

export function initHistProc(input: HistoryInput): HistoryResult {
  const history: Proposal[] = []
  let previous = input.precedentOfFrom
  let m = input.from
  for (;;) {
    const known = input.issued(m)
    if (known !== undefined) {
      // A known issued command is always anchored: it is the only command that
      // can follow what is issued (or chosen) at m−1.
      assert(known.prec === previous, `issued command ${known.id} at ${m} does not follow ${previous}`)
      previous = known.id
      m++
      continue
    }
    const chosen = chooseAnchoredVote(input.votes(m), previous)
    if (chosen === undefined) break // (b): no suitable vote, the procedure ends
    history.push({ instance: m, command: chosen.command }) // (a)
    previous = chosen.command.id
    m++
  }
  return { history, nextCommandNo: m, lastCommandId: previous }
}

/** The anchored vote from the highest ballot, or undefined (rule (a)). */
export function chooseAnchoredVote(votes: readonly Vote[], precedent: CommandId): Vote | undefined {
  let best: Vote | undefined
  for (const vote of votes) {
    if (vote.command.prec !== precedent) continue
    if (best === undefined) {
      best = vote
      continue
    }
    const order = compareBallots(vote.ballot, best.ballot)
    if (order > 0) best = vote
    else if (order === 0) {
      // B1: a ballot proposes one command per instance.
      assert(ballotEquals(vote.ballot, best.ballot) && vote.command.id === best.command.id,
        `two commands in one ballot at instance ${vote.instance}`)
    }
  }
  return best
}
