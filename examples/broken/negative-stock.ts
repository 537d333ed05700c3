import { z } from 'zod'
import { defineMachine, fn } from '@concord/machine'
import type { Workload } from '@concord/check'

/**
 * Deliberately broken (issue 10): `transfer` trusts the caller to have
 * checked the stock — the tab's form only offers what that tab sees in
 * stock. But a tab's state lags the leader's, and other tabs transfer at the
 * same time: two tabs that both see 5 in A both move 5 out, and A goes
 * negative. The check must be in the function, which runs on the leader
 * against the latest state.
 *   npx concord check examples/broken/negative-stock.ts
 */
const warehouses = ['A', 'B', 'C'] as const
const warehouseName = z.enum(warehouses)
const amount = z.number().int().positive().max(100)

export const machine = defineMachine({
  name: 'racy-warehouse',
  functions: {
    register: fn(z.object({ x: warehouseName, v: amount }), (tx, { x, v }) => {
      tx.set(x, (tx.get<number>(x) ?? 0) + v)
    }),
    transfer: fn(z.object({ x: warehouseName, y: warehouseName, v: amount }), (tx, { x, y, v }) => {
      // The bug: no `if (have < v) throw reject(…)` here.
      tx.set(x, (tx.get<number>(x) ?? 0) - v)
      tx.set(y, (tx.get<number>(y) ?? 0) + v)
    }),
  },
})

export const invariants = {
  'stock never negative': (state: Readonly<Record<string, unknown>>) => Object.values(state).every((stock) => typeof stock === 'number' && stock >= 0),
}

/** What the app's tabs do: register stock, or transfer what their own (possibly stale) view shows in stock. */
export const workload: Workload = ({ state, int, pick }) => {
  const x = pick(warehouses)
  const have = (state[x] as number | undefined) ?? 0
  if (have <= 0 || int(0, 9) < 3) return { name: 'register', args: { x, v: int(1, 10) } }
  const y = pick(warehouses.filter((w) => w !== x))
  return { name: 'transfer', args: { x, y, v: int(1, have) } }
}
