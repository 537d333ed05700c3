import { isJson, type Json } from './json.ts'
import type { Op } from './ops-schema.ts'

export type { Op }

/**
 * A command's write-set: the deterministic ops the leader's function produced
 * ("set A to 400", "splice text at 17"). Ops are applied in order; text and
 * list ops are positional, which is deterministic because every command is
 * applied to exactly the state its function saw (its precedent, [0051]).
 */
export const keyLengthMax = 256
export const opsPerCommandMax = 4096
export const textInsertLengthMax = 1 << 20

export type WriteSet = Op[]

/** Reads the current value of a key (MS, or LS over MS). */
export type Read = (key: string) => Json | undefined

/**
 * The value `op` leaves at its key, given the value before. Total and
 * deterministic: a positional op on a value of the wrong type, or out of
 * range, is clamped the same way on every replica (a well-behaved leader
 * never produces one, since it computed the op on the same value).
 */
export function applyOp(before: Json | undefined, op: Op): Json | undefined {
  switch (op.op) {
    case 'set':
      return op.value
    case 'delete':
      return undefined
    case 'splice': {
      const text = typeof before === 'string' ? before : ''
      const at = Math.min(op.index, text.length)
      return text.slice(0, at) + op.insert + text.slice(Math.min(text.length, at + op.remove))
    }
    case 'insert': {
      const list = Array.isArray(before) ? before.slice() : []
      list.splice(Math.min(op.index, list.length), 0, op.value)
      return list
    }
    case 'remove': {
      const list = Array.isArray(before) ? before.slice() : []
      if (op.index < list.length) list.splice(op.index, 1)
      return list
    }
    case 'move': {
      const list = Array.isArray(before) ? before.slice() : []
      if (op.from >= list.length) return list
      const [item] = list.splice(op.from, 1)
      list.splice(Math.min(op.to, list.length), 0, item as Json)
      return list
    }
  }
}

const isKey = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= keyLengthMax
const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/**
 * The same check as `writeSetSchema`, without building a parsed copy: every
 * replica checks every command that arrives, so this runs on the hot path.
 * A property test keeps it equal to the zod schema (ops.test.ts).
 * Returns null if `payload` is a valid write-set, else why not.
 */
export function checkWriteSet(payload: unknown): string | null {
  if (!Array.isArray(payload)) return 'a write-set is an array of ops'
  if (payload.length > opsPerCommandMax) return `a write-set holds at most ${opsPerCommandMax} ops`
  for (let i = 0; i < payload.length; i++) {
    const op = payload[i] as Record<string, unknown> | null
    if (typeof op !== 'object' || op === null || Array.isArray(op)) return `op ${i} is not an object`
    if (!isKey(op.key)) return `op ${i}: key must be a string of 1..${keyLengthMax} characters`
    switch (op.op) {
      case 'set':
      case 'insert':
        if (!(op.op === 'set' || isIndex(op.index))) return `op ${i}: bad index`
        if (!('value' in op) || !isJson(op.value)) return `op ${i}: value is not JSON`
        break
      case 'delete':
        break
      case 'splice':
        if (!isIndex(op.index) || !isIndex(op.remove)) return `op ${i}: bad index or remove`
        if (typeof op.insert !== 'string' || op.insert.length > textInsertLengthMax) return `op ${i}: bad insert`
        break
      case 'remove':
        if (!isIndex(op.index)) return `op ${i}: bad index`
        break
      case 'move':
        if (!isIndex(op.from) || !isIndex(op.to)) return `op ${i}: bad from or to`
        break
      default:
        return `op ${i}: unknown op ${JSON.stringify(op.op)}`
    }
  }
  return null
}
