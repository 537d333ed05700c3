import type { Json } from '@concord/machine'
import { outputsMatch, type Model, type Output } from './models.ts'

/**
 * A linearizability checker for client histories (Wing & Gong's search with
 * Lowe's memoisation, as in porcupine's checkSingle). An operation whose
 * outcome the client never learned (its replica crashed) has output
 * `undefined` and return time Infinity: it may take effect at any point after
 * its call, or never — linearising it last is always allowed.
 */
export interface Operation {
  client: string
  name: string
  args: Json
  /** undefined: the outcome is unknown. */
  output: Output | undefined
  call: number
  ret: number
}

export type LinearizabilityResult =
  | { ok: true; explored: number }
  | { ok: false; explored: number; reason: string }
  | { ok: 'unknown'; explored: number; reason: string }

interface Entry {
  op: number
  isCall: boolean
  time: number
  match: Entry | null
  prev: Entry | null
  next: Entry | null
}

/** Bounds the search: beyond it the answer is 'unknown', never a false verdict. */
export const linearizabilitySearchStepsMax = 5_000_000

export function checkLinearizable<S>(model: Model<S>, operations: readonly Operation[]): LinearizabilityResult {
  const head = buildList(operations)
  let state = model.init()
  let bits = 0n
  const cache = new Map<bigint, Set<string>>()
  const stack: { entry: Entry; state: S }[] = []
  let entry = head.next
  let explored = 0
  while (head.next !== null) {
    if (++explored > linearizabilitySearchStepsMax) return { ok: 'unknown', explored, reason: 'search budget exhausted' }
    if (entry === null) return { ok: false, explored, reason: 'ran past the end of the history' }
    if (entry.isCall) {
      const op = operations[entry.op]!
      const next = model.step(state, op.name, op.args)
      if (op.output === undefined || outputsMatch(next.output, op.output)) {
        const newBits = bits | (1n << BigInt(entry.op))
        const key = model.key(next.state)
        let seen = cache.get(newBits)
        if (seen === undefined) cache.set(newBits, (seen = new Set()))
        if (!seen.has(key)) {
          seen.add(key)
          stack.push({ entry, state })
          state = next.state
          bits = newBits
          lift(entry)
          entry = head.next
          continue
        }
      }
      entry = entry.next
    } else {
      // The return of an operation not yet linearised: backtrack.
      const top = stack.pop()
      if (top === undefined) {
        const op = operations[entry.op]!
        return { ok: false, explored, reason: `no linearisation: ${op.client} ${op.name}(${JSON.stringify(op.args)}) → ${JSON.stringify(op.output)} at [${op.call}, ${op.ret}]` }
      }
      state = top.state
      bits &= ~(1n << BigInt(top.entry.op))
      unlift(top.entry)
      entry = top.entry.next
    }
  }
  return { ok: true, explored }
}

function buildList(operations: readonly Operation[]): Entry {
  const entries: Entry[] = []
  operations.forEach((op, i) => {
    const call: Entry = { op: i, isCall: true, time: op.call, match: null, prev: null, next: null }
    const ret: Entry = { op: i, isCall: false, time: op.ret, match: null, prev: null, next: null }
    call.match = ret
    entries.push(call, ret)
  })
  // Calls before returns at equal times: touching operations count as concurrent.
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1))
  const head: Entry = { op: -1, isCall: false, time: -Infinity, match: null, prev: null, next: null }
  let last = head
  for (const e of entries) {
    last.next = e
    e.prev = last
    last = e
  }
  return head
}

function lift(call: Entry): void {
  call.prev!.next = call.next
  if (call.next !== null) call.next.prev = call.prev
  const ret = call.match!
  ret.prev!.next = ret.next
  if (ret.next !== null) ret.next.prev = ret.prev
}

function unlift(call: Entry): void {
  const ret = call.match!
  ret.prev!.next = ret
  if (ret.next !== null) ret.next.prev = ret
  call.prev!.next = call
  if (call.next !== null) call.next.prev = call
}
