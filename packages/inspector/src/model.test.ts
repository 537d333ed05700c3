import { describe, expect, it } from 'vitest'
import type { ReplicaReport, StoreStatus } from '@concord/client'
import { InspectorModel, problemOf, reportStaleMs, timelineSamplesMax } from './model.ts'

const report = (id: string, issuedUpTo: number, digest: string, received = 0): ReplicaReport => ({
  id, role: id === 'a' ? 'leader' : 'follower', leader: 'a', ballot: '1.a', members: ['a', 'b', 'c'], issuedUpTo, votedUpTo: issuedUpTo, logStart: 1, logSize: issuedUpTo, snapshotAt: 0,
  digest, counters: { 'received.Vote': received, 'digest.mismatch': 99 }, pendingCalls: 0, writes: 0, writeMsAverage: 0, connected: [], failed: null, storageBytes: null,
})
const status = (over: Partial<StoreStatus>): StoreStatus => ({
  replicaId: 'a', role: 'leader', leader: 'a', ballot: '1.a', members: ['a', 'b', 'c'], voter: true, connected: ['b', 'c'], lastIssued: 0, lag: 0, pendingCalls: 0, speculativeCalls: 0,
  framesDropped: 0, peersRefused: 0, lastRefusal: null, writes: 0, writeMsAverage: 0, lastOutOfSync: null, adopted: [], signaling: 'open', failed: null, recoveries: 0, lastStorageFailure: null, ...over,
})

describe('inspector model', () => {
  it('derives message rates from two reports, flags differing digests at one instance, and unreachable replicas', () => {
    const model = new InspectorModel()
    model.update(report('a', 5, 'x', 10), 0)
    model.update(report('a', 6, 'y', 40), 1_000)
    model.update(report('b', 6, 'z', 0), 1_000)
    model.update(report('c', 4, 'w', 0), 1_000 - reportStaleMs)
    const rows = model.rows(['a', 'b', 'c'], 1_000)
    expect(rows.map((r) => [r.report.id, r.messagesPerSec, r.digestDiffers, r.stale])).toEqual([
      ['a', 30, true, false],
      ['b', null, true, false],
      ['c', null, false, true],
    ])
  })

  it('turns status changes into events: elections, joins, leaves, lost links, signaling, storage', () => {
    const model = new InspectorModel()
    model.observe(status({}), 0)
    model.observe(status({ leader: 'b', ballot: '2.b', members: ['a', 'b', 'c', 'd'], connected: ['b'], signaling: 'connecting', failed: 'QuotaExceededError' }), 1)
    expect(model.events.map((e) => e.kind).sort()).toEqual(['election', 'election', 'join', 'network', 'network', 'storage'])
    expect(model.events.at(-1)!.text).toBe('a leads, ballot 1.a (3 members)')
    model.sample(2)
    expect(model.samples[0]!.events.length).toBe(6)
    for (let i = 0; i < timelineSamplesMax + 5; i++) model.sample(3 + i)
    expect(model.samples.length).toBe(timelineSamplesMax)
  })

  it('says in words what a user must know, worst first', () => {
    expect(problemOf(status({}))).toBeNull()
    expect(problemOf(status({ connected: ['b'] }))?.text).toMatch(/Lost contact with c/)
    expect(problemOf(status({ signaling: 'connecting' }))?.text).toMatch(/signaling server is unreachable/)
    expect(problemOf(status({ connected: [] }))).toMatchObject({ level: 'error', text: expect.stringMatching(/No majority/) })
    expect(problemOf(status({ failed: 'QuotaExceededError (the disk is full)' }))).toMatchObject({ level: 'error', text: expect.stringMatching(/Storage failed.*free some disk space/) })
  })
})
