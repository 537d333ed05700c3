import { z } from 'zod'
import type { Random } from '@concord/core'
import type { Json } from '@concord/machine'

/**
 * Random arguments for an app's functions, drawn from their zod schemas
 * (through zod's own JSON Schema export, its public description of a
 * schema). Values are kept small and drawn from few distinct ones, so that
 * calls collide: two transfers out of the same warehouse, an index at the
 * end of the text. A value the schema still refuses (a refinement, a
 * pattern) is drawn again, up to `drawsPerValueMax` times.
 */
export const drawsPerValueMax = 32
/** Nesting deeper than this (recursive schemas) ends in the smallest value. */
export const depthMax = 4
/** Integers without bounds are drawn from this range. */
const defaultIntRange = [-3, 100] as const
/** Strings and arrays are at most this much longer than their minimum. */
const extraLengthMax = 6
/** Strings use few letters: equal keys and names must come up. */
const alphabet = 'abc'

type Schema = Record<string, unknown>

export class ArgumentsError extends Error {
  override name = 'ArgumentsError'
}

/** A generator of values valid for `schema`, from a seeded source. */
export function arbitraryFor(schema: z.ZodType, what: string): (random: Random) => Json {
  let json: Schema
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema
  } catch (error) {
    throw new ArgumentsError(`${what}: cannot describe its schema (${String(error)}); give the check a workload that makes its calls`)
  }
  const defs = (json.$defs ?? {}) as Record<string, Schema>
  return (random) => {
    for (let i = 0; i < drawsPerValueMax; i++) {
      const value = draw(json, defs, random, 0)
      const parsed = schema.safeParse(value)
      if (parsed.success) return value
    }
    throw new ArgumentsError(`${what}: ${drawsPerValueMax} values drawn from its schema were all refused (a refinement or a pattern?); give the check a workload that makes its calls`)
  }
}

function draw(schema: Schema, defs: Record<string, Schema>, random: Random, depth: number): Json {
  const int = (lo: number, hi: number): number => lo + Math.floor(random.next() * (hi - lo + 1))
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.replace(/^#\/\$defs\//, '')
    const target = defs[name]
    return target === undefined || depth >= depthMax ? null : draw(target, defs, random, depth + 1)
  }
  if ('const' in schema) return schema.const as Json
  if (Array.isArray(schema.enum)) return pick(schema.enum as Json[])
  const union = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined
  if (Array.isArray(union) && union.length > 0) return draw(pick(union), defs, random, depth + 1)
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return draw(schema.allOf[0] as Schema, defs, random, depth + 1)
  const type = Array.isArray(schema.type) ? pick(schema.type as string[]) : (schema.type as string | undefined)
  switch (type) {
    case 'null':
      return null
    case 'boolean':
      return random.next() < 0.5
    case 'integer':
    case 'number': {
      const [lo, hi] = bounds(schema)
      // Mostly small values near the bottom of the range; now and then its edges.
      const roll = random.next()
      let value = roll < 0.1 ? lo : roll < 0.15 ? hi : int(lo, Math.min(hi, lo + 100))
      if (typeof schema.multipleOf === 'number' && schema.multipleOf > 0) value = Math.ceil(value / schema.multipleOf) * schema.multipleOf
      return type === 'number' && random.next() < 0.2 ? value + 0.5 : value
    }
    case 'string': {
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : min + extraLengthMax
      let text = ''
      for (let n = int(min, Math.min(max, min + extraLengthMax)); n > 0; n--) text += alphabet[int(0, alphabet.length - 1)]
      return text
    }
    case 'array': {
      if (Array.isArray(schema.prefixItems)) return (schema.prefixItems as Schema[]).map((item) => draw(item, defs, random, depth + 1))
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : min + extraLengthMax
      const length = depth >= depthMax ? min : int(min, Math.min(max, min + extraLengthMax))
      const items = (schema.items ?? {}) as Schema
      return Array.from({ length }, () => draw(items, defs, random, depth + 1))
    }
    case 'object': {
      const out: Record<string, Json> = {}
      const properties = (schema.properties ?? {}) as Record<string, Schema>
      const required = new Set((schema.required ?? []) as string[])
      for (const [key, property] of Object.entries(properties)) {
        if (required.has(key) || random.next() < 0.5) out[key] = draw(property, defs, random, depth + 1)
      }
      const extra = schema.additionalProperties
      if (typeof extra === 'object' && extra !== null && depth < depthMax) {
        for (let n = int(0, 3); n > 0; n--) out[alphabet[int(0, alphabet.length - 1)]!] = draw(extra as Schema, defs, random, depth + 1)
      }
      return out
    }
    default:
      // `{}` (any): a small JSON value.
      return pick([null, 0, 1, 'a', true] as const)
  }
}

function bounds(schema: Schema): [number, number] {
  const step = schema.type === 'integer' ? 1 : 0.5
  let lo: number = defaultIntRange[0]
  let hi: number = defaultIntRange[1]
  if (typeof schema.minimum === 'number') lo = schema.minimum
  if (typeof schema.exclusiveMinimum === 'number') lo = schema.exclusiveMinimum + step
  if (typeof schema.maximum === 'number') hi = schema.maximum
  if (typeof schema.exclusiveMaximum === 'number') hi = schema.exclusiveMaximum - step
  if (hi < lo) {
    // Only one bound given, on the far side of the default range.
    if (typeof schema.minimum === 'number' || typeof schema.exclusiveMinimum === 'number') hi = lo + 100
    else lo = hi - 100
  }
  return [Math.ceil(lo), Math.floor(hi)]
}
