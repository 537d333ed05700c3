import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { ChangeSet, Text } from '@codemirror/state'
import { describe, expect, it } from 'vitest'
import { createMachine, defineMachine, type Json } from '@concord/machine'
import { TextClient } from './client.ts'
import { logKey, textFunctions, textLogEntriesMax, versionKey, type TextLogEntry } from './machine.ts'

/**
 * The concurrent trace (friendsforever, josephg/editing-traces): two people
 * typing one document at the same time, each edit positioned in the version
 * its author had seen (its `parents`). Replayed here with one text client
 * per author against the text machine as the leader, each author's edits
 * sent as that author typed them: so each author's view may hold edits of
 * the other that the recorded edit had not seen (they were concurrent). The
 * driver keeps, per author, every character its view ever held (deleted
 * ones too) with the transaction that inserted it and those that deleted
 * it, to find where a recorded position lies in the author's view.
 */
type ConcurrentTrace = { endContent: string; numAgents: number; txns: { parents: number[]; agent: number; patches: [number, number, string][] }[] }
const trace = JSON.parse(gunzipSync(readFileSync(new URL('../../../bench/traces/friendsforever.json.gz', import.meta.url))).toString('utf8')) as ConcurrentTrace

interface Slot {
  ins: number
  del: number[]
}

describe('the concurrent trace (friendsforever): one client per author, each edit made in the version its author had seen', () => {
  it("ends with the trace's final text at the leader and in every author's view", () => {
    const { txns, numAgents } = trace
    // frontier[k][b]: the last transaction of author b that transaction k had seen (itself included), -1 if none.
    const frontier: number[][] = []
    for (let k = 0; k < txns.length; k++) {
      const f = Array.from({ length: numAgents }, () => -1)
      for (const p of txns[k]!.parents) for (let b = 0; b < numAgents; b++) f[b] = Math.max(f[b]!, frontier[p]![b]!)
      f[txns[k]!.agent] = k
      frontier.push(f)
    }
    const seenBy = (k: number, t: number) => t <= frontier[k]![txns[t]!.agent]!

    const leader = createMachine(defineMachine({ name: 'text', functions: textFunctions() }))
    let issued = 0
    const log: TextLogEntry[] = []
    const txnOfEdit = new Map<string, number>()
    const issuedAt: number[] = []
    const stateAt = (v: number): Record<string, Json> => ({ doc: '', [versionKey('doc')]: v, [logKey('doc')]: log.slice(Math.max(0, v - textLogEntriesMax), v) as unknown as Json })
    const authors = Array.from({ length: numAgents }, (_, a) => ({ client: new TextClient('doc', 0, `author${a}`), doc: Text.empty, slots: [] as Slot[], delivered: 0, last: -1, maxSeen: Array.from({ length: numAgents }, () => -1) }))
    let extraEdits = 0

    /** The slots of the view's characters from..to (exclusive), in one scan. */
    const docSlots = (slots: Slot[], from: number, to: number): number[] => {
      const out: number[] = []
      let seen = 0
      for (let s = 0; s < slots.length && seen < to; s++) {
        if (slots[s]!.del.length !== 0) continue
        if (seen >= from) out.push(s)
        seen++
      }
      return out
    }
    /** How many of the view's characters come before slot `slot`. */
    const docIndex = (slots: Slot[], slot: number): number => {
      let n = 0
      for (let s = 0; s < slot; s++) if (slots[s]!.del.length === 0) n++
      return n
    }

    const deliver = (a: number, upTo: number) => {
      const author = authors[a]!
      // One entry at a time: each is one transaction of the other author (or our own, acknowledged).
      while (author.delivered < upTo) {
        const v = author.delivered + 1
        const entry = log[v - 1]!
        const received = author.client.receive(stateAt(v))
        author.delivered = v
        if (received === null) continue // our own edit
        expect(received.kind).toBe('changes')
        if (received.kind !== 'changes') return
        const t = txnOfEdit.get(entry.id)!
        // In the view's coordinates (nothing of ours is pending here): mark deletions, add insertions after the preceding visible character.
        const marks: [number, number, string][] = []
        received.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => marks.push([fromA, toA, inserted.toString()]))
        for (let m = marks.length - 1; m >= 0; m--) {
          const [from, to, text] = marks[m]!
          const deleted = docSlots(author.slots, from, to)
          for (const slot of deleted) author.slots[slot]!.del.push(t)
          const at = from === 0 ? 0 : docSlots(author.slots, from - 1, from)[0]! + 1
          author.slots.splice(at, 0, ...Array.from(text, () => ({ ins: t, del: [] })))
        }
        author.maxSeen[txns[t]!.agent] = Math.max(author.maxSeen[txns[t]!.agent]!, t)
        author.doc = received.changes.apply(author.doc)
      }
    }

    const send = (a: number, k: number) => {
      const sendable = authors[a]!.client.takeSendable()
      if (sendable === null) throw new Error('one edit per transaction, each sent once the previous was acknowledged')
      txnOfEdit.set(sendable.id, k)
      const out = leader.execute(++issued, 'edit', { key: 'doc', base: sendable.base, changes: sendable.changes.toJSON(), id: sendable.id }, { tick: 0, random: { next: () => 0 } })
      if (!out.ok) throw new Error(`edit refused: ${JSON.stringify(out)}`)
      leader.apply(issued, out.payload)
      const entries = leader.get(logKey('doc')) as TextLogEntry[]
      log.push(entries[entries.length - 1]!)
      issuedAt[k] = issued
    }

    for (let k = 0; k < txns.length; k++) {
      const { agent: a, patches } = txns[k]!
      const author = authors[a]!
      // Its previous edit acknowledged, and what it had seen of the others delivered.
      let upTo = author.last < 0 ? 0 : issuedAt[author.last]!
      for (let b = 0; b < numAgents; b++) if (b !== a && frontier[k]![b]! >= 0) upTo = Math.max(upTo, issuedAt[frontier[k]![b]!]!)
      deliver(a, upTo)
      // The version it had seen: characters inserted by what it had seen and not deleted by it.
      const extra = author.maxSeen.some((t, b) => b !== a && t > frontier[k]![b]!)
      if (extra) extraEdits++
      const visible = extra ? (s: Slot) => seenBy(k, s.ins) && !s.del.some((d) => seenBy(k, d)) : (s: Slot) => s.del.length === 0
      for (const [at, remove, insert] of patches) {
        // The recorded range, in slots; in the view: delete what is still there, insert right after the recorded
        // position's left neighbour (as its author typed it: a run of typing stays together).
        // One scan: the recorded range's slots and the left neighbour's, with their places in the view.
        const removed: number[] = []
        const removedDoc: number[] = []
        let after = 0 // the view's index just after the left neighbour
        let left = -1
        let seen = 0
        let inView = 0
        for (let s = 0; s < author.slots.length && seen < at + remove; s++) {
          const slot = author.slots[s]!
          const here = slot.del.length === 0
          if (visible(slot)) {
            if (seen === at - 1) (left = s), (after = inView + (here ? 1 : 0))
            if (seen >= at) removed.push(s), removedDoc.push(here ? inView : -1)
            seen++
          }
          if (here) inView++
        }
        const changes: { from: number; to: number; insert?: string }[] = []
        for (const from of removedDoc) if (from >= 0) changes.push({ from, to: from + 1 })
        const last = removed.length - 1
        const insertAt = last >= 0 ? removed[last]! + 1 : left + 1
        if (insert.length > 0) {
          const from = last >= 0 ? (removedDoc[last]! >= 0 ? removedDoc[last]! + 1 : docIndex(author.slots, insertAt)) : after
          changes.push({ from, to: from, insert })
        }
        const change = ChangeSet.of(changes, author.doc.length)
        for (const s of removed) author.slots[s]!.del.push(k)
        author.slots.splice(insertAt, 0, ...Array.from(insert, () => ({ ins: k, del: [] })))
        author.doc = change.apply(author.doc)
        author.client.local(change)
      }
      send(a, k)
      author.last = k
    }
    for (let a = 0; a < numAgents; a++) deliver(a, issued)
    const final = leader.get('doc') as string
    console.log(`friendsforever: ${txns.length} transactions by ${numAgents} authors; ${extraEdits} typed into a view holding edits they had not seen`)
    expect(final.length).toBe(trace.endContent.length)
    expect(final).toBe(trace.endContent)
    for (const author of authors) expect(author.doc.toString()).toBe(trace.endContent)
  }, 300_000) // about 20 s alone on one core; bounded by the trace, not by time
})
