import { describe, expect, it } from 'vitest'
import type { Message } from '@concord/core'
import { Harness } from '../harness.ts'
import { counter } from '../models.ts'

/**
 * Scenarios M6 (shared/scenarios/membership.md, seed 004 FIG. 9) on real
 * replicas: a cluster of six (0–5, crown prince 5) is split; only a side
 * with more than half, or exactly half with the prince, makes progress.
 * (Membership is static here; M1–M5, M6d, M7 and M8 need reconfiguration
 * through the log, the next slice of issue 5.)
 */
const ids = ['0', '1', '2', '3', '4', '5']

/** Run the cluster with messages between the two sides dropped. */
function runSplit(h: Harness, side: readonly string[], ticks: number): void {
  const crosses = (m: Message) => side.includes(m.from) !== side.includes(m.to)
  for (let t = 0; t < ticks; t++) {
    for (const id of ids) if (h.node(id).replica !== null) h.tick(id)
    for (let round = 0; round < 50 && h.pool.length > 0; round++) {
      h.drop({ where: crosses })
      h.deliver()
    }
  }
}

function issued(h: Harness, id: string): number {
  return h.replica(id).status().issuedUpTo
}

describe('seed 004 quorum on real replicas (scenarios M6)', () => {
  it('M6a: a 3–3 split; the half with the crown prince goes on, the other stops', () => {
    const h = new Harness(ids, counter)
    h.campaign('0')
    h.deliverAll()
    h.call('0', 'add', { by: 1 })
    h.deliverAll()
    expect(issued(h, '0')).toBe(1)
    const prince = ['3', '4', '5']
    const other = ['0', '1', '2']
    h.call('0', 'add', { by: 1 }) // the old leader's side: never issued
    h.call('4', 'add', { by: 10 })
    runSplit(h, prince, 80)
    for (const id of prince) expect(issued(h, id)).toBe(2)
    for (const id of other) expect(issued(h, id)).toBe(1)
    for (const id of prince) expect(h.state(id)).toEqual({ n: 11 })
    expect(prince.some((id) => h.replica(id).status().role === 'leader')).toBe(true)
    expect(other.some((id) => h.replica(id).status().role === 'leader')).toBe(false)
  })

  it('M6b: a 2–4 split; the four go on, the two stop', () => {
    const h = new Harness(ids, counter)
    h.campaign('1')
    h.deliverAll()
    const big = ['2', '3', '4', '5']
    h.call('0', 'add', { by: 1 })
    h.call('2', 'add', { by: 5 })
    runSplit(h, big, 80)
    for (const id of big) expect(h.state(id)).toEqual({ n: 5 })
    for (const id of ['0', '1']) expect(issued(h, id)).toBe(0)
  })

  it('M6c: the prince\'s half crashes; the survivors, exactly half without it, stop', () => {
    const h = new Harness(ids, counter)
    h.campaign('0')
    h.deliverAll()
    for (const id of ['3', '4', '5']) h.crash(id)
    h.call('1', 'add', { by: 1 })
    runSplit(h, ['0', '1', '2'], 80)
    for (const id of ['0', '1', '2']) expect(issued(h, id)).toBe(0)
    // The intended availability cost: one of the others back makes four of six.
    h.restart('3')
    runSplit(h, ['0', '1', '2', '3'], 80)
    for (const id of ['0', '1', '2', '3']) expect(h.state(id)).toEqual({ n: 1 })
  })
})
