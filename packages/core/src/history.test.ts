import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { initHistProc } from './history.ts'
import type { Command, Vote } from './types.ts'

/**
 * InitHistProc against a dumb reference (etcd's quorum/quick_test.go style):
 * the reference sorts every vote by ballot, newest first, and at each instance
 * takes the first one whose precedent is the chosen command before it.
 */
function reference(votes: Vote[], from: number, prec0: string): string[] {
  const chosen: string[] = []
  let prev = prec0
  for (let m = from; ; m++) {
    const sorted = votes.filter((v) => v.instance === m).sort((a, b) => b.ballot.round - a.ballot.round || (b.ballot.replica < a.ballot.replica ? -1 : 1))
    const pick = sorted.find((v) => v.command.prec === prev)
    if (pick === undefined) return chosen
    chosen.push(pick.command.id)
    prev = pick.command.id
  }
}

const cmd = (id: string, prec: string): Command => ({ id, prec, payload: [], ticket: { client: 'c', seq: 0, acked: 0 }, result: null })

describe('InitHistProc', () => {
  it('matches the reference on random vote sets', () => {
    // Commands c<m>_<k> at instance m, each with a precedent among instance m−1's.
    const arbitrary = fc.array(fc.record({ m: fc.integer({ min: 1, max: 5 }), k: fc.integer({ min: 0, max: 2 }), p: fc.integer({ min: 0, max: 2 }), round: fc.integer({ min: 1, max: 6 }), voter: fc.constantFrom('a', 'b', 'c') }), { maxLength: 25 })
    fc.assert(
      fc.property(arbitrary, (raw) => {
        // One command per (instance, ballot): B1.
        const seen = new Map<string, Vote>()
        for (const r of raw) {
          const key = `${r.m}/${r.round}`
          if (seen.has(key)) continue
          const prec = r.m === 1 ? '0' : `c${r.m - 1}_${r.p}`
          seen.set(key, { instance: r.m, ballot: { round: r.round, replica: 'L' }, command: cmd(`c${r.m}_${r.k}_${r.round}`, prec) })
        }
        // Precedents name commands by (instance, k): make ids match that scheme.
        const votes = [...seen.values()].map((v) => ({ ...v, command: { ...v.command, id: v.command.id.split('_').slice(0, 2).join('_') } }))
        // Same id at one instance must mean the same command: keep the newest ballot's prec per id.
        const byId = new Map<string, string>()
        for (const v of votes.sort((a, b) => b.ballot.round - a.ballot.round)) if (!byId.has(`${v.instance}/${v.command.id}`)) byId.set(`${v.instance}/${v.command.id}`, v.command.prec)
        const consistent = votes.filter((v) => byId.get(`${v.instance}/${v.command.id}`) === v.command.prec)
        const result = initHistProc({ from: 1, precedentOfFrom: '0', issued: () => undefined, votes: (m) => consistent.filter((v) => v.instance === m) })
        expect(result.history.map((p) => p.command.id)).toEqual(reference(consistent, 1, '0'))
        expect(result.nextCommandNo).toBe(1 + result.history.length)
      }),
      { numRuns: 500 },
    )
  })

  it('passes known issued commands through and stops at the first instance with no anchored vote', () => {
    const a = cmd('a', '0')
    const b = cmd('b', 'a')
    const c = cmd('c', 'b')
    const stray = cmd('s', 'zzz')
    const result = initHistProc({
      from: 1,
      precedentOfFrom: '0',
      issued: (m) => (m === 2 ? b : undefined),
      votes: (m) => (m === 1 ? [{ instance: 1, ballot: { round: 1, replica: 'x' }, command: a }] : m === 3 ? [{ instance: 3, ballot: { round: 2, replica: 'x' }, command: c }] : m === 4 ? [{ instance: 4, ballot: { round: 9, replica: 'x' }, command: stray }] : []),
    })
    expect(result.history.map((p) => [p.instance, p.command.id])).toEqual([[1, 'a'], [3, 'c']])
    expect(result.nextCommandNo).toBe(4)
    expect(result.lastCommandId).toBe('c')
  })
})
