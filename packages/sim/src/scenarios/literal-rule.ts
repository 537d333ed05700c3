import type { Message } from '@concord/core'
import { Harness } from '../harness.ts'
import { counter } from '../models.ts'

/**
 * Why the issue rule needs the lock-ballot condition (replica.ts, tryIssue).
 *
 * Seed 002 says d is issued at m when a majority voted d in one ballot at m
 * and d's precedent is issued at m−1. Below, five replicas R1..R5, instances
 * 1 and 2:
 *   b  = 2.R1: x@1 voted by R1 only; d@2 (prec x) voted by R1, R2, R3 — a
 *              majority, and R3 counts all three Voted;
 *   b' = 3.R4: {R4,R5,R2} report no vote at 1 → y@1 (new), voted by R4 only;
 *   b''= 4.R5: {R5,R4,R1}: at 1 y (3.R4) beats x (2.R1); d is not anchored on
 *              y → H = {1: y}; g@2 (prec y) voted by R5 and R1 (R1's d is gone);
 *   b3 = 5.R4: {R4,R2,R5}: H = {1: y, 2: g}; R2 votes g@2 (R2's d is gone);
 *   b4 = 6.R1: {R1,R2,R5}: at 1 only x (2.R1) → H = {1: x}; at 2 no anchored
 *              vote (all g, prec y) → a new command e@2 (prec x) — here the
 *              re-executed call of d — and x, e are issued in 6.R1.
 * R3 still holds a majority for d in 2.R1 and learns that x, d's precedent, is
 * issued at 1. The literal rule issues d at 2 on R3, next to e on R1, R2, R5.
 * With the refinement, R3 sees that x was locked in 6.R1 > 2.R1 and waits.
 *
 * Returns what R1 and R3 hold at instance 2 (or throws the core's assertion).
 */
export interface LiteralRuleOutcome {
  r1At2: string | undefined
  r3At2: string | undefined
  dId: string
  /** The literal rule's premises at the moment R3 learned x. */
  r3VotedD: boolean
  r3KnowsX: boolean
}

export function literalRuleScenario(): LiteralRuleOutcome {
  const h = new Harness(['R1', 'R2', 'R3', 'R4', 'R5'], counter)
  const edited = (m: Message, instances: number[]): Message | null => {
    switch (m.type) {
      case 'BeginBallot': {
        const proposals = m.proposals.filter((p) => instances.includes(p.instance))
        return proposals.length > 0 ? { ...m, proposals } : null
      }
      case 'Voted': {
        const kept = m.instances.filter((i) => instances.includes(i))
        return kept.length > 0 ? { ...m, instances: kept } : null
      }
      case 'Success': {
        const entries = m.entries.filter((e) => instances.includes(e.instance))
        return entries.length > 0 ? { ...m, entries } : null
      }
      default:
        return m
    }
  }
  /** Deliver the matching messages, cut down to `instances`; drop everything else. */
  const deliverOnly = (type: Message['type'], from: string[], to: string[], instances: number[]) => {
    const chosen = h.pending({ type, where: (m) => from.includes(m.from) && to.includes(m.to) })
    h.drop({})
    for (const m of chosen) {
      const e = edited(m, instances)
      if (e !== null) h.deliverMessage(e)
    }
  }
  const lead = (leader: string, round: number, quorum: string[]) => {
    h.drop({})
    h.campaign(leader, round)
    deliverOnly('NextBallot', [leader], quorum, [])
    for (const q of quorum) {
      const info = h.pending({ type: 'BallotInfo', from: q, to: leader })
      h.drop({ type: 'BallotInfo', from: q })
      for (const m of info) h.deliverMessage(m)
    }
    if (h.replica(leader).status().role !== 'leader') throw new Error(`${leader} did not become leader in round ${round}`)
  }

  // b = 2.R1: x@1 and d@2.
  lead('R1', 2, ['R1', 'R2', 'R3'])
  h.drop({})
  h.call('R1', 'add', { by: 1 }) // x
  h.call('R1', 'add', { by: 2 }) // d
  const dId = h
    .pending({ type: 'BeginBallot', to: 'R1' })
    .flatMap((m) => (m.type === 'BeginBallot' ? m.proposals : []))
    .find((p) => p.instance === 2)!.command.id
  const ballots = h.pending({ type: 'BeginBallot' })
  h.drop({})
  for (const m of ballots) {
    const e = m.to === 'R1' ? m : edited(m, [2]) // R1 votes x and d; R2, R3 vote d only
    if (e !== null) h.deliverMessage(e)
  }
  deliverOnly('Voted', ['R1', 'R2', 'R3'], ['R3'], [2]) // R3 counts the majority for d

  // b' = 3.R4: y@1, voted by R4 only.
  lead('R4', 3, ['R4', 'R5', 'R2'])
  h.drop({})
  h.call('R4', 'add', { by: 3 }) // y
  deliverOnly('BeginBallot', ['R4'], ['R4'], [1])

  // b'' = 4.R5: H = {1: y}; g@2 voted by R5 and R1.
  lead('R5', 4, ['R5', 'R4', 'R1'])
  h.drop({})
  h.call('R5', 'add', { by: 4 }) // g
  deliverOnly('BeginBallot', ['R5'], ['R5', 'R1'], [2])

  // b3 = 5.R4: H = {1: y, 2: g}; R2 votes g@2.
  lead('R4', 5, ['R4', 'R2', 'R5'])
  deliverOnly('BeginBallot', ['R4'], ['R2'], [2])

  // b4 = 6.R1: H = {1: x}; R1's queue re-executes d's call as e@2; all issued among R1, R2, R5.
  lead('R1', 6, ['R1', 'R2', 'R5'])
  deliverOnly('BeginBallot', ['R1'], ['R1', 'R2', 'R5'], [1, 2])
  deliverOnly('Voted', ['R1', 'R2', 'R5'], ['R1', 'R2', 'R5'], [1, 2])
  const r3VotedD = h.replica('R3').prevVote(2)?.command.id === dId
  deliverOnly('Success', ['R1'], ['R3'], [1]) // R3 learns x issued at 1
  const x = h.replica('R1').issuedAt(1)?.command
  return {
    r1At2: h.replica('R1').issuedAt(2)?.command.id,
    r3At2: h.replica('R3').issuedAt(2)?.command.id,
    dId,
    r3VotedD,
    r3KnowsX: x !== undefined && h.replica('R3').issuedAt(1)?.command.id === x.id,
  }
}
