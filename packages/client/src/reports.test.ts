import { describe, expect, it } from 'vitest'
import { Reports, reportIntervalMs, reportPrefix, reportRequest, type ReplicaReport } from './reports.ts'

const reportOf = (id: string): ReplicaReport => ({
  id, role: 'follower', leader: 'a', ballot: '2.a', members: ['a', 'b'], issuedUpTo: 5, votedUpTo: 6, logStart: 1, logSize: 5, snapshotAt: 0,
  digest: 'abc', counters: { 'sent.Vote': 3 }, pendingCalls: 0, writes: 4, writeMsAverage: 1.5, connected: ['a'], failed: null, storageBytes: null,
})

function setup(self: string, peers: string[]) {
  const sent: [string, string][] = []
  const reports = new Reports({ send: (to, message) => void sent.push([to, message]), connectedPeers: () => peers, local: async () => reportOf(self) })
  const seen: ReplicaReport[] = []
  reports.onReport((r) => seen.push(r))
  return { sent, reports, seen }
}

describe('replica reports for the inspector: asked of peers over the data channels', () => {
  it('asks every open link, answers a request with its own report, and takes a valid answer', async () => {
    const { sent, reports, seen } = setup('b', ['a', 'c'])
    reports.request()
    expect(sent).toEqual([['a', reportRequest], ['c', reportRequest]])
    expect(reports.receive('a', reportRequest, 0)).toBe(true)
    await Promise.resolve()
    await Promise.resolve()
    expect(sent.at(-1)).toEqual(['a', reportPrefix + JSON.stringify(reportOf('b'))])
    expect(reports.receive('c', reportPrefix + JSON.stringify(reportOf('c')), 0)).toBe(true)
    expect(seen).toEqual([reportOf('c')])
    expect(reports.receive('c', '{"type":"Vote"}', 0)).toBe(false)
  })

  it('drops and counts a malformed answer, an answer in another replica\'s name, and requests made too often', () => {
    const { reports, seen } = setup('b', ['a'])
    reports.receive('a', `${reportPrefix}{not json`, 0)
    reports.receive('a', reportPrefix + JSON.stringify({ ...reportOf('a'), issuedUpTo: -1 }), 0)
    reports.receive('a', reportPrefix + JSON.stringify(reportOf('c')), 0)
    reports.receive('a', reportPrefix + JSON.stringify({ ...reportOf('a'), failed: 'x'.repeat(20_000) }), 0)
    expect(seen).toEqual([])
    expect(reports.dropped).toBe(4)
    reports.receive('a', reportRequest, 0)
    reports.receive('a', reportRequest, reportIntervalMs - 1)
    expect(reports.dropped).toBe(5)
    reports.receive('a', reportRequest, reportIntervalMs)
    expect(reports.dropped).toBe(5)
  })
})
