import { describe, expect, it } from 'vitest'
import { chooseAnchoredVote, initHistProc, type Ballot, type Command, type MessageOf, type Vote } from '@concord/core'
import { Harness } from '../harness.ts'
import { counter } from '../models.ts'

/**
 * Scenario F6: seed 002 Figure 6, rule B3(I,β) ([0050]–[0053]), as rebuilt in
 * shared/scenarios/figure6.md. The figure is an image; its quorums and voters
 * are that file's reconstruction (marked "chosen" there), and these tests test
 * that reading. Instances m = 1, n = 2; a = the null command at 0.
 */

const m = 1
const n = 2
const ticket = (seq: number) => ({ client: 'fig6', seq, acked: 0 })
const set = (key: string, value: number) => [{ op: 'set', key, value }]
const b: Command = { id: 'b', prec: '0', payload: set('X', 1), ticket: ticket(1), result: null }
const b2: Command = { id: "b'", prec: '0', payload: set('X', 2), ticket: ticket(2), result: null }
const c: Command = { id: 'c', prec: 'b', payload: set('Y', 11), ticket: ticket(3), result: null }
const c2: Command = { id: "c'", prec: "b'", payload: set('Y', 12), ticket: ticket(4), result: null }

interface Row {
  ballot: number
  inst: number
  cmd: Command
  quorum: string[]
  voters: string[]
  /** The leader of section 4, used as the ballot's owner and the sender. */
  leader: string
  /** "votes seen (quorum members)" of section 1, at `inst`. */
  seen: [string, number, Command][]
}

const table: Row[] = [
  { ballot: 2, inst: m, cmd: b, quorum: ['A', 'B', 'D'], voters: ['D'], leader: 'D', seen: [] },
  { ballot: 5, inst: m, cmd: b2, quorum: ['B', 'C', 'E'], voters: ['E'], leader: 'E', seen: [] },
  { ballot: 14, inst: m, cmd: b, quorum: ['A', 'B', 'D'], voters: ['A', 'D'], leader: 'A', seen: [['D', 2, b]] },
  { ballot: 27, inst: n, cmd: c, quorum: ['A', 'C', 'D'], voters: ['A', 'D'], leader: 'A', seen: [] },
  { ballot: 29, inst: n, cmd: c2, quorum: ['B', 'C', 'E'], voters: ['E'], leader: 'E', seen: [] },
  { ballot: 32, inst: n, cmd: c, quorum: ['A', 'B', 'D'], voters: ['A', 'D'], leader: 'D', seen: [['A', 27, c], ['D', 27, c]] },
  { ballot: 36, inst: m, cmd: b2, quorum: ['B', 'C', 'E'], voters: ['B', 'C', 'E'], leader: 'C', seen: [['E', 5, b2]] },
  { ballot: 43, inst: n, cmd: c2, quorum: ['C', 'D', 'E'], voters: ['C', 'D', 'E'], leader: 'C', seen: [['D', 32, c], ['E', 29, c2]] },
  { ballot: 51, inst: m, cmd: b2, quorum: ['A', 'C', 'D'], voters: ['A', 'C', 'D'], leader: 'C', seen: [['A', 14, b], ['C', 36, b2], ['D', 14, b]] },
  { ballot: 54, inst: n, cmd: c2, quorum: ['B', 'C', 'E'], voters: ['B', 'C', 'E'], leader: 'E', seen: [['C', 43, c2], ['E', 43, c2]] },
]

const ballotOf = (row: Row): Ballot => ({ round: row.ballot, replica: row.leader })
const vote = (inst: number, round: number, owner: string, command: Command): Vote => ({ instance: inst, ballot: { round, replica: owner }, command })
const ownerOf = (round: number) => table.find((r) => r.ballot === round)!.leader

/** Section 1's precedent at the row's instance: a at m; H[m] (or the issued b') at n. */
function precedentFor(row: Row): string {
  if (row.inst === m) return '0'
  if (row.ballot >= 36) return "b'" // b' issued at m from #36 on
  return row.ballot === 29 ? "b'" : 'b' // section 4: H[m] = b at #27 and #32, b' at #29
}

/** Classic Paxos B3(β): the vote of the latest earlier ballot, anchored or not. */
function classicChoice(votes: Vote[]): Vote | undefined {
  return votes.reduce<Vote | undefined>((best, v) => (best === undefined || v.ballot.round > best.ballot.round ? v : best), undefined)
}

describe('scenario F6: seed 002 Figure 6, rule B3(I,β) [0053]', () => {
  it('section 1: the choice rule picks the anchored vote of the latest ballot; #43 differs from Paxos', () => {
    const expected: Record<number, string | undefined> = { 2: undefined, 5: undefined, 14: 'b', 27: undefined, 29: undefined, 32: 'c', 36: "b'", 43: "c'", 51: "b'", 54: "c'" }
    const expectedClassic: Record<number, string | undefined> = { ...expected, 43: 'c' }
    for (const row of table) {
      const votes = row.seen.map(([, round, cmd]) => vote(row.inst, round, ownerOf(round), cmd))
      expect(chooseAnchoredVote(votes, precedentFor(row))?.command.id, `#${row.ballot}`).toBe(expected[row.ballot])
      expect(classicChoice(votes)?.command.id, `#${row.ballot} (Paxos)`).toBe(expectedClassic[row.ballot])
    }
  })

  it('section 1: InitHistProc at #43 (b\' issued at m) chooses c\' at n; at #36 it fills both m and n', () => {
    const at43 = initHistProc({
      from: n,
      precedentOfFrom: "b'",
      issued: () => undefined,
      votes: (i) => (i === n ? [vote(n, 32, 'D', c), vote(n, 27, 'A', c), vote(n, 29, 'E', c2)] : []),
    })
    expect(at43.history.map((p) => [p.instance, p.command.id])).toEqual([[n, "c'"]])
    expect(at43.nextCommandNo).toBe(3)
    // Section 4, #36: H = {m: b', n: c'} from E:(5,b') and E:(29,c').
    const at36 = initHistProc({
      from: m,
      precedentOfFrom: '0',
      issued: () => undefined,
      votes: (i) => (i === m ? [vote(m, 5, 'E', b2)] : i === n ? [vote(n, 29, 'E', c2)] : []),
    })
    expect(at36.history.map((p) => p.command.id)).toEqual(["b'", "c'"])
  })

  function replay(options: { deliverVoted: boolean; rows?: Row[] }) {
    const h = new Harness(['A', 'B', 'C', 'D', 'E'], counter)
    const rows = options.rows ?? table
    for (const row of rows) {
      const ballot = ballotOf(row)
      // NextBallot(#, inst) to the quorum only.
      for (const to of row.quorum) h.deliverMessage({ type: 'NextBallot', from: row.leader, to, ballot, n: row.inst })
      const infos = h.pending({ type: 'BallotInfo' }) as MessageOf<'BallotInfo'>[]
      h.drop({ type: 'BallotInfo' })
      expect(infos.map((i) => i.from).sort(), `#${row.ballot} BallotInfo`).toEqual([...row.quorum].sort())
      if (!options.deliverVoted) {
        const seen = infos.flatMap((i) => i.votes.filter((v) => v.instance === row.inst).map((v) => [i.from, v.ballot.round, v.command.id]))
        expect(seen.sort(), `#${row.ballot} V`).toEqual(row.seen.map(([who, round, cmd]) => [who, round, cmd.id]).sort())
      }
      // BeginBallot(inst, #, cmd) only to the voters; Voted from exactly them.
      // (Ours: a voter that already knows the command issued at inst answers
      // with Success instead of voting again: same information, no write.)
      const knowing = row.voters.filter((id) => h.replica(id).issuedAt(row.inst) !== undefined)
      for (const to of row.voters) {
        h.deliverMessage({ type: 'BeginBallot', from: row.leader, to, ballot, proposals: [{ instance: row.inst, command: row.cmd }] })
      }
      const voted = h.pending({ type: 'Voted' }) as MessageOf<'Voted'>[]
      expect([...new Set(voted.map((v) => v.from))].sort(), `#${row.ballot} voters`).toEqual(row.voters.filter((id) => !knowing.includes(id)).sort())
      expect(voted.every((v) => v.ballot.round === row.ballot && v.instances.includes(row.inst))).toBe(true)
      const told = h.pending({ type: 'Success', to: row.leader }) as MessageOf<'Success'>[]
      expect(told.map((t) => t.from).sort(), `#${row.ballot} Success instead of a vote`).toEqual([...knowing].sort())
      expect(told.every((t) => t.entries.some((e) => e.instance === row.inst && e.commandId === row.cmd.id))).toBe(true)
      for (const voter of row.voters.filter((id) => !knowing.includes(id))) {
        expect(h.replica(voter).prevVote(row.inst)).toMatchObject({ ballot: { round: row.ballot }, command: { id: row.cmd.id } })
        expect(h.node(voter).disk.nextBal.round).toBe(row.ballot)
      }
      if (options.deliverVoted) h.deliverAll({ type: 'Voted' })
      else h.drop({ type: 'Voted' })
      h.drop({ type: 'Success' })
      check?.(h, row)
    }
    return h
  }
  let check: ((h: Harness, row: Row) => void) | undefined

  it('section 2: acceptor-level replay; V sets match the table, votes land as recorded', () => {
    check = undefined
    replay({ deliverVoted: false })
  })

  it('issue predicate: b\' issued at m after #36, c\' at n after #43; b and c never; X=2, Y=12; no no-op', () => {
    const issuedIds = (h: Harness, inst: number) => new Set(['A', 'B', 'C', 'D', 'E'].map((id) => h.replica(id).issuedAt(inst)?.command.id).filter(Boolean))
    check = (h, row) => {
      const atM = issuedIds(h, m)
      const atN = issuedIds(h, n)
      expect(atM.has('b') || atN.has('c'), `#${row.ballot}: b or c issued`).toBe(false)
      if (row.ballot < 36) expect(atM.size, `#${row.ballot}: nothing issued at m yet`).toBe(0)
      if (row.ballot >= 36) expect([...atM]).toEqual(["b'"])
      if (row.ballot < 43) expect(atN.size, `#${row.ballot}: nothing issued at n yet`).toBe(0)
      if (row.ballot >= 43) expect([...atN]).toEqual(["c'"])
    }
    const h = replay({ deliverVoted: true })
    check = undefined
    // Those who learned both apply L[m] = b', L[n] = c'.
    for (const id of ['C', 'E']) {
      expect(h.replica(id).status().issuedUpTo).toBe(2)
      expect(h.state(id)).toEqual({ X: 2, Y: 12 })
    }
  })

  it('section 3: a device whose nextBal is higher answers NextBallot and BeginBallot with MyNextBal and does not vote', () => {
    check = undefined
    const h = replay({ deliverVoted: false, rows: table.slice(0, 8) }) // through #43
    expect(h.replica('D').prevVote(n)).toMatchObject({ ballot: { round: 43 }, command: { id: "c'" } })
    h.deliverMessage({ type: 'BeginBallot', from: 'D', to: 'D', ballot: { round: 32, replica: 'D' }, proposals: [{ instance: n, command: c }] })
    expect(h.pending({ type: 'Voted' })).toHaveLength(0)
    const reply = h.pending({ type: 'MyNextBal' }) as MessageOf<'MyNextBal'>[]
    expect(reply.map((r) => r.nextBal.round)).toEqual([43])
    expect(h.replica('D').prevVote(n)).toMatchObject({ ballot: { round: 43 }, command: { id: "c'" } })
    h.drop({ type: 'MyNextBal' })
    h.deliverMessage({ type: 'NextBallot', from: 'A', to: 'D', ballot: { round: 40, replica: 'A' }, n })
    expect((h.pending({ type: 'MyNextBal' }) as MessageOf<'MyNextBal'>[]).map((r) => r.nextBal.round)).toEqual([43])
    expect(h.pending({ type: 'BallotInfo' })).toHaveLength(0)
  })

  it('F6-V: #32 successful (A, B, D vote c); c is never issued, as its precedent b never is; the result is the same', () => {
    const rows = table.map((row) => (row.ballot === 32 ? { ...row, voters: ['A', 'B', 'D'] } : row))
    // At #36 the quorum {B, C, E} reports B:(32,c) and E:(29,c') at n.
    let infoAt36: Vote[] = []
    check = (h, row) => {
      if (row.ballot === 32) {
        // A majority voted c at n in #32, but nothing is issued at m: nobody issues c.
        for (const id of ['A', 'B', 'C', 'D', 'E']) expect(h.replica(id).issuedAt(n)).toBeUndefined()
      }
      if (row.ballot === 36) {
        for (const id of ['B', 'C', 'E']) expect(h.replica(id).issuedAt(m)?.command.id).toBe("b'")
        // B holds c's proposal and a majority of Voted(n, 32): still not issued (c follows b, not b').
        expect(h.replica('B').issuedAt(n)).toBeUndefined()
      }
    }
    const h = replay({ deliverVoted: true, rows })
    check = undefined
    // The chooser at #36: from B:(32,c) and E:(29,c') at n, with H[m] = b', it picks c'.
    infoAt36 = [vote(n, 32, 'D', c), vote(n, 29, 'E', c2)]
    const chosen = initHistProc({
      from: m,
      precedentOfFrom: '0',
      issued: () => undefined,
      votes: (i) => (i === m ? [vote(m, 5, 'E', b2)] : i === n ? infoAt36 : []),
    })
    expect(chosen.history.map((p) => p.command.id)).toEqual(["b'", "c'"])
    for (const id of ['A', 'B', 'C', 'D', 'E']) expect(h.replica(id).issuedAt(n)?.command.id ?? "c'").toBe("c'")
    for (const id of ['C', 'E']) expect(h.state(id)).toEqual({ X: 2, Y: 12 })
  })
})
