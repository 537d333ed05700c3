import { describe, expect, it } from 'vitest'
import type { Command, MessageOf } from '@concord/core'
import { Harness } from '../harness.ts'
import { warehouse } from '../models.ts'

/**
 * Scenario W: seed 002's supply-chain run ([0073]–[0078], Figure 8), steps
 * 1–25, as restated in shared/scenarios/warehouse.md. Ballot 17 is p's
 * (round 17), 21 is r's (round 21). Messages to self exist and go through
 * the pool like any other ([0057] step 1: "to all devices including itself").
 */

type H = Harness<typeof warehouse.functions>

function beginBallots(h: H, instance: number): MessageOf<'BeginBallot'>[] {
  return h.pending({ type: 'BeginBallot' }).filter((m): m is MessageOf<'BeginBallot'> =>
    m.type === 'BeginBallot' && m.proposals.some((p) => p.instance === instance))
}

function proposedAt(h: H, instance: number): Command {
  const message = beginBallots(h, instance)[0]
  expect(message, `a BeginBallot for instance ${instance}`).toBeDefined()
  return message!.proposals.find((p) => p.instance === instance)!.command
}

const isVotedAt = (instance: number) => (m: { type: string }) =>
  m.type === 'Voted' && (m as MessageOf<'Voted'>).instances.includes(instance)

/** Steps 1–8: p leads with ballot 17; df = inbound(A, 500) is issued at 1. */
function phases1and2(): { h: H; df: Command } {
  const h: H = new Harness(['p', 'q', 'r'], warehouse)
  // 1. p persists lastTried = 17 and sends NextBallot(17, 1) to p, q, r.
  h.campaign('p', 17)
  expect(h.node('p').disk.lastTried).toEqual({ round: 17, replica: 'p' })
  const nextBallots = h.pending({ type: 'NextBallot' }) as MessageOf<'NextBallot'>[]
  expect(nextBallots.map((m) => m.to).sort()).toEqual(['p', 'q', 'r'])
  expect(nextBallots.every((m) => m.ballot.round === 17 && m.n === 1)).toBe(true)
  // 2. each sets nextBal = 17, persists it, answers BallotInfo(17, ∅, ∅, ∅).
  h.deliver({ type: 'NextBallot' })
  for (const id of ['p', 'q', 'r']) expect(h.node(id).disk.nextBal).toEqual({ round: 17, replica: 'p' })
  const infos = h.pending({ type: 'BallotInfo' }) as MessageOf<'BallotInfo'>[]
  expect(infos).toHaveLength(3)
  for (const info of infos) {
    expect(info.issued).toEqual([])
    expect(info.votes).toEqual([])
    expect(info.missing).toEqual([])
  }
  // 3. with a majority (p's own, then q's), p leads; H = ∅, nextCommandNo = 1.
  h.deliver({ type: 'BallotInfo', from: 'p' })
  h.deliver({ type: 'BallotInfo', from: 'q' })
  expect(h.replica('p').status()).toMatchObject({ role: 'leader', nextCommandNo: 1 })
  expect(h.state('p')).toEqual({})
  h.deliver({ type: 'BallotInfo', from: 'r' }) // a late responder
  h.drop({ type: 'Heartbeat' })
  // 4. q sends ExecuteFunction(inbound(A, 500)) to p.
  h.call('q', 'inbound', { x: 'A', v: 500 })
  expect(h.pending({ type: 'ExecuteFunction', from: 'q', to: 'p' })).toHaveLength(1)
  h.deliver({ type: 'ExecuteFunction' })
  // 5. p runs f on LS; df = {A := 500}, prec null; BeginBallot(1, 17, df) to Q = {p, q} only.
  const df = proposedAt(h, 1)
  expect(df.prec).toBe('0')
  expect(df.payload).toEqual([{ op: 'set', key: 'A', value: 500 }])
  expect(beginBallots(h, 1).map((m) => m.to).sort()).toEqual(['p', 'q'])
  expect(h.replica('p').status().nextCommandNo).toBe(2)
  // 6. p and q persist prevVote(·, 1) = (17, df) and send Voted(1, 17, df).
  h.deliver({ type: 'BeginBallot' })
  for (const id of ['p', 'q']) expect(h.node(id).disk.votes.get(1)).toMatchObject({ ballot: { round: 17 }, command: { id: df.id } })
  // 7. p has Voted from all of Q, the precedent (null) is issued: df is issued at 1; Success to all.
  h.deliver({ type: 'Voted', to: 'p' })
  expect(h.node('p').disk.issued.get(1)?.command.id).toBe(df.id)
  expect(h.pending({ type: 'Success', from: 'p' }).map((m) => m.to).sort()).toEqual(['q', 'r'])
  // 8. every device records df and applies it.
  h.deliverAll({ type: 'Voted' })
  h.deliver({ type: 'Success' })
  for (const id of ['p', 'q', 'r']) expect(h.state(id)).toEqual({ A: 500 })
  expect(h.node('r').disk.votes.get(1)).toBeUndefined() // r never voted
  expect(h.node('q').replies).toMatchObject([{ ok: true, instance: 1 }])
  return { h, df }
}

/** Steps 9–12: dg = transfer(A, B, 100) is voted by p and q in 17, then p crashes. */
function phase3(h: H, df: Command): Command {
  // 9. r sends ExecuteFunction(transfer(A, B, 100)) to p.
  h.call('r', 'transfer', { x: 'A', y: 'B', v: 100 })
  h.deliver({ type: 'ExecuteFunction' })
  // 10. dg = {A := 400, B := 100}, prec df, BeginBallot(2, 17, dg) to {p, q}.
  const dg = proposedAt(h, 2)
  expect(dg.prec).toBe(df.id)
  expect(dg.payload).toEqual([{ op: 'set', key: 'A', value: 400 }, { op: 'set', key: 'B', value: 100 }])
  expect(beginBallots(h, 2).map((m) => m.to).sort()).toEqual(['p', 'q'])
  // 11. p and q persist prevVote(·, 2) = (17, dg) and send Voted.
  h.deliver({ type: 'BeginBallot' })
  for (const id of ['p', 'q']) expect(h.node(id).disk.votes.get(2)).toMatchObject({ ballot: { round: 17 }, command: { id: dg.id } })
  // 12. p crashes before any Voted reaches anyone; its storage survives.
  h.crash('p')
  expect(h.drop({ where: isVotedAt(2) })).toBeGreaterThan(0)
  h.drop({ from: 'p' })
  const pDisk = h.node('p').disk
  expect(pDisk.lastTried.round).toBe(17)
  expect(pDisk.nextBal.round).toBe(17)
  expect(pDisk.votes.get(1)?.command.id).toBe(df.id)
  expect(pDisk.votes.get(2)?.command.id).toBe(dg.id)
  expect([...pDisk.issued.keys()]).toEqual([1])
  // dg is issued nowhere; M is still A = 500 everywhere.
  for (const id of ['q', 'r']) {
    expect(h.replica(id).issuedAt(2)).toBeUndefined()
    expect(h.state(id)).toEqual({ A: 500 })
  }
  return dg
}

/** Steps 13–17: r leads with ballot 21, recovers dg through InitHistProc, pipelines dh on it. */
function phase4(h: H, df: Command, dg: Command, reorderVoted: boolean): Command {
  // 13. r persists lastTried = 21 and sends NextBallot(21, 2); p's copy is lost.
  h.campaign('r', 21)
  expect(h.node('r').disk.lastTried).toEqual({ round: 21, replica: 'r' })
  const nb = h.pending({ type: 'NextBallot' }) as MessageOf<'NextBallot'>[]
  expect(nb.every((m) => m.n === 2 && m.ballot.round === 21)).toBe(true)
  h.drop({ type: 'NextBallot', to: 'p' })
  h.deliver({ type: 'NextBallot' })
  // 14. q answers BallotInfo(21, ∅, {(2, (q, 17, dg))}, ∅); r answers itself with nothing.
  const fromQ = h.pending({ type: 'BallotInfo', from: 'q' })[0] as MessageOf<'BallotInfo'>
  expect(fromQ.issued).toEqual([])
  expect(fromQ.missing).toEqual([])
  expect(fromQ.votes.map((v) => [v.instance, v.ballot.round, v.command.id])).toEqual([[2, 17, dg.id]])
  const fromR = h.pending({ type: 'BallotInfo', from: 'r' })[0] as MessageOf<'BallotInfo'>
  expect(fromR.votes).toEqual([])
  // Meanwhile q sends ExecuteFunction(h = transfer(A, B, 100)) to r: the same
  // arguments as g, but another request under its own ticket.
  const hTicket = h.call('q', 'transfer', { x: 'A', y: 'B', v: 100 })
  expect(h.pending({ type: 'ExecuteFunction', from: 'q', to: 'r' })).toHaveLength(1)
  h.deliver({ type: 'ExecuteFunction' }) // queued: r is still a candidate
  // 15. r holds BallotInfo from {q, r}; H = {(2, dg)}; dh = {A := 300, B := 200}, prec dg.
  h.deliver({ type: 'BallotInfo', from: 'r' })
  h.deliver({ type: 'BallotInfo', from: 'q' })
  expect(h.replica('r').status()).toMatchObject({ role: 'leader', nextCommandNo: 4 })
  const reproposed = proposedAt(h, 2)
  expect(reproposed.id).toBe(dg.id)
  expect(beginBallots(h, 2).every((m) => m.ballot.round === 21)).toBe(true)
  const dh = proposedAt(h, 3)
  expect(dh.prec).toBe(dg.id) // a new command on top of an unissued H entry
  expect(dh.id).not.toBe(dg.id)
  expect(dh.ticket).toEqual(hTicket)
  expect(dh.payload).toEqual([{ op: 'set', key: 'A', value: 300 }, { op: 'set', key: 'B', value: 200 }])
  expect(beginBallots(h, 3).map((m) => m.to).sort()).toEqual(['q', 'r'])
  h.drop({ type: 'Heartbeat' })
  // 16. q and r vote on both.
  h.deliver({ type: 'BeginBallot' })
  for (const id of ['q', 'r']) {
    expect(h.node(id).disk.votes.get(2)).toMatchObject({ ballot: { round: 21 }, command: { id: dg.id } })
    expect(h.node(id).disk.votes.get(3)).toMatchObject({ ballot: { round: 21 }, command: { id: dh.id } })
  }
  h.drop({ type: 'Voted', to: 'p' })
  // 17. r issues dg at 2 then dh at 3. If Voted(3) arrives first, dh waits for dg.
  if (reorderVoted) {
    for (const m of h.pending({ type: 'Voted', to: 'r' }) as MessageOf<'Voted'>[]) {
      h.drop({ where: (x) => x === m })
      h.deliverMessage({ ...m, instances: [3] })
      expect(h.replica('r').issuedAt(3)).toBeUndefined()
      h.deliverMessage({ ...m, instances: [2] })
    }
  } else {
    h.deliver({ type: 'Voted', to: 'r' })
  }
  expect(h.replica('r').issuedAt(2)?.command.id).toBe(dg.id)
  expect(h.replica('r').issuedAt(3)?.command.id).toBe(dh.id)
  expect(h.node('r').disk.issued.get(2)?.lockBallot.round).toBe(21)
  void df
  return dh
}

/** Steps 1–21 for the variants: p restarts and catches up (W-b), then p sends k and q sends l to r. */
function throughStep21(): H {
  const { h, df } = phases1and2()
  const dg = phase3(h, df)
  phase4(h, df, dg, false)
  h.deliverAll({ where: (m) => m.to !== 'p' && m.type !== 'Heartbeat' && m.type !== 'NextBallot' })
  h.drop({ to: 'p' })
  h.restart('p')
  h.tick('r', 2)
  h.drop({ type: 'NextBallot' })
  h.deliverAll({ type: 'Heartbeat' })
  h.drop({ type: 'HeartbeatAck' })
  h.tick('p', 6)
  h.deliverAll({ where: (m) => m.type === 'CatchUpRequest' || m.type === 'CatchUpReply' })
  h.call('p', 'transfer', { x: 'A', y: 'C', v: 500 })
  h.call('q', 'transfer', { x: 'B', y: 'A', v: 200 })
  return h
}

describe('scenario W: the warehouse run of seed 002 [0076]', () => {
  for (const variant of ['W-a', 'W-b'] as const) {
    it(`${variant}: steps 1–25 end with A=0, B=0, C=500 everywhere and no no-ops`, () => {
      const { h, df } = phases1and2()
      const dg = phase3(h, df)
      const dh = phase4(h, df, dg, variant === 'W-a')
      h.deliverAll({ type: 'Voted' })
      // 18. p recovers: it reloads from storage, rebuilds M(p) = {A: 500}, and does not lead.
      const toP = h.drop({ to: 'p' }) // W-b: p's copies of Success are lost; it catches up
      expect(toP).toBeGreaterThan(0)
      if (variant === 'W-a') h.drop({ to: 'p' })
      h.restart('p')
      expect(h.state('p')).toEqual({ A: 500 })
      expect(h.replica('p').status().role).toBe('follower')
      // 19. every device applies dg and dh in order.
      h.deliverAll({ type: 'Success' })
      if (variant === 'W-a') {
        // Delayed copies: r re-sends Success to p (the figure's arrows after p is back).
        h.deliverMessage({
          type: 'Success', from: 'r', to: 'p',
          entries: [2, 3].map((m) => { const e = h.replica('r').issuedAt(m)!; return { instance: m, lockBallot: e.lockBallot, commandId: e.command.id, command: e.command } }),
        })
      } else {
        // [0067]: p hears r's heartbeat, sees it is behind, asks a peer, applies.
        h.tick('r', 2)
        h.drop({ type: 'NextBallot', to: 'p' }) // keeps p's nextBal at 17 as the seed says
        h.deliverAll({ type: 'Heartbeat', to: 'p' })
        h.drop({ type: 'HeartbeatAck' })
        h.tick('p', 6)
        expect(h.pending({ type: 'CatchUpRequest', from: 'p' })).toHaveLength(1)
        h.deliverAll({ where: (m) => m.type === 'CatchUpRequest' || m.type === 'CatchUpReply' })
      }
      for (const id of ['p', 'q', 'r']) expect(h.state(id)).toEqual({ A: 300, B: 200 })
      // p must know the leader before it calls: r's heartbeat.
      h.tick('r', 2)
      h.drop({ type: 'NextBallot', to: 'p' })
      h.deliverAll({ type: 'Heartbeat' })
      h.drop({ type: 'HeartbeatAck' })
      // 20–21. p sends k = transfer(A, C, 500), q sends l = transfer(B, A, 200), both to r.
      h.call('p', 'transfer', { x: 'A', y: 'C', v: 500 })
      h.call('q', 'transfer', { x: 'B', y: 'A', v: 200 })
      // 22. r runs l first, then k: dl = {A := 500, B := 0} prec dh; dk = {A := 0, C := 500} prec dl.
      h.deliver({ type: 'ExecuteFunction', from: 'q' })
      h.deliver({ type: 'ExecuteFunction', from: 'p' })
      const dl = proposedAt(h, 4)
      const dk = proposedAt(h, 5)
      expect(dl.prec).toBe(dh.id)
      expect(dk.prec).toBe(dl.id)
      expect(dl.payload).toEqual([{ op: 'set', key: 'B', value: 0 }, { op: 'set', key: 'A', value: 500 }])
      expect(dk.payload).toEqual([{ op: 'set', key: 'A', value: 0 }, { op: 'set', key: 'C', value: 500 }])
      expect(beginBallots(h, 4).map((m) => m.to).sort()).toEqual(['q', 'r'])
      // 23–25. votes, issue, Success; everyone applies both.
      h.deliverAll({ where: (m) => m.type !== 'Heartbeat' && m.type !== 'NextBallot' })
      for (const id of ['p', 'q', 'r']) {
        expect(h.state(id)).toEqual({ A: 0, B: 0, C: 500 })
        // Applied in instance order (p re-applies df from its own storage after the restart).
        expect(h.node(id).issued.map((e) => e.command.id)).toEqual([df, dg, dh, dl, dk].map((c) => c.id))
      }
      // L = [df, dg, dh, dl, dk] at 1..5, identical everywhere, no no-ops.
      for (const id of ['p', 'q', 'r']) {
        expect([1, 2, 3, 4, 5].map((m) => h.replica(id).issuedAt(m)?.command.id)).toEqual([df, dg, dh, dl, dk].map((c) => c.id))
      }
      // Final stable state.
      expect(h.node('p').disk).toMatchObject({ lastTried: { round: 17 }, nextBal: { round: 17 } })
      expect(h.node('q').disk.nextBal.round).toBe(21)
      expect(h.node('r').disk).toMatchObject({ lastTried: { round: 21 }, nextBal: { round: 21 } })
      const qVotes = h.node('q').disk.votes
      expect([1, 2, 3, 4, 5].map((m) => [qVotes.get(m)?.ballot.round, qVotes.get(m)?.command.id])).toEqual([
        [17, df.id], [21, dg.id], [21, dh.id], [21, dl.id], [21, dk.id],
      ])
      const rVotes = h.node('r').disk.votes
      expect(rVotes.has(1)).toBe(false)
      expect([2, 3, 4, 5].map((m) => rVotes.get(m)?.ballot.round)).toEqual([21, 21, 21, 21])
      // Every caller got its answer.
      expect(h.node('p').replies).toMatchObject([{ ok: true, instance: 5 }])
      expect(h.node('q').replies.map((r) => r.ok)).toEqual([true, true, true])
    })
  }

  it('W-c: with k delivered first, k fails (A = 300 < 500), nothing is sent; resubmitted, the end state is the same', () => {
    const h = throughStep21()
    h.deliver({ type: 'ExecuteFunction', from: 'p' })
    // k fails on LS (A = 300): no command, no BeginBallot; only p hears of it —
    // once a majority has confirmed r's ballot (ours: a rejection is a read of
    // LS and must not come from a deposed leader; see replica.ts executeCall).
    expect(h.pending({ type: 'BeginBallot' })).toHaveLength(0)
    expect(h.pending({ type: 'CallRejected', to: 'p' })).toHaveLength(0)
    h.deliverAll({ where: (m) => m.type === 'Heartbeat' || m.type === 'HeartbeatAck' })
    expect(h.pending({ type: 'BeginBallot' })).toHaveLength(0)
    expect(h.pending({ type: 'CallRejected', to: 'p' })).toHaveLength(1)
    h.deliver({ type: 'CallRejected' })
    expect(h.node('p').replies).toMatchObject([{ ok: false, code: 'rejected' }])
    h.deliver({ type: 'ExecuteFunction', from: 'q' })
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' && m.type !== 'NextBallot' })
    h.call('p', 'transfer', { x: 'A', y: 'C', v: 500 }) // resubmitted
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' && m.type !== 'NextBallot' })
    for (const id of ['p', 'q', 'r']) expect(h.state(id)).toEqual({ A: 0, B: 0, C: 500 })
    expect(h.replica('r').issuedAt(6)).toBeUndefined()
  })

  it('W-x [0077]: the leader crashes between proposing dk and dl; dk is never issued and no no-op appears', () => {
    const h = throughStep21()
    h.deliver({ type: 'ExecuteFunction', from: 'q' })
    h.deliver({ type: 'ExecuteFunction', from: 'p' })
    const dk = proposedAt(h, 5)
    // r sends BeginBallot(5, 21, dk) only; q and r vote for it and persist; r crashes.
    for (const m of beginBallots(h, 5)) h.deliverMessage({ ...m, proposals: m.proposals.filter((p) => p.instance === 5) })
    expect(h.node('q').disk.votes.get(5)).toMatchObject({ ballot: { round: 21 }, command: { id: dk.id } })
    h.crash('r')
    h.drop({ from: 'r' })
    h.drop({ type: 'Voted' })
    // A new leader q, above 21, sends NextBallot(b, 4) to p and q.
    h.campaign('q', 22)
    expect((h.pending({ type: 'NextBallot' })[0] as MessageOf<'NextBallot'>).n).toBe(4)
    h.deliver({ type: 'NextBallot' })
    const fromP = h.pending({ type: 'BallotInfo', from: 'p' })[0] as MessageOf<'BallotInfo'>
    expect(fromP.votes).toEqual([])
    const fromQ = h.pending({ type: 'BallotInfo', from: 'q' })[0] as MessageOf<'BallotInfo'>
    expect(fromQ.votes.map((v) => [v.instance, v.ballot.round, v.command.id])).toEqual([[5, 21, dk.id]])
    h.deliver({ type: 'BallotInfo', from: 'q' })
    h.deliver({ type: 'BallotInfo', from: 'p' })
    const status = h.replica('q').status()
    expect(status.role).toBe('leader')
    // H = ∅: InitHistProc found no vote at 4 and stopped; dk is not re-proposed.
    expect(beginBallots(h, 5).filter((m) => m.proposals.some((p) => p.command.id === dk.id))).toHaveLength(0)
    expect(h.state('q')).toEqual({ A: 300, B: 200 })
    // The resubmitted calls (same tickets) take 4 and 5; later proposals at 5 replace dk's stale votes.
    h.deliverAll({ where: (m) => m.to !== 'r' && m.type !== 'Heartbeat' && m.type !== 'NextBallot' })
    for (const id of ['p', 'q']) {
      expect(h.replica(id).issuedAt(5)?.command.id).not.toBe(dk.id)
      expect([1, 2, 3, 4, 5].every((m) => h.replica(id).issuedAt(m) !== undefined)).toBe(true)
      expect(h.state(id)).toEqual({ A: 0, B: 0, C: 500 })
    }
    expect(h.replica('q').issuedAt(4)?.command.prec).toBe(h.replica('q').issuedAt(3)?.command.id)
  })
})
