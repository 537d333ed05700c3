import { describe, expect, it } from 'vitest'
import { createMachine, defineMachine, fn, reject } from '@concord/machine'
import { Harness } from '../../sim/src/harness.ts'
import { counter } from '../../sim/src/models.ts'
import { createRandom } from './random.ts'
import { Replica } from './replica.ts'
import type { Message, MessageOf } from './types.ts'
import { callArgsCharsMax, commandCharsMax, electionIdleFactor, electionTicksMax, electionTicksMin, heartbeatIdleAfterTicks, heartbeatIdleAnnounceTicks, heartbeatTicks, heartbeatTicksBusyMax, heartbeatTicksIdle, joinRetryTicks, messageCharsBudget, snapshotCommandsMin, snapshotLogCharsMin } from './constants.ts'
import { z } from 'zod'

const ballot = (round: number, replica: string) => ({ round, replica })

/** A counter whose `take` rejects when n is too small: rejections depend on state. */
const strict = defineMachine({
  name: 'strict',
  functions: {
    take: fn(counter.functions.add.args, (tx, { by }) => {
      const n = tx.get<number>('n') ?? 0
      if (n < by) throw reject(`not enough: ${n} < ${by}`)
      tx.set('n', n - by)
    }),
    add: counter.functions.add,
  },
})

function lone(id = 'a', members = ['a', 'b', 'c']) {
  return new Replica({ id, members, machine: createMachine(counter), random: createRandom(1) })
}

describe('bad input is dropped and counted, never a crash or a state change', () => {
  const bad: [string, unknown][] = [
    ['not an object', 42],
    ['unknown type', { type: 'Gossip', from: 'b', to: 'a' }],
    ['missing fields', { type: 'NextBallot', from: 'b', to: 'a' }],
    ['negative instance', { type: 'NextBallot', from: 'b', to: 'a', ballot: ballot(1, 'b'), n: -1 }],
    ['fractional round', { type: 'NextBallot', from: 'b', to: 'a', ballot: ballot(1.5, 'b'), n: 1 }],
    ['oversized id', { type: 'NextBallot', from: 'b'.repeat(1000), to: 'a', ballot: ballot(1, 'b'), n: 1 }],
    ['empty BeginBallot', { type: 'BeginBallot', from: 'b', to: 'a', ballot: ballot(1, 'b'), proposals: [] }],
  ]
  for (const [what, message] of bad) {
    it(`malformed: ${what}`, () => {
      const r = lone()
      const before = JSON.stringify(r.status())
      expect(r.step({ type: 'message', message })).toEqual({ ok: false, reason: 'malformed' })
      expect(r.status().counters['dropped.malformed']).toBe(1)
      const after = r.status()
      expect(JSON.stringify({ ...after, counters: {} })).toBe(JSON.stringify({ ...JSON.parse(before), counters: {} }))
      expect(r.ready()).toMatchObject({ persist: [], send: [], issued: [], replies: [] })
    })
  }

  it('misaddressed, unknown sender, bad payload and far-away instances have their own reasons', () => {
    const r = lone()
    const nb = { type: 'NextBallot', from: 'b', to: 'a', ballot: ballot(1, 'b'), n: 1 }
    expect(r.step({ type: 'message', message: { ...nb, to: 'z' } })).toEqual({ ok: false, reason: 'misaddressed' })
    expect(r.step({ type: 'message', message: { ...nb, from: 'mallory' } })).toEqual({ ok: false, reason: 'unknown-sender' })
    const command = { id: 'x', prec: '0', payload: 'not a write-set', ticket: { client: 'c', seq: 1, acked: 0 }, result: null }
    expect(r.step({ type: 'message', message: { type: 'BeginBallot', from: 'b', to: 'a', ballot: ballot(1, 'b'), proposals: [{ instance: 1, command }] } }))
      .toEqual({ ok: false, reason: 'bad-payload' })
    expect(r.step({ type: 'message', message: { type: 'Voted', from: 'b', to: 'a', ballot: ballot(1, 'b'), instances: [1e9] } }))
      .toEqual({ ok: false, reason: 'instance-too-far' })
    expect(r.step({ type: 'call', call: { name: 'add' } })).toEqual({ ok: false, reason: 'bad-call' })
    expect(r.step({ type: 'campaign', round: -3 })).toEqual({ ok: false, reason: 'bad-input' })
    expect(r.step({ type: 'persisted', seq: 99 })).toEqual({ ok: false, reason: 'bad-input' })
    expect(r.status().nextBal).toEqual({ round: 0, replica: '' })
    expect(r.ready().persist).toEqual([])
  })
})

describe('a member that does not know it is one (simulator seed 11129 --membership)', () => {
  it('hears a candidate it counts as an outsider, refuses its ballot, and catches up to where that ballot starts', () => {
    // 'a' was added to a room of 'd' while it was down; its disk still says the members are a, b, c.
    const r = lone()
    const nb = { type: 'NextBallot', from: 'd', to: 'a', ballot: ballot(78, 'd'), n: 39 }
    expect(r.step({ type: 'message', message: nb })).toEqual({ ok: false, reason: 'unknown-sender' })
    // It promises nothing, and tells the candidate where its own log is.
    expect(r.status().nextBal).toEqual({ round: 0, replica: '' })
    expect(r.ready().send).toEqual([{ type: 'CatchUpReply', from: 'a', to: 'd', entries: [], issuedUpTo: 0 }])
    // Then it asks for the log up to the candidate's issued prefix (38), from the members it knows or from the candidate.
    const asked: MessageOf<'CatchUpRequest'>[] = []
    for (let t = 0; t < 40 && !asked.some((m) => m.to === 'd'); t++) {
      r.step({ type: 'tick' })
      for (const m of r.ready().send) if (m.type === 'CatchUpRequest') asked.push(m)
    }
    expect(asked.length).toBeGreaterThan(0)
    for (const m of asked) expect(m.range).toEqual([1, 38])
  })
})

describe('catching up (simulator seed 35317 --membership)', () => {
  it('a leader hint that answers with nothing is not asked again and again: the next ask goes to another peer', () => {
    const r = lone()
    // 'b' leads and says the log is at 5; then it is deposed (or lost its log) and answers every ask with nothing.
    r.step({ type: 'message', message: { type: 'Heartbeat', from: 'b', to: 'a', ballot: ballot(1, 'b'), issuedUpTo: 5, round: 1, clearUpTo: 0, checkpoint: null } })
    r.ready()
    const asked: string[] = []
    for (let t = 0; t < 80 && !asked.includes('c'); t++) {
      r.step({ type: 'tick' })
      for (const m of r.ready().send) {
        if (m.type !== 'CatchUpRequest') continue
        asked.push(m.to)
        if (m.to === 'b') r.step({ type: 'message', message: { type: 'CatchUpReply', from: 'b', to: 'a', entries: [], issuedUpTo: 0 } })
      }
    }
    expect(asked[0]).toBe('b') // the leader first
    expect(asked).toContain('c')
  })
})

describe('durability order (seed 002 steps 1–6)', () => {
  it('NextBallot waits for lastTried, BallotInfo for nextBal, Voted for prevVote', () => {
    const r = lone()
    r.step({ type: 'campaign' })
    let ready = r.ready()
    expect(ready.persist).toEqual([{ kind: 'lastTried', ballot: ballot(1, 'a') }])
    expect(ready.send).toEqual([])
    r.step({ type: 'persisted', seq: ready.persistSeq })
    ready = r.ready()
    expect(ready.send.map((m) => `${m.type}>${m.to}`).sort()).toEqual(['NextBallot>a', 'NextBallot>b', 'NextBallot>c'])

    const f = lone('b')
    f.step({ type: 'message', message: { type: 'NextBallot', from: 'a', to: 'b', ballot: ballot(1, 'a'), n: 1 } })
    ready = f.ready()
    expect(ready.persist).toEqual([{ kind: 'nextBal', ballot: ballot(1, 'a') }])
    expect(ready.send).toEqual([])
    f.step({ type: 'persisted', seq: ready.persistSeq })
    expect(f.ready().send.map((m) => m.type)).toEqual(['BallotInfo'])

    const command = { id: 'x', prec: '0', payload: [], ticket: { client: 'c', seq: 1, acked: 0 }, result: null }
    f.step({ type: 'message', message: { type: 'BeginBallot', from: 'a', to: 'b', ballot: ballot(1, 'a'), proposals: [{ instance: 1, command }] } })
    ready = f.ready()
    expect(ready.persist).toMatchObject([{ kind: 'vote', vote: { instance: 1, ballot: ballot(1, 'a') } }])
    expect(ready.send).toEqual([])
    f.step({ type: 'persisted', seq: ready.persistSeq })
    // To the leader, and to itself (it decides from its vote and the leader's); not to c, which has no command.
    expect(f.ready().send.map((m) => `${m.type}>${m.to}`).sort()).toEqual(['Voted>a', 'Voted>b'])
  })
})

function electA(h: Harness): void {
  h.campaign('a')
  h.deliverAll({ where: (m) => m.type === 'NextBallot' || m.type === 'BallotInfo' })
  h.drop({ type: 'Heartbeat' })
  expect(h.replica('a').status().role).toBe('leader')
}

describe('the leader', () => {
  it('thins the heartbeats of a member it keeps sending commands; an idle room says so in its heartbeats, then beats every heartbeatTicksIdle', () => {
    const h = new Harness(['a', 'b', 'c'], counter)
    electA(h)
    h.deliverAll()
    const beats = new Map<string, number>()
    const idleBeats = new Map<string, number>()
    const run = (ticks: number, busy: boolean) => {
      beats.clear()
      idleBeats.clear()
      for (let t = 0; t < ticks; t++) {
        if (busy) h.call('a', 'add', { by: 1 })
        for (const id of h.ids) h.tick(id)
        for (const m of h.pending({ type: 'Heartbeat' }) as MessageOf<'Heartbeat'>[]) {
          beats.set(m.to, (beats.get(m.to) ?? 0) + 1)
          if (m.idle === true) idleBeats.set(m.to, (idleBeats.get(m.to) ?? 0) + 1)
        }
        h.deliverAll()
      }
    }
    const ticks = 96
    run(ticks, true)
    // Every call's command went to both (a BeginBallot to one, a Success to the other): a heartbeat per heartbeatTicksBusyMax.
    for (const to of ['b', 'c']) expect(beats.get(to)).toBe(ticks / heartbeatTicksBusyMax)
    expect(idleBeats.size).toBe(0)
    expect(h.replica('a').status().issuedUpTo).toBe(ticks)
    // Quiet: beats every heartbeatTicks until the leader has been idle for a
    // while, then a few marked idle at that pace, then the slow pace.
    const warmUp = heartbeatIdleAfterTicks + heartbeatIdleAnnounceTicks
    run(warmUp, false)
    for (const to of ['b', 'c']) {
      // (the first may still be thinned: a command went out just before)
      expect(beats.get(to)).toBeGreaterThanOrEqual(warmUp / heartbeatTicks - 1)
      expect(beats.get(to)).toBeLessThanOrEqual(warmUp / heartbeatTicks)
      expect(idleBeats.get(to)).toBe(heartbeatIdleAnnounceTicks / heartbeatTicks)
    }
    run(10 * heartbeatTicksIdle, false)
    for (const to of ['b', 'c']) expect([beats.get(to), idleBeats.get(to)]).toEqual([10, 10])
    // Nobody doubted the leader, in any phase; a call makes it beat fast again.
    for (const id of ['b', 'c']) expect(h.replica(id).status().leader).toBe('a')
    expect(h.replica('a').status().role).toBe('leader')
    expect(h.replica('a').status().counters['stepDown.noQuorum']).toBeUndefined()
    h.call('b', 'add', { by: 1 })
    run(heartbeatIdleAfterTicks - heartbeatTicks, false)
    for (const to of ['b', 'c']) {
      expect(beats.get(to)).toBeGreaterThanOrEqual((heartbeatIdleAfterTicks - heartbeatTicks) / heartbeatTicks - 1)
      expect(idleBeats.get(to)).toBeUndefined()
    }
  })

  it('a follower restarted in an idle room waits for the slow heartbeats instead of starting an election', () => {
    const h = new Harness(['a', 'b', 'c'], counter)
    electA(h)
    h.deliverAll()
    h.settle(heartbeatIdleAfterTicks + heartbeatIdleAnnounceTicks + 2 * heartbeatTicksIdle)
    h.crash('b')
    h.restart('b')
    // b hears nothing for longer than the short timeout (the next idle beat is up to heartbeatTicksIdle away).
    for (let t = 0; t < electionTicksMax + heartbeatTicksIdle; t++) {
      h.settle(1)
      h.drop({ to: 'b' })
    }
    expect(h.replica('b').status().counters['campaigns']).toBeUndefined()
    h.settle(2 * heartbeatTicksIdle)
    expect(h.replica('b').status().leader).toBe('a')
    expect(h.replica('a').status().role).toBe('leader')
  })

  it('in an idle room, a crashed leader is replaced within electionTicksMax of a call, and within electionIdleFactor election timeouts without one', () => {
    const quiet = () => {
      const h = new Harness(['a', 'b', 'c'], counter)
      electA(h)
      h.deliverAll()
      h.settle(heartbeatIdleAfterTicks + heartbeatIdleAnnounceTicks + 2 * heartbeatTicksIdle)
      expect(h.replica('b').status().leader).toBe('a')
      h.crash('a')
      return h
    }
    const ticksToNewLeader = (h: Harness) => {
      let ticks = 0
      for (; ticks < 10 * electionIdleFactor * electionTicksMax && !['b', 'c'].some((id) => h.replica(id).status().role === 'leader'); ticks++) {
        h.settle(1, ['b', 'c'])
        h.drop({ to: 'a' })
      }
      return ticks
    }
    // Without a call the followers wait longer than the idle beats' gap…
    const idle = ticksToNewLeader(quiet())
    expect(idle).toBeGreaterThanOrEqual(electionIdleFactor * electionTicksMin - heartbeatTicksIdle)
    expect(idle).toBeLessThanOrEqual(electionIdleFactor * electionTicksMax + electionTicksMax)
    // …a call made at b starts the short timeout again.
    const h = quiet()
    h.call('b', 'add', { by: 1 })
    const called = ticksToNewLeader(h)
    expect(called).toBeLessThanOrEqual(electionTicksMax + electionTicksMax)
    h.settle(4 * electionTicksMax, ['b', 'c'])
    expect(h.state('b')).toEqual({ n: 1 })
  })

  it('keeps at most α proposals beyond the issued frontier (bounded pipeline, claim 5)', () => {
    const h = new Harness(['a', 'b', 'c'], counter, { pipelineDepth: 2 })
    electA(h)
    for (let i = 0; i < 5; i++) h.call('a', 'add', { by: 1 })
    const proposed = () => new Set(h.pending({ type: 'BeginBallot' }).flatMap((m) => (m as MessageOf<'BeginBallot'>).proposals.map((p) => p.instance)))
    expect([...proposed()].sort()).toEqual([1, 2])
    expect(h.replica('a').status().nextCommandNo).toBe(3)
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' })
    expect(h.replica('a').status().issuedUpTo).toBe(5)
    expect(h.state('b')).toEqual({ n: 5 })
    expect(h.node('a').replies.map((r) => r.ok && r.result)).toEqual([1, 2, 3, 4, 5])
  })

  it('coalesces a pipeline of large commands into messages within the character budget', () => {
    const blobs = defineMachine({
      name: 'blobs',
      functions: {
        put: fn(z.object({ key: z.string(), size: z.number().int() }), (tx, { key, size }) => tx.set(key, 'x'.repeat(size))),
      },
    })
    const h = new Harness(['a', 'b', 'c'], blobs, { pipelineDepth: 16 })
    electA(h)
    const size = 700_000
    // Twelve calls taken in before one ready(), as a host does within a tick:
    // their proposals go into the same open messages.
    for (let i = 1; i <= 12; i++) h.replica('a').step({ type: 'call', call: { ticket: { client: 'big', seq: i, acked: 0 }, name: 'put', args: { key: `k${i}`, size } } })
    h.pump('a')
    const beginBallots = h.pending({ type: 'BeginBallot' }) as MessageOf<'BeginBallot'>[]
    expect(beginBallots.flatMap((m) => m.proposals).length).toBe(2 * 12) // to a itself and b (a thrifty quorum)
    for (const m of beginBallots) expect(JSON.stringify(m).length).toBeLessThan(messageCharsBudget + commandCharsMax)
    expect(beginBallots.length).toBeGreaterThan(2) // more than one message per peer
    const notHeartbeat = { where: (m: Message) => m.type !== 'Heartbeat' }
    for (let round = 0; round < 100 && h.pending(notHeartbeat).length > 0; round++) {
      for (const m of h.pending(notHeartbeat)) expect(JSON.stringify(m).length).toBeLessThan(messageCharsBudget + commandCharsMax)
      h.deliver(notHeartbeat)
    }
    expect(Object.keys(h.state('c')).length).toBe(12)
  })

  it('refuses a function whose command is too large, and arguments that are too large, with LS unchanged', () => {
    const blobs = defineMachine({
      name: 'blobs',
      functions: {
        put: fn(z.object({ key: z.string(), size: z.number().int() }), (tx, { key, size }) => tx.set(key, 'x'.repeat(size))),
        echo: fn(z.object({ text: z.string() }), (_, { text }) => text.length),
      },
    })
    const h = new Harness(['a', 'b', 'c'], blobs)
    electA(h)
    h.call('a', 'put', { key: 'big', size: commandCharsMax + 1 })
    h.call('a', 'echo', { text: 'y'.repeat(callArgsCharsMax + 1) })
    h.call('a', 'put', { key: 'small', size: 10 })
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' })
    h.settle(50)
    const replies = h.node('a').replies
    expect(replies.map((r) => (r.ok ? 'ok' : r.code)).sort()).toEqual(['invalid-args', 'ok', 'too-large'])
    expect(replies.find((r) => !r.ok && r.code === 'too-large')).toMatchObject({ reason: expect.stringMatching(/at most 1048576/) })
    expect(Object.keys(h.state('b'))).toEqual(['small'])
  })

  it('a leaving replica that does not see itself as a member (its disk missed its addition) still asks the leader to remove it', () => {
    const x = new Replica({ id: 'x', members: ['a', 'b', 'c'], machine: createMachine(counter), random: createRandom(1) })
    x.step({ type: 'leave' })
    x.step({ type: 'message', message: { type: 'Heartbeat', from: 'a', to: 'x', ballot: ballot(3, 'a'), issuedUpTo: 0, round: 1, clearUpTo: 0, checkpoint: null } })
    const sent: string[] = []
    for (let t = 0; t < joinRetryTicks + 1; t++) {
      x.step({ type: 'tick' })
      while (x.hasReady()) for (const m of x.ready().send) sent.push(`${m.type}→${m.to}`)
    }
    expect(sent).toContain('LeaveRequest→a')
    expect(sent.filter((m) => m.startsWith('JoinRequest'))).toEqual([])
  })

  it('answers a call whose arguments are not JSON (a cycle, a BigInt) with invalid-args instead of throwing out of step', () => {
    const h = new Harness(['a', 'b', 'c'], counter)
    electA(h)
    const cyclic: Record<string, unknown> = { by: 1 }
    cyclic.self = cyclic
    h.call('a', 'add', cyclic as never)
    h.call('a', 'add', { by: 1n } as never)
    h.settle(5)
    expect(h.node('a').replies.map((r) => (r.ok ? 'ok' : `${r.code}: ${r.reason}`))).toEqual(['invalid-args: the arguments are not JSON', 'invalid-args: the arguments are not JSON'])
    expect(h.state('b')).toEqual({})
  })

  it('answers a duplicated ExecuteFunction of a rejected call with nothing new (simulator seed 133)', () => {
    const h = new Harness(['a', 'b', 'c'], strict)
    electA(h)
    h.call('b', 'take', { by: 1 }) // rejected: n = 0
    const copy = h.pending({ type: 'ExecuteFunction' })[0]!
    h.deliver({ type: 'ExecuteFunction' })
    h.deliverAll({ where: (m) => m.type === 'Heartbeat' || m.type === 'HeartbeatAck' || m.type === 'CallRejected' })
    expect(h.node('b').replies).toMatchObject([{ ok: false, code: 'rejected' }])
    h.call('a', 'add', { by: 5 })
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' })
    h.deliverMessage(copy) // the network's duplicate arrives late: n = 5 now
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' })
    expect(h.state('a')).toEqual({ n: 5 })
    expect(h.replica('a').status().issuedUpTo).toBe(1)
  })

  it('a deposed leader does not answer "rejected" from its stale state (simulator seed 3531)', () => {
    const h = new Harness(['a', 'b', 'c'], strict)
    electA(h)
    h.drop({})
    // b takes over with c; a hears nothing of it. n becomes 5 and the caller is told.
    h.campaign('b')
    h.deliverAll({ where: (m) => m.to !== 'a' && m.from !== 'a' && (m.type === 'NextBallot' || m.type === 'BallotInfo') })
    h.drop({ to: 'a' })
    h.call('b', 'add', { by: 5 })
    h.deliverAll({ where: (m) => m.to !== 'a' && m.from !== 'a' && m.type !== 'Heartbeat' })
    expect(h.node('b').replies).toMatchObject([{ ok: true, result: 5 }])
    // Now a, still leader in its own eyes, runs take(3) on its stale LS (n = 0).
    h.drop({ to: 'a' })
    h.call('a', 'take', { by: 3 })
    expect(h.replica('a').status().role).toBe('leader')
    expect(h.node('a').replies).toEqual([]) // held: not confirmed by a majority
    // Its confirmation round meets b's ballot: a steps down, re-sends the call, and it succeeds.
    h.deliverAll({ where: (m) => m.type !== 'NextBallot' })
    h.tick('b', 2)
    h.deliverAll({ where: (m) => m.type !== 'NextBallot' })
    h.tick('a', 10)
    h.deliverAll({ where: (m) => m.type !== 'NextBallot' })
    expect(h.replica('a').status().role).toBe('follower')
    expect(h.node('a').replies).toMatchObject([{ ok: true }])
    expect(h.state('b')).toEqual({ n: 2 })
  })

  it('refuses a call copy addressed to another ballot', () => {
    const h = new Harness(['a', 'b', 'c'], counter)
    electA(h)
    h.call('b', 'add', { by: 1 })
    const stale = h.pending({ type: 'ExecuteFunction' })[0] as MessageOf<'ExecuteFunction'>
    h.drop({})
    h.deliverMessage({ ...stale, ballot: ballot(99, 'a') })
    expect(h.replica('a').status().counters['dropped.call-not-leader']).toBe(1)
    expect(h.pending({ type: 'BeginBallot' })).toEqual([])
  })

  it('never executes a call whose command it knows issued beyond a gap (simulator seed 2761)', () => {
    const h = new Harness(['a', 'b', 'c'], counter)
    electA(h)
    h.call('b', 'add', { by: 1 })
    h.call('b', 'add', { by: 2 })
    h.deliverAll({ type: 'ExecuteFunction' })
    h.deliverAll({ type: 'BeginBallot' }) // a and b vote for 1 and 2
    h.deliver({ type: 'Voted', to: 'a' })
    h.drop({ type: 'Voted' })
    // c hears only of instance 2: it knows 2 is issued, not 1.
    const toC = h.pending({ type: 'Success', to: 'c' }) as MessageOf<'Success'>[]
    h.drop({})
    for (const m of toC) {
      const entries = m.entries.filter((e) => e.instance === 2)
      if (entries.length > 0) h.deliverMessage({ ...m, entries })
    }
    expect(h.replica('c').issuedAt(2)).toBeDefined()
    expect(h.replica('c').issuedAt(1)).toBeUndefined()
    // c leads with b; b's second call is re-sent to c under its ticket.
    h.crash('a')
    h.campaign('c')
    h.deliverAll({ where: (m) => m.to !== 'a' && (m.type === 'NextBallot' || m.type === 'BallotInfo') })
    expect(h.replica('c').status()).toMatchObject({ role: 'leader', nextCommandNo: 3 })
    h.deliverAll({ where: (m) => m.to !== 'a' && m.type !== 'Heartbeat' })
    // b learns of instance 2 from c's heartbeat and catches up ([0067]); its
    // re-sent call finds the ticket claimed and gets the first result.
    h.tick('c', 2)
    h.deliverAll({ type: 'Heartbeat', to: 'b' })
    h.tick('b', 20)
    h.deliverAll({ where: (m) => m.to !== 'a' && m.type !== 'Heartbeat' && m.type !== 'NextBallot' })
    expect(h.state('c')).toEqual({ n: 3 })
    expect(h.replica('c').issuedAt(3)).toBeUndefined()
    expect(h.node('b').replies.map((r) => r.ok && r.result)).toEqual([1, 3])
  })
})

describe('liveness', () => {
  /** Replica a, promised to b's ballot 1, has voted b's proposals c1, c2, c3 at 1–3; `settle` persists what a asks and delivers what it sends itself, until quiet. */
  function votedOnThree() {
    const r = lone('a')
    const b1 = ballot(1, 'b')
    const settle = () => {
      for (let i = 0; i < 10 && r.hasReady(); i++) {
        const ready = r.ready()
        if (ready.persist.length > 0) r.step({ type: 'persisted', seq: ready.persistSeq })
        for (const m of ready.send) if (m.to === 'a') r.step({ type: 'loopback', message: m })
      }
    }
    const command = (id: string, prec: string, seq: number) => ({ id, prec, payload: [], ticket: { client: 'c', seq, acked: 0 }, result: null })
    r.step({ type: 'message', message: { type: 'NextBallot', from: 'b', to: 'a', ballot: b1, n: 1 } })
    settle()
    const proposals = [command('c1', '0', 1), command('c2', 'c1', 2), command('c3', 'c2', 3)].map((c, i) => ({ instance: i + 1, command: c }))
    r.step({ type: 'message', message: { type: 'BeginBallot', from: 'b', to: 'a', ballot: b1, proposals } })
    settle()
    return { r, b1, settle }
  }

  it('issues an instance decided while its precedent waited, once the gap below it closes (simulator seed 352)', () => {
    const { r, b1, settle } = votedOnThree()
    // 3 is decided here (a's vote and b's), but waits for its precedent.
    r.step({ type: 'message', message: { type: 'Voted', from: 'b', to: 'a', ballot: b1, instances: [3] } })
    settle()
    // 2 is learned beyond the gap at 1; then 1 closes the gap.
    r.step({ type: 'message', message: { type: 'Success', from: 'b', to: 'a', entries: [{ instance: 2, lockBallot: b1, commandId: 'c2' }] } })
    settle()
    expect(r.status().issuedUpTo).toBe(0)
    r.step({ type: 'message', message: { type: 'Success', from: 'b', to: 'a', entries: [{ instance: 1, lockBallot: b1, commandId: 'c1' }] } })
    settle()
    expect(r.status().issuedUpTo).toBe(3)
  })

  it('issues an instance decided while its precedent waited, when the gap closes by a vote (simulator seed 464, membership, 400 calls)', () => {
    const { r, b1, settle } = votedOnThree()
    // 3 is decided (a's vote and b's) and 2 learned, both beyond the gap at 1…
    r.step({ type: 'message', message: { type: 'Voted', from: 'b', to: 'a', ballot: b1, instances: [3] } })
    r.step({ type: 'message', message: { type: 'Success', from: 'b', to: 'a', entries: [{ instance: 2, lockBallot: b1, commandId: 'c2' }] } })
    settle()
    expect(r.status().issuedUpTo).toBe(0)
    // …then 1 is decided here: issuing it makes 2 the frontier, and 3 follows.
    r.step({ type: 'message', message: { type: 'Voted', from: 'b', to: 'a', ballot: b1, instances: [1] } })
    settle()
    expect(r.status().issuedUpTo).toBe(3)
  })

  it('carries a command with O(|Q|) messages: BeginBallot and Voted within Q, Success with the command outside it', () => {
    const h = new Harness(['a', 'b', 'c'], counter, { votedToAll: false })
    electA(h)
    h.deliverAll()
    const sent: string[] = []
    h.call('a', 'add', { by: 1 })
    for (let i = 0; i < 50 && h.pool.length > 0; i++) {
      for (const m of h.pool) {
        if (m.from === m.to || m.type === 'Heartbeat' || m.type === 'HeartbeatAck') continue
        sent.push(`${m.type} ${m.from}>${m.to}${m.type === 'Success' && m.entries.some((e) => e.command !== undefined) ? ' with the command' : ''}`)
      }
      h.deliver()
    }
    const q = h.pending().length === 0 ? sent.find((s) => s.startsWith('BeginBallot'))!.slice(-1) : '?'
    const other = q === 'b' ? 'c' : 'b'
    expect(sent.sort()).toEqual([`BeginBallot a>${q}`, `Success a>${other} with the command`, `Voted ${q}>a`, `Voted a>${q}`].sort())
    for (const id of ['a', 'b', 'c']) expect(h.state(id)).toEqual({ n: 1 })
  })

  it('a leader that hears no majority steps down, even while it re-proposes to itself (simulator seed 1958)', () => {
    const h = new Harness(['a', 'b', 'c'], counter)
    electA(h)
    // a's vote never becomes durable, so a keeps sending its BeginBallot to
    // itself; nobody else hears it or answers.
    h.holdWrites('a', true)
    h.call('a', 'add', { by: 1 })
    let ticks = 0
    for (; ticks < 5 * electionTicksMax && h.replica('a').status().role === 'leader'; ticks++) {
      h.tick('a')
      h.deliverAll({ from: 'a', to: 'a' })
      h.drop({})
    }
    expect(h.replica('a').status().role).not.toBe('leader')
    expect(ticks).toBeLessThanOrEqual(2 * electionTicksMax)
  })
})

describe('log clearing (seed 001)', () => {
  const blobs = defineMachine({
    name: 'blobs',
    functions: {
      put: fn(z.object({ key: z.string(), size: z.number().int() }), (tx, { key, size }) => tx.set(key, 'x'.repeat(size))),
    },
  })
  /** Calls one at a time, every replica ticking after each (replicas compact on a tick). */
  const callTicking = (h: Harness, args: { key: string; size: number }, count: number) => {
    for (let i = 0; i < count; i++) {
      h.callEach('a', 'put', args, 1)
      for (const id of ['a', 'b', 'c']) h.tick(id)
      h.deliverAll({ where: (m) => m.type !== 'Heartbeat' })
    }
  }

  it('snapshots once the commands since the last snapshot outweigh its state, long before snapshotEvery', () => {
    const h = new Harness(['a', 'b', 'c'], blobs)
    electA(h)
    // Each command writes 2,000 characters over the same key: the state stays
    // one value, the log grows by a command's worth each time.
    callTicking(h, { key: 'k', size: 2_000 }, snapshotCommandsMin + 5)
    for (const id of ['a', 'b', 'c']) expect(h.replica(id).status().snapshotAt).toBe(snapshotCommandsMin)
  })

  it('keeps to snapshotEvery while the commands stay light next to the state', () => {
    const h = new Harness(['a', 'b', 'c'], blobs, { snapshotEvery: 100 })
    electA(h)
    // The first snapshot comes after snapshotCommandsMin (its log holds the
    // big value); after it the state weighs more than 100 small commands.
    callTicking(h, { key: 'big', size: 2 * snapshotLogCharsMin }, 1)
    callTicking(h, { key: 'small', size: 10 }, snapshotCommandsMin + 110)
    for (const id of ['a', 'b', 'c']) expect(h.replica(id).status().snapshotAt).toBe(snapshotCommandsMin + 100)
  })
})

describe('a candidate far behind', () => {
  it('gets a truncated BallotInfo, catches up, and leads with the whole log on a later try', () => {
    const h = new Harness(['a', 'b', 'c'], counter, { pipelineDepth: 64 })
    h.campaign('b')
    h.deliverAll({ where: (m) => m.to !== 'a' && (m.type === 'NextBallot' || m.type === 'BallotInfo') })
    h.drop({})
    const total = 1100 // more than ballotInfoIssuedMax (1024)
    for (let i = 0; i < total; i++) {
      h.call('b', 'add', { by: 1 }, `client-${Math.floor(i / 100)}`) // within a client's window
      if (i % 64 === 63) {
        h.deliverAll({ where: (m) => m.to !== 'a' && m.type !== 'Heartbeat' })
        h.drop({ to: 'a' })
      }
    }
    h.deliverAll({ where: (m) => m.to !== 'a' && m.type !== 'Heartbeat' })
    h.drop({ to: 'a' })
    expect(h.replica('b').status().issuedUpTo).toBe(total)
    expect(h.replica('a').status().issuedUpTo).toBe(0)
    // b goes away; a (empty) campaigns with c (above b's ballot, which it never saw).
    h.crash('b')
    h.campaign('a', 5)
    h.deliverAll({ where: (m) => m.to !== 'b' && (m.type === 'NextBallot' || m.type === 'BallotInfo') })
    const info = h.node('a').replica!.status()
    expect(info.role).toBe('candidate') // c's answer was truncated: not counted
    expect(info.issuedUpTo).toBe(1024) // but what it carried was learned
    // Catch-up brings the rest; the next campaign (later n) completes.
    h.deliverAll({ where: (m) => m.to !== 'b' && (m.type === 'CatchUpRequest' || m.type === 'CatchUpReply') })
    expect(h.replica('a').status().issuedUpTo).toBe(total)
    h.tick('a', 25)
    h.deliverAll({ where: (m) => m.to !== 'b' && m.type !== 'Heartbeat' })
    expect(h.replica('a').status()).toMatchObject({ role: 'leader', issuedUpTo: total, nextCommandNo: total + 1 })
    h.call('a', 'add', { by: 1 })
    h.deliverAll({ where: (m) => m.to !== 'b' && m.type !== 'Heartbeat' })
    expect(h.state('c')).toEqual({ n: total + 1 })
  })
})

describe('restart from stable storage', () => {
  it('a replica rebuilt from its records has the same log and state, and does not lead', () => {
    const h = new Harness(['a', 'b', 'c'], counter)
    electA(h)
    for (let i = 0; i < 3; i++) h.call('a', 'add', { by: 2 })
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' })
    expect(h.state('b')).toEqual({ n: 6 })
    h.crash('b')
    h.restart('b')
    expect(h.state('b')).toEqual({ n: 6 })
    expect(h.replica('b').status()).toMatchObject({ role: 'follower', issuedUpTo: 3, nextBal: ballot(1, 'a') })
    h.crash('a')
    h.restart('a')
    expect(h.replica('a').status()).toMatchObject({ role: 'follower', lastTried: ballot(1, 'a') })
    // Its next ballot is above the one it persisted.
    h.campaign('a')
    expect((h.pending({ type: 'NextBallot' })[0] as Message & { ballot: { round: number } }).ballot.round).toBe(2)
  })
})

describe('local calls', () => {
  it('parseLocalCall agrees with localCallSchema', async () => {
    const { localCallSchemaForTests } = await import('./replica.ts')
    const fc = (await import('fast-check')).default
    const anything = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -2, max: 3 }), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined))
    const ticket = fc.oneof(anything, fc.record({ client: fc.oneof(anything, fc.string({ minLength: 120, maxLength: 130 })), seq: anything, acked: anything }, { requiredKeys: [] }))
    const call = fc.record({ ticket, name: fc.oneof(anything, fc.constant('add')), args: anything, resubmit: anything }, { requiredKeys: [] })
    fc.assert(
      fc.property(call, (raw) => {
        const r = lone()
        const accepted = r.step({ type: 'call', call: raw }).ok
        expect(accepted).toBe(localCallSchemaForTests.safeParse(raw).success)
      }),
      { numRuns: 3000 },
    )
  })
})
