import { z } from 'zod'
import { defineMachine, fn, reject } from '@concord/machine'
import { textFunctions } from '@concord/codemirror/machine'

/** The machine the e2e room pages run: a counter and an append-only list. */
export const e2eMachine = defineMachine({
  name: 'e2e',
  functions: {
    add: fn(z.object({ by: z.number().int().min(1).max(1000) }), (tx, { by }) => {
      const n = (tx.get<number>('n') ?? 0) + by
      tx.set('n', n)
      return n
    }),
    append: fn(z.object({ item: z.string().min(1).max(100) }), (tx, { item }) => {
      const items = tx.get<string[]>('items') ?? []
      tx.insert('items', items.length, item)
      return items.length + 1
    }),
    /** A value of `size` characters at `key` (benchmarks of large states). */
    fill: fn(z.object({ key: z.string().min(1).max(32), size: z.number().int().min(1).max(2_000_000) }), (tx, { key, size }) => {
      tx.set(key, 'x'.repeat(size))
      return size
    }),
    take: fn(z.object({ by: z.number().int().min(1) }), (tx, { by }) => {
      const n = tx.get<number>('n') ?? 0
      if (n < by) throw reject(`only ${n} left`)
      tx.set('n', n - by)
      return n - by
    }),
  },
})

/** The editor pages' machine: one collaborative text (the CodeMirror binding's functions). */
export const textMachine = defineMachine({ name: 'e2e-text', functions: { ...textFunctions() } })

/** Version 2 of the room pages' machine (`?version=2`): the same functions; its upgrade names the unit of the count. */
export const e2eMachineV2 = defineMachine({
  name: 'e2e',
  version: 2,
  upgrades: { 2: (tx) => tx.set('unit', 'apples') },
  functions: e2eMachine.functions,
})
