import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { Message } from './types.ts'
import { Harness } from '../../sim/src/harness.ts'
import { counter } from '../../sim/src/models.ts'

/**
 * Random and mutated messages thrown at a live replica (issue 9 §2): it never
 * crashes, and an input it refuses changes nothing. `npm run fuzz` runs many
 * more cases (FUZZ_RUNS).
 */
const runs = Number(process.env.FUZZ_RUNS ?? 150)

/** A small live room, and every message that crossed its network. */
function liveRoom(): { h: Harness; corpus: Message[] } {
  const h = new Harness(['a', 'b', 'c'], counter)
  const corpus: Message[] = []
  const deliver = (filter: Parameters<Harness['deliver']>[0] = {}) => {
    corpus.push(...h.pending(filter))
    h.deliverAll(filter)
  }
  h.campaign('a')
  deliver({ where: (m) => m.type === 'NextBallot' || m.type === 'BallotInfo' })
  h.call('b', 'add', { by: 1 })
  h.call('a', 'add', { by: 2 })
  deliver({ where: (m) => m.type !== 'Heartbeat' })
  h.tick('a', 2)
  h.call('c', 'add', { by: 3 })
  corpus.push(...h.pending())
  return { h, corpus }
}

/** A structure-aware mutation: change, drop or add one field somewhere in the message. */
function mutate(value: unknown, path: number[], replacement: unknown, mode: number): unknown {
  if (typeof value !== 'object' || value === null) return replacement
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) }
  const keys = Object.keys(copy)
  if (keys.length === 0) return replacement
  const key = keys[path[0]! % keys.length]!
  const rest = path.slice(1)
  if (rest.length === 0 || typeof (copy as Record<string, unknown>)[key] !== 'object') {
    if (mode === 0) delete (copy as Record<string, unknown>)[key]
    else if (mode === 1) (copy as Record<string, unknown>)[`${key}_extra`] = replacement
    else (copy as Record<string, unknown>)[key] = replacement
    return copy
  }
  ;(copy as Record<string, unknown>)[key] = mutate((copy as Record<string, unknown>)[key], rest, replacement, mode)
  return copy
}

const weird = fc.oneof(
  fc.anything(),
  fc.constantFrom(-1, 0, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1.5, NaN, Infinity, '', 'a'.repeat(5000), null, [], {}, true),
)

describe('fuzzing the core', () => {
  it('a replica never crashes on random or mutated messages, and what it refuses changes nothing', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.constantFrom('a', 'b', 'c'),
        fc.oneof(
          weird.map((junk) => ({ kind: 'junk' as const, junk })),
          fc.record({ kind: fc.constant('mutant' as const), pick: fc.nat(), path: fc.array(fc.nat(), { minLength: 1, maxLength: 5 }), replacement: weird, mode: fc.nat({ max: 2 }) }),
        ),
        (_seed, target, input) => {
          const { h, corpus } = liveRoom()
          const replica = h.replica(target)
          h.pump(target)
          let message: unknown
          if (input.kind === 'junk') message = input.junk
          else {
            const base = corpus[input.pick % corpus.length]!
            message = mutate({ ...base, to: target }, input.path, input.replacement, input.mode)
          }
          const before = JSON.stringify({ ...replica.status(), counters: null })
          const result = replica.step({ type: 'message', message }) // must not throw
          if (!result.ok) {
            expect(JSON.stringify({ ...replica.status(), counters: null })).toBe(before)
            const ready = replica.ready()
            expect(ready).toMatchObject({ persist: [], issued: [], replies: [] })
            // The one answer to a refused message: a ballot from outside the membership is told
            // where the log is (seed 004 fencing), with no entries — it changes nothing here.
            const from = (message as { from?: unknown } | null)?.from
            for (const sent of ready.send) expect(sent).toEqual({ type: 'CatchUpReply', from: target, to: from, entries: [], issuedUpTo: replica.status().issuedUpTo })
          }
          // The replica still works: the room finishes its calls.
          h.pump(target)
          h.deliverAll({ where: (m) => m.type !== 'Heartbeat' && m.type !== 'NextBallot' })
        },
      ),
      { numRuns: runs },
    )
  })

  it('a NextBallot starting at instance 2^51 does not freeze the room (npm run fuzz: the leader walked the whole missing range of the answer)', () => {
    const { h } = liveRoom()
    const started = performance.now()
    h.deliverMessage({ type: 'NextBallot', from: 'a', to: 'b', ballot: { round: 1, replica: 'a' }, n: 2893792332303889 })
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' && m.type !== 'NextBallot' })
    expect(performance.now() - started).toBeLessThan(1_000)
  })

  it('a peer claiming a command that contradicts the log is not believed, and the replica goes on', () => {
    const { h } = liveRoom()
    h.deliverAll({ where: (m) => m.type !== 'Heartbeat' })
    const issued = h.replica('b').issuedAt(1)!
    const forged = { ...issued.command, id: 'forged', payload: [{ op: 'set', key: 'n', value: 999 }] }
    h.deliverMessage({ type: 'Success', from: 'c', to: 'b', entries: [{ instance: 1, lockBallot: issued.lockBallot, commandId: 'forged', command: forged }] })
    h.deliverMessage({ type: 'CatchUpReply', from: 'c', to: 'b', entries: [{ instance: 1, lockBallot: issued.lockBallot, command: forged }], issuedUpTo: 1 })
    const status = h.replica('b').status()
    expect(status.counters['dropped.conflict']).toBe(2)
    expect(status.lastConflict).toMatch(/forged claimed at 1/)
    expect(h.state('b')).toEqual(h.state('a'))
  })
})
