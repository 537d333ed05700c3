/** JSON values: what the replicated state holds and commands carry. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Depth and size bound for one value checked by `isJson` (a limit on everything). */
export const jsonDepthMax = 64

/** Whether `value` is plain JSON (finite numbers, plain objects, arrays). */
export function isJson(value: unknown, depth = 0): value is Json {
  if (depth > jsonDepthMax) return false
  if (value === null) return true
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object': {
      if (Array.isArray(value)) return value.every((v) => isJson(v, depth + 1))
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) return false
      for (const v of Object.values(value as Record<string, unknown>)) if (!isJson(v, depth + 1)) return false
      return true
    }
    default:
      return false
  }
}

/** Values in the state are frozen, so a function cannot change MS or LS by
 *  mutating what `tx.get` returned: writes go through `tx` only. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v)
  }
  return value
}
