import { ChangeSet, Text } from '@codemirror/state'
import { createMachine, defineMachine, type Json } from '@concord/machine'
import { TextClient, type Sendable } from './client.ts'
import { logKey, textFunctions, versionKey, type TextLogEntry } from './machine.ts'

/**
 * One author of a concurrent editing trace (the friendsforever trace of
 * josephg/editing-traces: people typing one document at the same time, each
 * edit positioned in the version its author had seen, its `parents`),
 * replayed through a text client as that author typed: an author types its
 * next transaction once its previous edit is acknowledged and it has seen
 * every edit of the others that the recorded transaction had seen. Its view
 * may then hold edits of the others the recorded one had not seen (they were
 * concurrent), so the author keeps every character its view ever held —
 * deleted ones too — with the transaction that inserted it and those that
 * deleted it, to find where a recorded position lies in its view.
 *
 * Used by the Node test of the text machine and by the tabs of the
 * concurrent-trace benchmark and e2e test (one tab per author): the same
 * driver, so both replay the trace the same way.
 */
export type ConcurrentTrace = {
  endContent: string
  numAgents: number
  txns: { parents: number[]; agent: number; patches: [position: number, remove: number, insert: string][] }[]
}

/** frontier[k][b]: the last transaction of author b that transaction k had seen (itself included), −1 if none. */
export function traceFrontiers(trace: ConcurrentTrace): number[][] {
  const frontier: number[][] = []
  for (let k = 0; k < trace.txns.length; k++) {
    const f = Array.from({ length: trace.numAgents }, () => -1)
    for (const p of trace.txns[k]!.parents) for (let b = 0; b < trace.numAgents; b++) f[b] = Math.max(f[b]!, frontier[p]![b]!)
    f[trace.txns[k]!.agent] = k
    frontier.push(f)
  }
  return frontier
}

/** A client id that names its author, so that every tab maps an edit's id (`clientId:sequence`) to its transaction. */
export const traceClientId = (agent: number, nonce: string) => `trace${agent}-${nonce}`
const editIdPattern = /^trace(\d+)-[^:]*:(\d+)$/

interface Slot {
  /** The transaction that inserted this character. */
  ins: number
  /** The transactions that deleted it (concurrent deletions of one character are two). */
  del: number[]
}

export class TraceAuthor {
  readonly client: TextClient
  /** The author's view: what its editor would show. */
  doc = Text.empty
  /** Transactions typed into a view holding edits of the others that the recorded one had not seen. */
  extraEdits = 0
  private readonly slots: Slot[] = []
  /** The latest transaction of each author this view holds. */
  private readonly maxSeen: number[]
  /** The transactions of each author, in order: an edit's sequence number picks its transaction. */
  private readonly txnsOf: number[][]
  private typed = 0
  /** Transactions this view holds (its own typed, the others' received). */
  private held = 0
  /** Own transactions typed behind the edit in flight, not yet sent (typing on: `typeOn`). */
  private unsent: number[] = []
  /**
   * Transactions some transaction of another author saw as its author's latest (a frontier ends there): an
   * edit carrying several transactions is known to the other views by its last, so none may span one of these.
   */
  private readonly seenAsLatest = new Set<number>()

  constructor(
    readonly trace: ConcurrentTrace,
    private readonly frontier: readonly (readonly number[])[],
    readonly agent: number,
    nonce: string,
    /**
     * Type each transaction only once every earlier one is in this view, so that the leader issues them in the
     * trace's order. Without it, concurrent transactions race: where two authors typed at one place at once, the
     * leader's order (first issued goes first) can differ from the order the recording's CRDT gave them, and the
     * text ends the same length but not the same.
     */
    readonly inTraceOrder = false,
    readonly key = 'doc',
    /**
     * Type on while an edit is in flight, as a person at an editor does: the transactions typed meanwhile go
     * composed into the next edit once the one in flight is acknowledged (TextClient), and an edit is named by
     * the last transaction it carries. Otherwise each transaction waits for the previous one's acknowledgement
     * and is an edit of its own. Only in the trace's order: a view learns an edit's first transaction from
     * what it holds.
     */
    readonly typeOn = false,
  ) {
    if (typeOn && !inTraceOrder) throw new Error("typing on needs the trace's order")
    this.client = new TextClient(key, 0, traceClientId(agent, nonce))
    this.maxSeen = Array.from({ length: trace.numAgents }, () => -1)
    this.txnsOf = Array.from({ length: trace.numAgents }, () => [])
    trace.txns.forEach((txn, k) => this.txnsOf[txn.agent]!.push(k))
    trace.txns.forEach((txn, k) => frontier[k]!.forEach((t, b) => b !== txn.agent && t >= 0 && this.seenAsLatest.add(t)))
  }

  /** The log version this view has reached. */
  get version(): number {
    return this.client.version
  }

  /** This author's transactions, in order. */
  get own(): readonly number[] {
    return this.txnsOf[this.agent]!
  }

  /** The next transaction this author would type, or null when it has typed them all. */
  get next(): number | null {
    return this.own[this.typed] ?? null
  }

  /** Every transaction typed, sent and acknowledged. */
  get done(): boolean {
    return this.next === null && !this.client.pending && this.unsent.length === 0
  }

  /**
   * Whether the next transaction can be typed now: the previous one acknowledged, and what it had seen of the
   * others here — or, in trace order, every earlier transaction here (the log's entry v is then transaction v − 1).
   */
  get canType(): boolean {
    const k = this.next
    if (k === null) return false
    if (this.typeOn) {
      // Behind the edit in flight, up to the end of a run the others saw whole.
      const last = this.unsent[this.unsent.length - 1]
      return this.held >= k && (last === undefined || !this.seenAsLatest.has(last))
    }
    if (this.client.pending) return false
    if (this.inTraceOrder) return this.held >= k
    return this.maxSeen.every((seen, b) => b === this.agent || seen >= this.frontier[k]![b]!)
  }

  /** The transaction an edit (by id) carried. */
  txnOf(id: string): number {
    const match = editIdPattern.exec(id)
    const txn = match === null ? undefined : this.txnsOf[Number(match[1])]?.[Number(match[2]) - 1]
    if (txn === undefined) throw new Error(`edit ${id} is not one of the trace's`)
    return txn
  }

  /** Take the document's next log entry (version + 1): one transaction of another author, or this author's own acknowledged. */
  receive(entry: TextLogEntry): void {
    if (entry.v !== this.client.version + 1) throw new Error(`log entry ${entry.v} delivered at version ${this.client.version}: entries go one at a time, in order`)
    const state: Record<string, Json> = { [versionKey(this.key)]: entry.v, [logKey(this.key)]: [entry as unknown as Json] }
    const received = this.client.receive(state)
    if (received === null) return // our own edit, acknowledged
    if (received.kind !== 'changes') throw new Error(`the text client reset: ${received.reason}`)
    const t = this.txnOf(entry.id)
    if (this.inTraceOrder) {
      // Every transaction before the entry's is here (entries come in the trace's order), so it carries
      // transactions held..t: one, or with typing on a run of its author's that no other transaction saw part of.
      const first = this.held
      if (t < first || (!this.typeOn && t !== first)) throw new Error(`log entry ${entry.v} is transaction ${t} where ${first} was next: not issued in the trace's order`)
      for (let u = first; u <= t; u++) if (this.trace.txns[u]!.agent !== this.trace.txns[t]!.agent || (u < t && this.seenAsLatest.has(u))) throw new Error(`log entry ${entry.v} spans transactions ${first}..${t}, which are not one run of one author`)
      this.remote(t, received.changes, t - first + 1)
    } else this.remote(t, received.changes)
  }

  /**
   * Another author's transaction `t` arrived in this view as `changes` (in the view's coordinates); or, typing
   * on, the `count` transactions of a run ending at `t`, which every other transaction saw all or none of.
   */
  remote(t: number, changes: ChangeSet, count = 1): void {
    // Mark deletions, add insertions after the preceding visible character.
    const marks: [number, number, string][] = []
    changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => marks.push([fromA, toA, inserted.toString()]))
    for (let m = marks.length - 1; m >= 0; m--) {
      const [from, to, text] = marks[m]!
      for (const slot of this.docSlots(from, to)) this.slots[slot]!.del.push(t)
      const at = from === 0 ? 0 : this.docSlots(from - 1, from)[0]! + 1
      this.slots.splice(at, 0, ...Array.from(text, () => ({ ins: t, del: [] })))
    }
    const author = this.trace.txns[t]!.agent
    this.maxSeen[author] = Math.max(this.maxSeen[author]!, t)
    this.doc = changes.apply(this.doc)
    this.held += count
  }

  /** Type the next transaction into the view; returns the edit to send (each transaction acknowledged before the next). */
  type(): Sendable {
    if (this.typeOn) throw new Error('typing on: typeNext, then takeSendable')
    this.typeNext()
    return this.takeSendable()!.edit
  }

  /** Type the next transaction into the view and the text client (sent by takeSendable). */
  typeNext(): void {
    const k = this.next!
    for (const change of this.typeChanges()) this.client.local(change)
    // A transaction with nothing left to do is still sent: the others count it among what they have seen.
    if (this.trace.txns[k]!.patches.length === 0) this.client.local(ChangeSet.empty(this.doc.length))
    this.unsent.push(k)
  }

  /** Whether takeSendable has an edit to give: transactions typed and none in flight. */
  get canSend(): boolean {
    return this.unsent.length > 0 && this.client.inFlight === null
  }

  /** The edit to send now, if any (none while one is in flight), and the transactions it carries; named by the last (txnOf). */
  takeSendable(): { edit: Sendable; txns: number[] } | null {
    if (this.unsent.length === 0) return null
    // The last typed transaction is this author's `typed`-th: its edit's sequence number.
    const edit = this.client.takeSendable(this.typed)
    if (edit === null) return null
    const txns = this.unsent
    this.unsent = []
    return { edit, txns }
  }

  /**
   * Type the next transaction into the view; returns its changes, one per recorded patch, each in the view's
   * coordinates after the previous one (for a system other than Concord's text client: the Yjs page applies them).
   */
  typeChanges(): ChangeSet[] {
    if (!this.canType) throw new Error('typed before its previous edit was acknowledged or before it had seen what the recorded one had')
    const typed: ChangeSet[] = []
    const k = this.next!
    const seenBy = (t: number) => t <= this.frontier[k]![this.trace.txns[t]!.agent]!
    // The version it had seen: characters inserted by what it had seen and not deleted by it.
    const extra = this.maxSeen.some((t, b) => b !== this.agent && t > this.frontier[k]![b]!)
    if (extra) this.extraEdits++
    const visible = extra ? (s: Slot) => seenBy(s.ins) && !s.del.some(seenBy) : (s: Slot) => s.del.length === 0
    for (const [at, remove, insert] of this.trace.txns[k]!.patches) {
      // The recorded range, in slots; in the view: delete what is still there, insert right after the recorded
      // position's left neighbour (as its author typed it: a run of typing stays together).
      // One scan: the recorded range's slots and the left neighbour's, with their places in the view.
      const removed: number[] = []
      const removedDoc: number[] = []
      let after = 0 // the view's index just after the left neighbour
      let seen = 0
      let inView = 0
      let left = -1
      for (let s = 0; s < this.slots.length && seen < at + remove; s++) {
        const slot = this.slots[s]!
        const here = slot.del.length === 0
        if (visible(slot)) {
          if (seen === at - 1) (left = s), (after = inView + (here ? 1 : 0))
          if (seen >= at) removed.push(s), removedDoc.push(here ? inView : -1)
          seen++
        }
        if (here) inView++
      }
      if (seen < at + remove) throw new Error(`transaction ${k} reaches past the text its author had seen`)
      const changes: { from: number; to: number; insert?: string }[] = []
      for (const from of removedDoc) if (from >= 0) changes.push({ from, to: from + 1 })
      const last = removed.length - 1
      const insertAt = last >= 0 ? removed[last]! + 1 : left + 1
      if (insert.length > 0) {
        const from = last >= 0 ? (removedDoc[last]! >= 0 ? removedDoc[last]! + 1 : this.docIndex(insertAt)) : after
        changes.push({ from, to: from, insert })
      }
      const change = ChangeSet.of(changes, this.doc.length)
      for (const s of removed) this.slots[s]!.del.push(k)
      this.slots.splice(insertAt, 0, ...Array.from(insert, () => ({ ins: k, del: [] })))
      this.doc = change.apply(this.doc)
      typed.push(change)
    }
    this.typed++
    this.held++
    return typed
  }

  /** The slots of the view's characters from..to (exclusive), in one scan. */
  private docSlots(from: number, to: number): number[] {
    const out: number[] = []
    let seen = 0
    for (let s = 0; s < this.slots.length && seen < to; s++) {
      if (this.slots[s]!.del.length !== 0) continue
      if (seen >= from) out.push(s)
      seen++
    }
    return out
  }

  /** How many of the view's characters come before slot `slot`. */
  private docIndex(slot: number): number {
    let n = 0
    for (let s = 0; s < slot; s++) if (this.slots[s]!.del.length === 0) n++
    return n
  }
}

/** The text machine alone as a leader, in one process: it issues edits one by one into the document's log. */
export function textLeader(key = 'doc') {
  const machine = createMachine(defineMachine({ name: 'text', functions: textFunctions() }))
  const log: TextLogEntry[] = []
  return {
    log,
    issue(edit: Sendable): TextLogEntry {
      const v = log.length + 1
      const out = machine.execute(v, 'edit', { key, base: edit.base, changes: edit.changes.toJSON(), id: edit.id }, { tick: 0, random: { next: () => 0 } })
      if (!out.ok) throw new Error(`edit ${edit.id} refused: ${JSON.stringify(out)}`)
      machine.apply(v, out.payload)
      const entries = machine.get(logKey(key)) as TextLogEntry[]
      log.push(entries[entries.length - 1]!)
      return log[log.length - 1]!
    },
    text: () => (machine.get(key) as string | undefined) ?? '',
  }
}

/**
 * The trace replayed in one process as the tabs replay it in trace order: each transaction typed by its author
 * into a view holding every earlier one. Returns the leader's text and the authors (their views).
 */
export function replayInTraceOrder(trace: ConcurrentTrace): { text: string; authors: TraceAuthor[]; leader: ReturnType<typeof textLeader> } {
  const leader = textLeader()
  const frontier = traceFrontiers(trace)
  const authors = Array.from({ length: trace.numAgents }, (_, a) => new TraceAuthor(trace, frontier, a, 'serial', true))
  for (const txn of trace.txns) {
    const author = authors[txn.agent]!
    while (author.version < leader.log.length) author.receive(leader.log[author.version]!)
    leader.issue(author.type())
  }
  for (const author of authors) while (author.version < leader.log.length) author.receive(leader.log[author.version]!)
  return { text: leader.text(), authors, leader }
}
