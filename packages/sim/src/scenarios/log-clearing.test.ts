import { describe, expect, it } from 'vitest'
import { heartbeatTicks, heartbeatTicksBusyMax } from '@concord/core'
import { Harness } from '../harness.ts'
import { counter } from '../models.ts'

/**
 * Seed 001 (log clearing and laggard sync), as we carry it: the leader learns
 * each member's applied prefix from heartbeat acks (the "received"
 * indicators), tells everyone the least of them (clearUpTo), and each replica
 * advances its start-of-log pointer to it behind a snapshot. A laggard whose
 * missing commands were cleared gets the snapshot in chunks, then the rest.
 */
const ids = ['A', 'B', 'C']

describe('seed 001: log clearing behind snapshots', () => {
  it('clears the log on every replica once all have applied, keeping memory and storage bounded', () => {
    const h = new Harness(ids, counter, { snapshotEvery: 10 })
    h.campaign('A')
    h.deliverAll()
    for (let round = 0; round < 9; round++) {
      h.callEach('B', 'add', { by: 1 }, 10)
      h.settle(3)
    }
    h.callEach('B', 'add', { by: 1 }, 5)
    // Two heartbeats carry it (an ack of the applied prefix, then clearUpTo), and a member
    // the leader has just sent commands waits up to heartbeatTicksBusyMax for the first.
    h.settle(heartbeatTicksBusyMax + 2 * heartbeatTicks)
    for (const id of ids) {
      const status = h.replica(id).status()
      expect(status.issuedUpTo).toBe(95)
      // A snapshot every 10 commands (taken on the next tick); the log starts at the latest.
      expect(status.snapshotAt).toBe(90)
      expect(status.logStart).toBe(90)
      expect(status.logSize).toBe(6) // 90..95
      expect(status.counters.snapshots).toBe(9)
      expect(h.node(id).disk.snapshot?.anchor.instance).toBe(90)
      expect([...h.node(id).disk.issued.keys()].sort((a, b) => a - b)).toEqual([90, 91, 92, 93, 94, 95])
      expect(h.state(id)).toEqual({ n: 95 })
    }
  })

  it('does not clear what a live member has not applied (seed 001: all must acknowledge)', () => {
    const h = new Harness(ids, counter, { snapshotEvery: 10, clearSilentTicks: 1000 })
    h.campaign('A')
    h.deliverAll()
    h.callEach('A', 'add', { by: 1 }, 12)
    h.settle(4)
    // C stops applying: its heartbeat acks still flow, but no command reaches it.
    const starved = (m: { to: string; type: string }) => m.to === 'C' && ['BeginBallot', 'Success', 'CatchUpReply', 'SnapshotChunk'].includes(m.type)
    const deliverButStarveC = () => {
      h.deliverAll({ where: (m) => !starved(m) })
      h.drop({ where: starved })
    }
    for (let i = 0; i < 30; i++) {
      h.call('A', 'add', { by: 1 })
      deliverButStarveC()
      if (i === 27) for (const id of ids) h.tick(id) // A and B snapshot at 40
    }
    for (let t = 0; t < 6; t++) {
      for (const id of ids) h.tick(id)
      deliverButStarveC()
    }
    expect(h.replica('C').status().issuedUpTo).toBe(12)
    for (const id of ['A', 'B']) {
      const status = h.replica(id).status()
      expect(status.issuedUpTo).toBe(42)
      expect(status.snapshotAt).toBe(40)
      // Held back by C's acknowledged prefix (12), not by the snapshot (40).
      expect(status.logStart).toBe(12)
    }
    // Once C catches up, clearing goes on.
    h.settle(10)
    for (const id of ids) {
      const status = h.replica(id).status()
      expect(status.logStart).toBeGreaterThanOrEqual(40) // each replica snapshots on its own ticks
      expect(status.logStart).toBe(status.snapshotAt)
    }
  })

  it('sends a laggard whose missing commands were cleared the snapshot, in chunks, then the rest', () => {
    const h = new Harness(ids, counter, { snapshotEvery: 8, clearSilentTicks: 5, snapshotChunkChars: 16 })
    h.campaign('A')
    h.deliverAll()
    h.callEach('A', 'add', { by: 1 }, 3)
    h.crash('C')
    h.callEach('B', 'add', { by: 1 }, 40)
    h.settle(10, ['A', 'B']) // C is silent: A and B clear without it
    expect(h.replica('A').status().logStart).toBeGreaterThan(3)
    h.restart('C')
    const chunks = () => h.pending({ type: 'SnapshotChunk', to: 'C' }).length
    let chunksSeen = 0
    for (let t = 0; t < 40 && h.replica('C').status().issuedUpTo < 43; t++) {
      for (const id of ids) h.tick(id)
      for (let i = 0; i < 200 && h.pool.length > 0; i++) {
        chunksSeen += chunks()
        h.deliver()
      }
    }
    const c = h.replica('C').status()
    expect(c.issuedUpTo).toBe(43)
    expect(c.counters['snapshots.received']).toBe(1)
    expect(chunksSeen).toBeGreaterThan(2) // the body took several chunks of 16 characters
    expect(h.node('C').installed.at(-1)).toBe(c.snapshotAt)
    expect(h.state('C')).toEqual({ n: 43 })
    // The table of tickets came with the snapshot: B's last call, re-sent
    // through C, is answered with its first outcome and not run again.
    h.replica('C').step({ type: 'call', call: { ticket: { client: 'client-B', seq: 40, acked: 0 }, name: 'add', args: { by: 1 } } })
    h.pump('C')
    expect(h.node('C').replies.at(-1)).toMatchObject({ ok: true, result: 43, instance: 43 })
    expect(h.state('C')).toEqual({ n: 43 })
    // C's own calls work afterwards.
    h.call('C', 'add', { by: 1 })
    h.settle(5)
    for (const id of ids) expect(h.state(id)).toEqual({ n: 44 })
  })

  it('restarts from its stored snapshot and the entries after it', () => {
    const h = new Harness(ids, counter, { snapshotEvery: 5 })
    h.campaign('A')
    h.deliverAll()
    h.callEach('A', 'add', { by: 1 }, 20)
    h.settle(4)
    h.callEach('A', 'add', { by: 1 }, 3)
    h.crash('B')
    h.restart('B')
    const b = h.replica('B').status()
    expect(b.issuedUpTo).toBe(23)
    expect(b.snapshotAt).toBe(20)
    expect(h.node('B').installed).toEqual([20])
    expect(h.node('B').issued.map((e) => e.instance)).toEqual([21, 22, 23])
    expect(h.state('B')).toEqual({ n: 23 })
  })
})
