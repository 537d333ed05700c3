import { ChangeSet, Text } from '@codemirror/state'
import { z } from 'zod'
import { fn, reject, type FunctionDef, type Json, type Tx } from '@concord/machine'

/**
 * Collaborative text as commands (issue 10 §3, issue 6 §1). An edit is made
 * against the version of the text its tab had seen; the leader's function
 * carries it to the latest version by mapping it through the edits issued
 * since (the Jupiter/ShareDB scheme: with one central order, transforming
 * against one linear history is all it takes — no CRDT). The state holds,
 * per document key K:
 *   K        the text
 *   K#v      its version (edits applied)
 *   K#log    the last `textLogEntriesMax` edits, as applied: { v, id, c }
 * Tabs learn remote edits from the log, in order, and map their own pending
 * edits over them the same way.
 */
export const textLogEntriesMax = 500
/** Bounds one edit's JSON (a ChangeSet of CodeMirror's). */
export const textChangeItemsMax = 20_000
export const textInsertCharsMax = 256 * 1024
/** An edit of more separate changes than this is written as one splice over their span. */
export const textSplicesMax = 64

export type TextLogEntry = {
  v: number
  /** The edit's id (client-chosen): a retried edit is applied once. */
  id: string
  /** The ChangeSet as applied at version v − 1, in CodeMirror's JSON form. */
  c: Json
}

export const versionKey = (key: string) => `${key}#v`
export const logKey = (key: string) => `${key}#log`

const changeSetJson = z
  .array(z.union([z.number().int().min(0), z.array(z.union([z.number().int().min(0), z.string().max(textInsertCharsMax)])).max(textChangeItemsMax)]))
  .max(textChangeItemsMax)

export const editArgs = z.object({
  key: z.string().min(1).max(128),
  /** The version the edit was made against. */
  base: z.number().int().min(0),
  changes: changeSetJson,
  id: z.string().min(1).max(64),
})

/** The text as a tab reads it from a state. */
export function readText(state: Readonly<Record<string, Json>>, key: string): { text: string; version: number; log: readonly TextLogEntry[] } {
  const text = state[key]
  return {
    text: typeof text === 'string' ? text : '',
    version: (state[versionKey(key)] as number | undefined) ?? 0,
    log: (state[logKey(key)] as TextLogEntry[] | undefined) ?? [],
  }
}

/** The functions to put in an app's defineMachine: `functions: { ...textFunctions(), … }`. */
export function textFunctions(): { edit: FunctionDef<typeof editArgs, number> } {
  return {
    edit: fn(editArgs, (tx, { key, base, changes, id }) => {
      const text = tx.get<string>(key) ?? ''
      const version = tx.get<number>(versionKey(key)) ?? 0
      const log = tx.get<TextLogEntry[]>(logKey(key)) ?? []
      const done = log.find((entry) => entry.id === id)
      if (done !== undefined) return done.v // a retry of an edit already applied
      if (base > version) throw reject(`edit made against version ${base}, but the text is at ${version}`)
      const oldest = version - log.length
      if (base < oldest) throw reject(`stale: edit made against version ${base}; the log holds versions after ${oldest}`)
      let change: ChangeSet
      try {
        change = ChangeSet.fromJSON(changes)
      } catch (error) {
        throw reject(`malformed changes: ${error instanceof Error ? error.message : String(error)}`)
      }
      // [Jupiter] carry the edit over every edit issued since its base, each of which came first.
      for (const entry of log.slice(base - oldest)) change = change.map(ChangeSet.fromJSON(entry.c), false)
      if (change.length !== text.length) throw reject(`the edit spans ${change.length} characters; the text has ${text.length}`)
      applyToText(tx, key, change)
      const v = version + 1
      tx.set(versionKey(key), v)
      tx.insert(logKey(key), log.length, { v, id, c: change.toJSON() as Json })
      if (log.length + 1 > textLogEntriesMax) tx.remove(logKey(key), 0)
      return v
    }),
  }
}

/** A ChangeSet as splices of the text, last first (positions before it stay put). */
function applyToText(tx: Tx, key: string, change: ChangeSet): void {
  const splices: [from: number, remove: number, insert: string][] = []
  change.iterChanges((fromA, toA, _fromB, _toB, inserted) => splices.push([fromA, toA - fromA, inserted.toString()]))
  if (splices.length === 0) return
  const current = tx.get<string>(key)
  if (current === undefined) tx.set(key, '')
  const text = current ?? ''
  if (splices.length > textSplicesMax) {
    // Many scattered changes (a tab that typed in many places while an edit was in flight): one splice over their span.
    const after = change.apply(Text.of(text.split('\n'))).toString()
    const from = splices[0]![0]
    const last = splices[splices.length - 1]!
    const to = last[0] + last[1]
    tx.splice(key, from, to - from, after.slice(from, after.length - (text.length - to)))
    return
  }
  for (let i = splices.length - 1; i >= 0; i--) tx.splice(key, ...splices[i]!)
}
