import { z } from 'zod'
import { defineMachine, fn, reject, type Json } from '@concord/machine'

/**
 * The workloads of the simulator: each is an app machine (what replicas run)
 * and a sequential reference model (what the linearizability checker
 * compares client histories with), plus an integrity invariant over the
 * replicated state.
 */

const warehouseName = z.enum(['A', 'B', 'C'])
const amount = z.number().int().positive().max(1_000_000)

/** Seed 002's supply chain ([0073]–[0078]): stock per warehouse, never negative. */
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
    stock: fn(z.object({ x: warehouseName }), (tx, { x }) => tx.get<number>(x) ?? 0),
  },
})

export const counter = defineMachine({
  name: 'counter',
  functions: {
    add: fn(z.object({ by: z.number().int().min(1).max(1000) }), (tx, { by }) => {
      const value = (tx.get<number>('n') ?? 0) + by
      tx.set('n', value)
      return value
    }),
    read: fn(z.object({}), (tx) => tx.get<number>('n') ?? 0),
  },
})

export const textDoc = defineMachine({
  name: 'text',
  functions: {
    splice: fn(
      z.object({ index: z.number().int().min(0), remove: z.number().int().min(0), insert: z.string().max(64) }),
      (tx, { index, remove, insert }) => {
        const text = tx.get<string>('doc') ?? ''
        if (index > text.length) throw reject(`index ${index} beyond length ${text.length}`)
        const cut = Math.min(remove, text.length - index)
        tx.splice('doc', index, cut, insert)
        return text.length - cut + insert.length
      },
    ),
    read: fn(z.object({}), (tx) => tx.get<string>('doc') ?? ''),
  },
})

/** A sequential specification: the output a call must have in a given state. */
export interface Model<S> {
  init(): S
  /** The state after `name(args)` and the output it must produce. */
  step(state: S, name: string, args: Json): { state: S; output: Output }
  key(state: S): string
}

/** What a call returned: a result, or a rejection by the function (no effect). */
export type Output = { ok: true; result: Json } | { ok: false; reason: string }

type Stock = Readonly<Record<'A' | 'B' | 'C', number>>

export const warehouseModel: Model<Stock> = {
  init: () => ({ A: 0, B: 0, C: 0 }),
  step(state, name, args) {
    const a = args as { x: 'A' | 'B' | 'C'; y: 'A' | 'B' | 'C'; v: number }
    switch (name) {
      case 'inbound':
        return { state: { ...state, [a.x]: state[a.x] + a.v }, output: { ok: true, result: null } }
      case 'outbound':
        if (state[a.x] < a.v) return { state, output: { ok: false, reason: 'insufficient' } }
        return { state: { ...state, [a.x]: state[a.x] - a.v }, output: { ok: true, result: null } }
      case 'transfer':
        if (a.x === a.y) return { state, output: { ok: false, reason: 'same' } }
        if (state[a.x] < a.v) return { state, output: { ok: false, reason: 'insufficient' } }
        return { state: { ...state, [a.x]: state[a.x] - a.v, [a.y]: state[a.y] + a.v }, output: { ok: true, result: null } }
      case 'stock':
        return { state, output: { ok: true, result: state[a.x] } }
      default:
        throw new Error(`unknown warehouse call ${name}`)
    }
  },
  key: (s) => `${s.A},${s.B},${s.C}`,
}

export const counterModel: Model<number> = {
  init: () => 0,
  step(state, name, args) {
    if (name === 'add') {
      const next = state + (args as { by: number }).by
      return { state: next, output: { ok: true, result: next } }
    }
    return { state, output: { ok: true, result: state } }
  },
  key: (s) => String(s),
}

export const textModel: Model<string> = {
  init: () => '',
  step(state, name, args) {
    if (name === 'read') return { state, output: { ok: true, result: state } }
    const { index, remove, insert } = args as { index: number; remove: number; insert: string }
    if (index > state.length) return { state, output: { ok: false, reason: 'index' } }
    const cut = Math.min(remove, state.length - index)
    const next = state.slice(0, index) + insert + state.slice(index + cut)
    return { state: next, output: { ok: true, result: next.length } }
  },
  key: (s) => s,
}

/** Outputs match when both are results that are equal, or both are rejections
 *  (the reason text is the app's, the model only says that it must reject). */
export function outputsMatch(expected: Output, actual: Output): boolean {
  if (expected.ok !== actual.ok) return false
  if (!expected.ok) return true
  return JSON.stringify(expected.result) === JSON.stringify((actual as { result: Json }).result)
}
