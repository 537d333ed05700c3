import { z } from 'zod'
import { isJson, type Json } from './json.ts'
import { keyLengthMax, opsPerCommandMax, textInsertLengthMax } from './ops.ts'

/**
 * The zod form of a write-set (ops.ts), for callers that want a parsed copy
 * and for the property test that keeps `checkWriteSet` equal to it. Kept in
 * its own module so that a bundle using only `applyOp` / `checkWriteSet` (the
 * main thread's mirror) does not build these schemas, and so does not pull
 * zod in.
 */
const key = z.string().min(1).max(keyLengthMax)
const index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const json = z.custom<Json>((v) => isJson(v), 'not a JSON value')

export const opSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('set'), key, value: json }),
  z.object({ op: z.literal('delete'), key }),
  z.object({ op: z.literal('splice'), key, index, remove: index, insert: z.string().max(textInsertLengthMax) }),
  z.object({ op: z.literal('insert'), key, index, value: json }),
  z.object({ op: z.literal('remove'), key, index }),
  z.object({ op: z.literal('move'), key, from: index, to: index }),
])
export type Op = z.infer<typeof opSchema>

export const writeSetSchema = z.array(opSchema).max(opsPerCommandMax)
