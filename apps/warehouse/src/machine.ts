import { z } from 'zod'
import { defineMachine, fn, reject } from '@concord/machine'

/** Seed 002's supply chain ([0073]–[0078]): stock per warehouse, never negative. */
const warehouseName = z.enum(['A', 'B', 'C'])
const amount = z.number().int().positive().max(1_000_000)

export const warehouse = defineMachine({
  name: 'warehouse',
  functions: {
    inbound: fn(z.object({ x: warehouseName, v: amount }), (tx, { x, v }) => {
      tx.set(x, (tx.get<number>(x) ?? 0) + v)
    }),
    outbound: fn(z.object({ x: warehouseName, v: amount }), (tx, { x, v }) => {
      const have = tx.get<number>(x) ?? 0
      if (have < v) throw reject(`insufficient stock in ${x}: ${have} < ${v}`)
      tx.set(x, have - v)
    }),
    transfer: fn(z.object({ x: warehouseName, y: warehouseName, v: amount }), (tx, { x, y, v }) => {
      if (x === y) throw reject('transfer to the same warehouse')
      const have = tx.get<number>(x) ?? 0
      if (have < v) throw reject(`insufficient stock in ${x}: ${have} < ${v}`)
      tx.set(x, have - v)
      tx.set(y, (tx.get<number>(y) ?? 0) + v)
    }),
  },
})
