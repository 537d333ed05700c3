import { z } from 'zod'
import { defineMachine, fn } from '@concord/machine'

/**
 * Deliberately broken (issue 10): `ship` refuses a call by throwing an Error
 * instead of `throw reject(reason)`. Nothing is lost — the call fails — but
 * the caller gets a crash report, not the app's reason, and the check calls
 * it what it is: a function that threw.
 *   npx concord check examples/broken/throwing-function.ts
 */
const warehouseName = z.enum(['A', 'B', 'C'])
const amount = z.number().int().positive().max(100)

export const machine = defineMachine({
  name: 'throwing-warehouse',
  functions: {
    register: fn(z.object({ x: warehouseName, v: amount }), (tx, { x, v }) => {
      tx.set(x, (tx.get<number>(x) ?? 0) + v)
    }),
    ship: fn(z.object({ x: warehouseName, v: amount }), (tx, { x, v }) => {
      const have = tx.get<number>(x) ?? 0
      if (have < v) throw new Error(`cannot ship ${v} from ${x}`) // the bug: should be `throw reject(…)`
      tx.set(x, have - v)
    }),
  },
})

export const invariants = {
  'stock never negative': (state: Readonly<Record<string, unknown>>) => Object.values(state).every((stock) => typeof stock === 'number' && stock >= 0),
}
