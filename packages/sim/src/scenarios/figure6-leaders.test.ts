import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { Message, MessageOf } from '@concord/core'
import { defineMachine, fn } from '@concord/machine'
import { Harness } from '../harness.ts'

/**
 * Scenario F6, section 4: Figure 6 replayed by real Executive Paxos leaders
 * (shared/scenarios/figure6.md). Each row's leader campaigns at round #,
 * sends NextBallot only to the row's quorum, runs InitHistProc on what the
 * quorum reports, and proposes; the script drops BeginBallot to non-voters
 * and for the instance the row does not show. New commands come from real
 * function calls on the leader's LS: b = setX(1), b' = setX(2), c = setY(11),
 * c' = setY(12). m = 1, n = 2.
 */
const fig6 = defineMachine({
  name: 'fig6',
  functions: {
    setX: fn(z.object({ v: z.number() }), (tx, { v }) => tx.set('X', v)),
    setY: fn(z.object({ v: z.number() }), (tx, { v }) => tx.set('Y', v)),
  },
})

interface Row {
  ballot: number
  leader: string
  quorum: string[]
  inst: number
  voters: string[]
  /** A new function the leader runs (rows that create b, b', c, c'). */
  call?: [name: 'setX' | 'setY', v: number]
  /** What the leader proposes, per instance (its H plus the new command), as names. */
  proposes: Record<number, string>
}

const rows: Row[] = [
  { ballot: 2, leader: 'D', quorum: ['A', 'B', 'D'], inst: 1, voters: ['D'], call: ['setX', 1], proposes: { 1: 'b' } },
  { ballot: 5, leader: 'E', quorum: ['B', 'C', 'E'], inst: 1, voters: ['E'], call: ['setX', 2], proposes: { 1: "b'" } },
  { ballot: 14, leader: 'A', quorum: ['A', 'B', 'D'], inst: 1, voters: ['A', 'D'], proposes: { 1: 'b' } },
  { ballot: 27, leader: 'A', quorum: ['A', 'C', 'D'], inst: 2, voters: ['A', 'D'], call: ['setY', 11], proposes: { 1: 'b', 2: 'c' } },
  { ballot: 29, leader: 'E', quorum: ['B', 'C', 'E'], inst: 2, voters: ['E'], call: ['setY', 12], proposes: { 1: "b'", 2: "c'" } },
  { ballot: 32, leader: 'D', quorum: ['A', 'B', 'D'], inst: 2, voters: ['A', 'D'], proposes: { 1: 'b', 2: 'c' } },
  { ballot: 36, leader: 'C', quorum: ['B', 'C', 'E'], inst: 1, voters: ['B', 'C', 'E'], proposes: { 1: "b'", 2: "c'" } },
  { ballot: 43, leader: 'C', quorum: ['C', 'D', 'E'], inst: 2, voters: ['C', 'D', 'E'], proposes: { 2: "c'" } },
]

describe('scenario F6 section 4: Figure 6 with real leaders', () => {
  it('every leader computes the H the scenario gives; b\' and c\' are issued, b and c never', () => {
    const h = new Harness(['A', 'B', 'C', 'D', 'E'], fig6)
    const names = new Map<string, string>() // command id → b, b', c, c'
    const nameOf = (call: [string, number]) => ({ 'setX,1': 'b', 'setX,2': "b'", 'setY,11': 'c', 'setY,12': "c'" })[call.join(',')]!
    for (const row of rows) {
      h.drop({})
      h.campaign(row.leader, row.ballot)
      for (const m of h.pending({ type: 'NextBallot' })) if (row.quorum.includes(m.to)) h.deliverMessage(m)
      h.drop({ type: 'NextBallot' })
      for (const q of row.quorum) {
        const infos = h.pending({ type: 'BallotInfo', from: q })
        h.drop({ type: 'BallotInfo', from: q })
        for (const m of infos) h.deliverMessage(m)
      }
      expect(h.replica(row.leader).status().role, `#${row.ballot}: ${row.leader} leads`).toBe('leader')
      h.drop({ type: 'ExecuteFunction' }) // earlier leaders' pending calls, re-sent: not part of the figure
      if (row.call !== undefined) h.call(row.leader, row.call[0], { v: row.call[1] })
      const ballots = h.pending({ type: 'BeginBallot', from: row.leader }) as MessageOf<'BeginBallot'>[]
      h.drop({})
      // What the leader proposed: its H re-proposed (3') and the new command (3'').
      const proposed: Record<number, string> = {}
      for (const p of ballots.flatMap((m) => m.proposals)) {
        if (!names.has(p.command.id)) names.set(p.command.id, nameOf(row.call!))
        proposed[p.instance] = names.get(p.command.id)!
      }
      expect(proposed, `#${row.ballot}: H and the new command`).toEqual(row.proposes)
      // Deliver only the row's instance, and only to its voters.
      for (const m of ballots) {
        if (!row.voters.includes(m.to)) continue
        const proposals = m.proposals.filter((p) => p.instance === row.inst)
        if (proposals.length > 0) h.deliverMessage({ ...m, proposals })
      }
      const voted = h.pending({ type: 'Voted' }) as MessageOf<'Voted'>[]
      expect([...new Set(voted.map((v) => v.from))].sort(), `#${row.ballot}: voters`).toEqual([...row.voters].sort())
      h.deliverAll({ where: (m: Message) => m.type === 'Voted' || m.type === 'Success' })
      const issued = (i: number) => new Set(['A', 'B', 'C', 'D', 'E'].map((id) => h.replica(id).issuedAt(i)?.command.id).filter((x): x is string => x !== undefined).map((id) => names.get(id)))
      expect([...issued(1)], `#${row.ballot}: issued at m`).toEqual(row.ballot >= 36 ? ["b'"] : [])
      expect([...issued(2)], `#${row.ballot}: issued at n`).toEqual(row.ballot >= 43 ? ["c'"] : [])
    }
    // L[m] = b', L[n] = c', X = 2, Y = 12 where both are known; no no-op anywhere.
    for (const id of ['C', 'D', 'E']) expect(h.state(id)).toEqual({ X: 2, Y: 12 })
  })
})
