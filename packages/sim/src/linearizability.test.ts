import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { checkLinearizable, type Operation } from './linearizability.ts'
import { counterModel, warehouseModel } from './models.ts'

const op = (client: string, name: string, args: object, result: unknown, call: number, ret: number, ok = true): Operation => ({
  client, name, args: args as never, call, ret, output: ok ? { ok: true, result: result as never } : { ok: false, reason: 'no' },
})
const unknown = (client: string, name: string, args: object, call: number): Operation => ({ client, name, args: args as never, call, ret: Infinity, output: undefined })

describe('linearizability checker', () => {
  it('accepts a sequential history and concurrent ones with a valid order', () => {
    expect(checkLinearizable(counterModel, [op('a', 'add', { by: 1 }, 1, 0, 1), op('b', 'read', {}, 1, 2, 3)]).ok).toBe(true)
    // Concurrent adds may take effect in either order.
    expect(checkLinearizable(counterModel, [op('a', 'add', { by: 1 }, 3, 0, 10), op('b', 'add', { by: 2 }, 2, 1, 9)]).ok).toBe(true)
  })

  it('rejects a stale read after a completed write', () => {
    const r = checkLinearizable(counterModel, [op('a', 'add', { by: 1 }, 1, 0, 10), op('b', 'read', {}, 0, 20, 30)])
    expect(r.ok).toBe(false)
  })

  it('rejects two concurrent increments that saw the same value (a lost update)', () => {
    const r = checkLinearizable(counterModel, [op('a', 'add', { by: 1 }, 1, 0, 10), op('b', 'add', { by: 1 }, 1, 1, 9)])
    expect(r.ok).toBe(false)
  })

  it('rejects a read that goes back in time (real-time order)', () => {
    const r = checkLinearizable(counterModel, [
      op('a', 'add', { by: 5 }, 5, 0, 50),
      op('b', 'read', {}, 5, 10, 20),
      op('c', 'read', {}, 0, 30, 40),
    ])
    expect(r.ok).toBe(false)
  })

  it('rejects a rejection that the state does not explain (stock was there)', () => {
    const r = checkLinearizable(warehouseModel, [
      op('a', 'inbound', { x: 'A', v: 100 }, null, 0, 10),
      op('b', 'outbound', { x: 'A', v: 50 }, null, 20, 30, false),
    ])
    expect(r.ok).toBe(false)
  })

  it('lets an operation with an unknown outcome take effect or not', () => {
    expect(checkLinearizable(counterModel, [unknown('a', 'add', { by: 1 }, 0), op('b', 'read', {}, 1, 5, 6)]).ok).toBe(true)
    expect(checkLinearizable(counterModel, [unknown('a', 'add', { by: 1 }, 0), op('b', 'read', {}, 0, 5, 6)]).ok).toBe(true)
    expect(checkLinearizable(counterModel, [unknown('a', 'add', { by: 1 }, 0), op('b', 'read', {}, 7, 5, 6)]).ok).toBe(false)
  })

  it('agrees with brute force on random small counter histories', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ add: fc.boolean(), by: fc.integer({ min: 1, max: 3 }), start: fc.integer({ min: 0, max: 20 }), len: fc.integer({ min: 1, max: 10 }), result: fc.integer({ min: 0, max: 9 }) }), { maxLength: 5 }),
        (specs) => {
          const ops = specs.map((s, i) => op(`c${i}`, s.add ? 'add' : 'read', s.add ? { by: s.by } : {}, s.result, s.start, s.start + s.len))
          expect(checkLinearizable(counterModel, ops).ok).toBe(bruteForce(ops))
        },
      ),
      { numRuns: 300 },
    )
  })
})

/** Tries every permutation that respects real time. */
function bruteForce(ops: Operation[]): boolean {
  const used = new Array(ops.length).fill(false)
  const go = (state: number, done: number): boolean => {
    if (done === ops.length) return true
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue
      // i may go next only if no unused op finished before i started.
      if (ops.some((o, j) => !used[j] && j !== i && o.ret < ops[i]!.call)) continue
      const step = counterModel.step(state, ops[i]!.name, ops[i]!.args)
      const out = ops[i]!.output!
      if (out.ok && JSON.stringify(out.result) !== JSON.stringify((step.output as { result: unknown }).result)) continue
      used[i] = true
      if (go(step.state, done + 1)) return true
      used[i] = false
    }
    return false
  }
  return go(0, 0)
}
