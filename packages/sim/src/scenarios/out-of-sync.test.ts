import { describe, expect, it } from 'vitest'
import type { Message, MessageOf, ReplicaEvent } from '@concord/core'
import { Harness } from '../harness.ts'
import { counter } from '../models.ts'

/**
 * Seed 000 (out-of-sync detection by voting on results), as we carry it:
 * every replica digests its machine state at checkpoints; the leader sends
 * its digest with heartbeats; replicas report theirs; digests are grouped.
 */
const ids = ['A', 'B', 'C']

/** Corrupt a replica's machine state (a bit flip in memory): a key no command writes. */
function corrupt(h: Harness, id: string, junk: number): void {
  h.node(id).machine.load({ ...h.state(id), junk })
}

const events = (h: Harness, id: string): ReplicaEvent[] => h.node(id).events

/** Six ticks of every replica, delivering everything but messages of `type`, which are lost. */
function runLosing(h: Harness, type: Message['type']): void {
  for (let t = 0; t < 6; t++) {
    for (const id of ids) h.tick(id)
    for (let round = 0; round < 100; round++) {
      h.drop({ type })
      if (h.deliver() === 0) break
    }
  }
}

/** A room of A, B, C that digests every 4 instances, led by A, after `calls` calls. */
function ledByA(calls: number): Harness {
  const h = new Harness(ids, counter, { digestEvery: 4 })
  h.campaign('A')
  h.deliverAll()
  h.callEach('A', 'add', { by: 1 }, calls)
  return h
}

describe('seed 000: out-of-sync detection', () => {
  it('a follower whose state differs from the majority is told to refresh, and does', () => {
    const h = ledByA(6)
    corrupt(h, 'C', 1000)
    h.callEach('A', 'add', { by: 1 }, 2) // checkpoint at 8
    h.settle(4)
    expect(events(h, 'A').map((e) => e.kind)).toContain('resync-sent')
    const refreshing = events(h, 'C').find((e) => e.kind === 'refreshing')!
    expect(refreshing.instance).toBe(8)
    expect(refreshing.digests.C).not.toBe(refreshing.digests.A)
    expect(refreshing.command).toBe(h.replica('A').issuedAt(8)!.command.id)
    for (const id of ids) expect(h.state(id)).toEqual({ n: 8 })
    expect(h.replica('C').status().lastOutOfSync?.kind).toBe('refreshing')
    expect(h.replica('C').status().issuedUpTo).toBe(8)
    // C refreshed from A's state, not by re-running its log: it now agrees.
    h.callEach('B', 'add', { by: 1 }, 4)
    h.settle(4)
    for (const id of ids) expect(h.state(id)).toEqual({ n: 12 })
    expect(events(h, 'C').filter((e) => e.kind === 'refreshing')).toHaveLength(1)
  })

  it('a follower whose report went to a leader that lost its place reports again to the next one, and is refreshed (e2e, under load)', () => {
    const h = ledByA(6)
    corrupt(h, 'C', 1000)
    h.call('A', 'add', { by: 1 })
    h.call('A', 'add', { by: 1 }) // checkpoint at 8
    // Every report of that checkpoint is lost (A lost the lead before reading them).
    runLosing(h, 'DigestReport')
    expect(h.replica('C').status().counters['digest.mismatch']).toBe(1)
    expect(events(h, 'C').map((e) => e.kind)).not.toContain('refreshing')
    // B leads; its heartbeats carry its own checkpoint at 8.
    h.campaign('B', 50)
    h.settle(10)
    expect(h.replica('B').status().role).toBe('leader')
    expect(events(h, 'C').map((e) => e.kind)).toContain('refreshing')
    for (const id of ids) expect(h.state(id)).toEqual({ n: 8 })
  })

  it('a replica being refreshed takes no part in voting until its snapshot is installed (claim 3)', () => {
    const h = ledByA(6)
    corrupt(h, 'C', 1000)
    h.call('A', 'add', { by: 1 })
    h.call('A', 'add', { by: 1 }) // checkpoint at 8
    // Run, but C's snapshot never arrives.
    runLosing(h, 'SnapshotChunk')
    expect(events(h, 'C').map((e) => e.kind)).toContain('refreshing')
    const beginBallot = (instance: number) => ({ type: 'BeginBallot' as const, from: 'A', to: 'C', ballot: h.replica('A').status().nextBal, proposals: [{ instance, command: h.replica('A').issuedAt(8)!.command }] })
    h.deliverMessage(beginBallot(9))
    expect(h.pending({ type: 'Voted', from: 'C' })).toEqual([])
    expect(h.replica('C').status().counters['notVoted.refreshing']).toBe(1)
    // The snapshot arrives: C agrees again, and votes again.
    h.settle(30)
    for (const id of ids) expect(h.state(id)).toEqual({ n: 8 })
    h.drop({ type: 'Voted', from: 'C' })
    h.deliverMessage(beginBallot(9))
    expect(h.pending({ type: 'Voted', from: 'C' }).flatMap((m) => (m as MessageOf<'Voted'>).instances)).toContain(9)
  })

  it('a leader outvoted by a majority with another digest steps down and refreshes from it', () => {
    const h = ledByA(3)
    // B and C agree with each other on a state A does not have.
    corrupt(h, 'B', 70)
    corrupt(h, 'C', 70)
    h.callEach('A', 'add', { by: 1 }, 1) // checkpoint at 4
    h.settle(4)
    const event = events(h, 'A').find((e) => e.kind === 'leader-out-of-sync')!
    expect(event.instance).toBe(4)
    expect(event.digests.B).toBe(event.digests.C)
    expect(event.digests.A).not.toBe(event.digests.B)
    expect(h.replica('A').status().counters['outOfSync.leader-out-of-sync']).toBe(1)
    h.settle(30)
    // The majority's state is the truth seed 000's vote settles on.
    for (const id of ids) expect(h.state(id)).toEqual({ n: 4, junk: 70 })
  })

  it('no majority for any digest is reported loudly and nobody refreshes (a non-deterministic apply)', () => {
    const h = ledByA(3)
    corrupt(h, 'B', 50)
    corrupt(h, 'C', 60)
    h.callEach('A', 'add', { by: 1 }, 1)
    h.settle(4)
    const diverged = events(h, 'A').filter((e) => e.kind === 'diverged')
    expect(diverged).toHaveLength(1)
    expect(new Set(Object.values(diverged[0]!.digests)).size).toBe(3)
    expect(events(h, 'B').concat(events(h, 'C'))).toEqual([])
    expect(h.replica('A').status().role).toBe('leader')
  })

  it('a quiet room is checked too: the leader makes a checkpoint when nothing is in flight', () => {
    const h = new Harness(ids, counter, { digestEvery: 1000 })
    h.campaign('A')
    h.deliverAll()
    h.callEach('A', 'add', { by: 1 }, 5)
    corrupt(h, 'C', 9)
    h.settle(60)
    expect(events(h, 'C').map((e) => e.kind)).toEqual(['refreshing'])
    expect(events(h, 'C')[0]!.instance).toBe(5)
    for (const id of ids) expect(h.state(id)).toEqual({ n: 5 })
  })
})
