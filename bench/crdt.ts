import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { ChangeSet } from '@codemirror/state'
import { next as A } from '@automerge/automerge/slim'
import { automergeWasmBase64 } from '@automerge/automerge/automerge.wasm.base64.js'
import * as prng from 'lib0/prng'
import * as Y from 'yjs'
import { createRandom, Replica, type CallReply, type Message } from '@concord/core'
import { createMachine, defineMachine, type Json, type MachineInstance } from '@concord/machine'
import { readText, textFunctions } from '@concord/codemirror/machine'
import { callsInFlightMax, tickMsDefault } from '../packages/host/src/host.ts'
import { printTable, writeResults, type BenchResult } from './results.ts'

/**
 * dmonad/crdt-benchmarks B1–B4 (issue 7 §2), ported to Concord and run in
 * this one Node process against Yjs and Automerge.
 *
 * Scenarios, as js-lib/b1.js … b4.js define them (N = 6000; a fresh
 * lib0 PRNG seeded 42 per scenario, so every system gets the same input):
 *   B1.1 append N chars · B1.2 insert a string of length N · B1.3 prepend N
 *   chars · B1.4 N chars at random positions · B1.5 N words at random
 *   positions · B1.6 insert a string of length N, then delete it · B1.7
 *   insert/delete strings at random positions (every op its own update).
 *   B2.1–B2.4: two users start synced on 100 characters, each makes its
 *   changes in one transaction, then they exchange them.
 *   B3.5: 20·⌊√N⌋ users (1,540 at N = 6000) each insert their number at 0
 *   of the empty text, concurrently.
 *   B4: the automerge-paper trace (bench/traces), every op its own update.
 * Not ported: B1.8–B1.11 and B3.1–B3.4 (arrays of numbers, maps): the
 * Concord side here is the text machine of packages/codemirror.
 *
 * What is compared — say it with every number:
 *  - Yjs / Automerge: the published setup. An op is applied to a local
 *    document and yields an update; the updates are applied to the other
 *    document(s). No network, no disk.
 *  - Concord: three real core replicas (packages/core, unmodified) with the
 *    text machine, in this process: every message goes through JSON as the
 *    host sends it (stringify, count bytes, parse, schema-checked by the
 *    receiving core), storage is instant (records are durable as soon as
 *    asked, no disk), and every edit is an `edit` call that the leader
 *    executes and a majority accepts before anyone applies it: consensus per
 *    edit, whereas a CRDT applies locally and never waits. Calls are pipelined
 *    like the host pipelines them (up to 128 unanswered per client). The
 *    network round trip a real room pays per edit is not in these numbers.
 *
 * Per scenario and system: totalMs (first edit until every replica holds the
 * final text: Concord's 3, the CRDT documents of the scenario), bytes (CRDTs:
 * the update messages, once; Concord: every frame between the 3 replicas,
 * UTF-8), docBytes (CRDTs: the encoded document; Concord: the replicated
 * state as JSON — text, version and the last 500 edits — which is what a
 * snapshot carries), parseMs (loading that into a new document / machine),
 * memBytes (heap held by the loaded document, only with --expose-gc).
 * Every run checks the final texts: identical across replicas and, for the
 * single-writer scenarios, identical across systems and equal to the
 * expected text; for the concurrent ones the systems may order concurrent
 * inserts differently, so across systems the length and the characters
 * (sorted) must agree. Any mismatch throws.
 */

export type System = 'concord' | 'yjs' | 'automerge'
export const systems: readonly System[] = ['concord', 'yjs', 'automerge']

/** One text operation (positions in UTF-16 code units; all texts here are ASCII). */
export type Op = { index: number; insert: string } | { index: number; deleteCount: number }

export type Scenario =
  | { id: string; title: string; kind: 'single'; ops: Op[] }
  | { id: string; title: string; kind: 'two'; init: string; user1: Op[]; user2: Op[] }
  | { id: string; title: string; kind: 'many'; inserts: string[] }

/** What every replica of every system must end with. */
export interface Expected {
  /** The exact text, where it does not depend on how concurrent inserts are ordered. */
  text: string | null
  length: number
  /** The characters of the final text, sorted. */
  sortedChars: string
}

export interface SystemRun {
  system: System
  /** The final text of every replica / document that must hold it. */
  texts: string[]
  totalMs: number
  /** CPU time of this process over the same span (all threads: GC included); steadier than wall time on a shared machine. */
  cpuMs: number
  bytes: number
  docBytes: number
  parseMs: number
  memBytes: number | null
  /** Concord only: commands issued in the timed part, and edits refused as too stale and made again. */
  commands?: number
  refused?: number
}

export interface ScenarioRun {
  scenario: Scenario
  expected: Expected
  runs: SystemRun[]
}

// ---------------------------------------------------------------------------
// Scenarios (crdt-benchmarks js-lib/b1.js, b2.js, b3.js, b4.js)

const applyOp = (text: string, op: Op): string =>
  'insert' in op ? text.slice(0, op.index) + op.insert + text.slice(op.index) : text.slice(0, op.index) + text.slice(op.index + op.deleteCount)

export function scenarios(n: number, traceTxns: number | null): Scenario[] {
  const out: Scenario[] = []
  const gen = () => prng.create(42)
  {
    const string = prng.word(gen(), n, n)
    out.push({ id: 'b1_1', title: '[B1.1] Append N characters', kind: 'single', ops: string.split('').map((insert, index) => ({ index, insert })) })
  }
  {
    const string = prng.word(gen(), n, n)
    out.push({ id: 'b1_2', title: '[B1.2] Insert string of length N', kind: 'single', ops: [{ index: 0, insert: string }] })
  }
  {
    const string = prng.word(gen(), n, n)
    const reversed = string.split('').reverse()
    out.push({ id: 'b1_3', title: '[B1.3] Prepend N characters', kind: 'single', ops: reversed.map((insert) => ({ index: 0, insert })) })
  }
  {
    const g = gen()
    let length = 0
    const ops: Op[] = []
    for (let i = 0; i < n; i++) {
      const index = prng.int32(g, 0, length)
      ops.push({ index, insert: prng.word(g, 1, 1) })
      length++
    }
    out.push({ id: 'b1_4', title: '[B1.4] Insert N characters at random positions', kind: 'single', ops })
  }
  {
    const g = gen()
    let length = 0
    const ops: Op[] = []
    for (let i = 0; i < n; i++) {
      const index = prng.int32(g, 0, length)
      const insert = prng.word(g, 2, 10)
      ops.push({ index, insert })
      length += insert.length
    }
    out.push({ id: 'b1_5', title: '[B1.5] Insert N words at random positions', kind: 'single', ops })
  }
  {
    const string = prng.word(gen(), n, n)
    out.push({ id: 'b1_6', title: '[B1.6] Insert string, then delete it', kind: 'single', ops: [{ index: 0, insert: string }, { index: 0, deleteCount: string.length }] })
  }
  {
    const g = gen()
    let length = 0
    const ops: Op[] = []
    for (let i = 0; i < n; i++) {
      const index = prng.uint32(g, 0, length)
      if (length === index || prng.bool(g)) {
        const insert = prng.word(g, 2, 10)
        ops.push({ index, insert })
        length += insert.length
      } else {
        const deleteCount = prng.uint32(g, 1, Math.min(9, length - index))
        ops.push({ index, deleteCount })
        length -= deleteCount
      }
    }
    out.push({ id: 'b1_7', title: '[B1.7] Insert/Delete strings at random positions', kind: 'single', ops })
  }

  // B2: both users start from the same 100 characters.
  const g2 = gen()
  const init = prng.word(g2, 100, 100)
  const randomInserts = (g: prng.PRNG, min: number, max: number): Op[] => {
    let length = init.length
    const ops: Op[] = []
    for (let i = 0; i < n; i++) {
      const index = prng.uint32(g, 0, length)
      const insert = prng.word(g, min, max)
      ops.push({ index, insert })
      length += insert.length
    }
    return ops
  }
  out.push({ id: 'b2_1', title: '[B2.1] Concurrently insert string of length N at index 0', kind: 'two', init, user1: [{ index: 0, insert: prng.word(g2, n, n) }], user2: [{ index: 0, insert: prng.word(g2, n, n) }] })
  out.push({ id: 'b2_2', title: '[B2.2] Concurrently insert N characters at random positions', kind: 'two', init, user1: randomInserts(g2, 1, 1), user2: randomInserts(g2, 1, 1) })
  out.push({ id: 'b2_3', title: '[B2.3] Concurrently insert N words at random positions', kind: 'two', init, user1: randomInserts(g2, 3, 9), user2: randomInserts(g2, 3, 9) })
  {
    const insertDelete = (g: prng.PRNG): Op[] => {
      let length = init.length
      const ops: Op[] = []
      for (let i = 0; i < n; i++) {
        const index = prng.uint32(g, 0, length)
        const insert = prng.word(g, 3, 9)
        ops.push({ index, insert })
        length += insert.length
        if (length === index || prng.bool(g)) {
          const more = prng.word(g, 2, 10)
          ops.push({ index, insert: more })
          length += more.length
        } else {
          const deleteCount = prng.uint32(g, 1, Math.min(9, length - index))
          ops.push({ index, deleteCount })
          length -= deleteCount
        }
      }
      return ops
    }
    out.push({ id: 'b2_4', title: '[B2.4] Concurrently insert & delete', kind: 'two', init, user1: insertDelete(g2), user2: insertDelete(g2) })
  }

  // B3.5: sqrtN = floor(sqrt(N)) * 20 users (b3.js).
  const users = Math.floor(Math.sqrt(n)) * 20
  out.push({ id: 'b3_5', title: '[B3.5] 20√N clients concurrently insert text', kind: 'many', inserts: Array.from({ length: users }, (_, i) => i.toString()) })

  // B4: the automerge-paper trace; an edit that deletes and inserts is a delete, then an insert (b4.js).
  const ops: Op[] = []
  for (const { patches } of loadTrace(traceTxns)) {
    for (const [index, deleteCount, insert] of patches) {
      if (deleteCount > 0) ops.push({ index, deleteCount })
      if (insert.length > 0) ops.push({ index, insert })
    }
  }
  out.push({ id: 'b4', title: '[B4] Apply real-world editing dataset (automerge-paper)', kind: 'single', ops })
  return out
}

type TraceTxn = { patches: [number, number, string][] }

function loadTrace(txns: number | null): TraceTxn[] {
  // (From the working directory, as results.ts writes: in the bench bundle import.meta is the bundle's.)
  const file = join(process.cwd(), 'bench', 'traces', 'automerge-paper.json.gz')
  const trace = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { endContent: string; txns: TraceTxn[] }
  return txns === null ? trace.txns : trace.txns.slice(0, txns)
}

/** The final text by character identity: what survives when each user deletes exactly what it saw. */
export function expectedOf(scenario: Scenario): Expected {
  const sorted = (chars: string[]) => chars.sort().join('')
  switch (scenario.kind) {
    case 'single': {
      let text = ''
      for (const op of scenario.ops) text = applyOp(text, op)
      return { text, length: text.length, sortedChars: sorted(text.split('')) }
    }
    case 'two': {
      // Characters of the shared start are identified by position; a user's own by a fresh id.
      const deletedInit = new Set<number>()
      const kept: string[] = []
      for (const ops of [scenario.user1, scenario.user2]) {
        let doc: { id: number; char: string }[] = scenario.init.split('').map((char, id) => ({ id, char }))
        let next = -1
        for (const op of ops) {
          if ('insert' in op) doc = [...doc.slice(0, op.index), ...op.insert.split('').map((char) => ({ id: next--, char })), ...doc.slice(op.index)]
          else {
            for (const gone of doc.slice(op.index, op.index + op.deleteCount)) if (gone.id >= 0) deletedInit.add(gone.id)
            doc = [...doc.slice(0, op.index), ...doc.slice(op.index + op.deleteCount)]
          }
        }
        for (const c of doc) if (c.id < 0) kept.push(c.char)
      }
      scenario.init.split('').forEach((char, id) => {
        if (!deletedInit.has(id)) kept.push(char)
      })
      return { text: null, length: kept.length, sortedChars: sorted(kept) }
    }
    case 'many': {
      const chars = scenario.inserts.join('').split('')
      return { text: null, length: chars.length, sortedChars: sorted(chars) }
    }
  }
}

// ---------------------------------------------------------------------------
// Concord: three core replicas, JSON frames in process, instant storage.

const notes = defineMachine({ name: 'crdt-bench', functions: { ...textFunctions() } })
const docKey = 'doc'

/** A client calling through one replica: its own ticket sequence (as a host numbers its calls). */
interface Client {
  id: string
  at: number
  seq: number
  unanswered: Set<number>
}

class Cluster {
  readonly ids = ['r0', 'r1', 'r2']
  readonly machines: MachineInstance[]
  readonly replicas: Replica[]
  private readonly inbox = new Map<string, string[]>()
  private readonly waiting = new Map<string, (reply: CallReply) => void>()
  private lastTick = performance.now()
  bytes = 0
  frames = 0

  constructor() {
    this.machines = this.ids.map(() => createMachine(notes))
    this.replicas = this.ids.map((id, i) => new Replica({ id, members: this.ids, machine: this.machines[i]!, random: createRandom(i + 1) }))
    for (const id of this.ids) this.inbox.set(id, [])
    this.replicas[0]!.step({ type: 'campaign' })
    this.settle(() => this.replicas[0]!.status().role === 'leader' && this.replicas.every((r) => r.status().leader === 'r0'), 'an elected leader')
    // The election is not part of any scenario.
    this.bytes = 0
    this.frames = 0
  }

  client(id: string, at: number): Client {
    return { id, at, seq: 0, unanswered: new Set() }
  }

  call(client: Client, args: Json, onReply: (reply: CallReply) => void): void {
    const seq = ++client.seq
    client.unanswered.add(seq)
    let acked = seq
    for (const s of client.unanswered) if (s < acked) acked = s
    this.waiting.set(`${client.id}|${seq}`, (reply) => {
      client.unanswered.delete(seq)
      onReply(reply)
    })
    const replica = this.replicas[client.at]!
    replica.step({ type: 'call', call: { ticket: { client: client.id, seq, acked }, name: 'edit', args } })
    this.drain(replica)
  }

  text(i: number): string {
    return readText(this.machines[i]!.snapshot(), docKey).text
  }

  version(i: number): number {
    return (this.machines[i]!.get(`${docKey}#v`) as number | undefined) ?? 0
  }

  /** Every Ready of a replica: records durable at once, frames out as JSON, replies to their callers. */
  private drain(replica: Replica): void {
    while (replica.hasReady()) {
      const ready = replica.ready()
      if (ready.persist.length > 0) replica.step({ type: 'persisted', seq: ready.persistSeq })
      for (const message of ready.send) {
        if (message.to === replica.id) {
          replica.step({ type: 'loopback', message })
          continue
        }
        const frame = JSON.stringify(message)
        this.bytes += Buffer.byteLength(frame)
        this.frames++
        this.inbox.get(message.to)!.push(frame)
      }
      for (const reply of ready.replies) {
        const key = `${reply.ticket.client}|${reply.ticket.seq}`
        const resolve = this.waiting.get(key)
        this.waiting.delete(key)
        resolve?.(reply)
      }
    }
  }

  /** One round: every replica takes its whole inbox, then drains; time passes as on a host (a tick per 10 ms). */
  step(): boolean {
    const now = performance.now()
    if (now - this.lastTick >= tickMsDefault) {
      this.lastTick = now
      this.tick()
    }
    let moved = false
    this.replicas.forEach((replica) => {
      const frames = this.inbox.get(replica.id)!
      if (frames.length === 0) return
      moved = true
      this.inbox.set(replica.id, [])
      for (const frame of frames) replica.step({ type: 'message', message: JSON.parse(frame) as Message })
      this.drain(replica)
    })
    return moved
  }

  private tick(): void {
    for (const replica of this.replicas) {
      replica.step({ type: 'tick' })
      this.drain(replica)
    }
  }

  settle(done: () => boolean, what: string): void {
    let idle = 0
    while (!done()) {
      if (this.step()) idle = 0
      else if (++idle > 1000) throw new Error(`concord: stuck waiting for ${what}`)
      else this.tick()
    }
  }
}

function changesJson(changes: ChangeSet): Json {
  return changes.toJSON() as Json
}

function opChanges(op: Op, length: number): ChangeSet {
  return 'insert' in op ? ChangeSet.of({ from: op.index, insert: op.insert }, length) : ChangeSet.of({ from: op.index, to: op.index + op.deleteCount }, length)
}

const opDelta = (op: Op) => ('insert' in op ? op.insert.length : -op.deleteCount)

function fail(reply: CallReply, what: string): never {
  throw new Error(`concord: ${what} refused: ${reply.ok ? '' : `${reply.code}: ${reply.reason}`}`)
}

function concordSnapshotFigures(cluster: Cluster, expectedText: (text: string) => void): Pick<SystemRun, 'docBytes' | 'parseMs' | 'memBytes'> {
  const json = JSON.stringify(cluster.machines[0]!.snapshot())
  const docBytes = Buffer.byteLength(json)
  const before = heapUsed()
  const started = performance.now()
  const machine = createMachine(notes)
  machine.restore(JSON.parse(json))
  const text = readText(machine.snapshot(), docKey).text
  const parseMs = performance.now() - started
  expectedText(text)
  const after = heapUsed()
  // (The machine is read after measuring, so that it is alive when measured.)
  const memBytes = before === null || after === null || machine.snapshot() === null ? null : after - before
  return { docBytes, parseMs, memBytes }
}

function runConcord(scenario: Scenario): SystemRun {
  const cluster = new Cluster()
  const checkParsed = (text: string) => {
    if (text !== cluster.text(0)) throw new Error(`concord ${scenario.id}: the state reloaded from its snapshot holds other text`)
  }
  let commands = 0
  let refused = 0
  let totalMs: number
  let cpuMs: number
  const allAt = (version: number) => () => cluster.machines.every((_, i) => cluster.version(i) >= version)
  if (scenario.kind === 'single') {
    // One writer at the leader: edit k is made against version k − 1 (its own previous edits, issued in order).
    const user = cluster.client('user', 0)
    const ops = scenario.ops
    let sent = 0
    let answered = 0
    let length = 0
    const clock = startClock()
    while (answered < ops.length) {
      while (sent < ops.length && sent - answered < callsInFlightMax) {
        const op = ops[sent]!
        const changes = opChanges(op, length)
        length += opDelta(op)
        cluster.call(user, { key: docKey, base: sent, changes: changesJson(changes), id: `u:${sent}` }, (reply) => {
          if (!reply.ok) fail(reply, 'an edit')
          answered++
        })
        sent++
      }
      if (!cluster.step()) cluster.settle(() => answered === sent, 'replies')
    }
    cluster.settle(allAt(ops.length), 'every replica at the last version')
    ;({ totalMs, cpuMs } = stopClock(clock))
    commands = ops.length
  } else if (scenario.kind === 'two') {
    // The shared start, synced before the clock starts (as b2.js does).
    const setup = cluster.client('setup', 0)
    let ready = false
    cluster.call(setup, { key: docKey, base: 0, changes: changesJson(ChangeSet.of({ from: 0, insert: scenario.init }, 0)), id: 'init' }, (reply) => {
      if (!reply.ok) fail(reply, 'the initial text')
      ready = true
    })
    cluster.settle(() => ready && allAt(1)(), 'the initial text everywhere')
    cluster.bytes = 0
    cluster.frames = 0
    // Each user: its transaction is one edit (a ChangeSet composed op by op, as an editor
    // composes keystrokes), made against version 1, from its own replica (the leader, a follower).
    const clock = startClock()
    let answered = 0
    ;[scenario.user1, scenario.user2].forEach((ops, u) => {
      let changes = ChangeSet.empty(scenario.init.length)
      for (const op of ops) changes = changes.compose(opChanges(op, changes.newLength))
      cluster.call(cluster.client(`user${u + 1}`, u), { key: docKey, base: 1, changes: changesJson(changes), id: `user${u + 1}` }, (reply) => {
        if (!reply.ok) fail(reply, `user ${u + 1}'s edit`)
        answered++
      })
    })
    cluster.settle(() => answered === 2 && allAt(3)(), 'both edits everywhere')
    ;({ totalMs, cpuMs } = stopClock(clock))
    commands = 2
  } else {
    // Every user makes its insert against the empty text (version 0), through replica i mod 3.
    // The leader carries an edit over at most the last 500 edits (textLogEntriesMax): a user
    // further behind is refused as stale, sees the text its replica holds and makes its insert
    // again against that version (what a user does after TextSession's reset).
    const clock = startClock()
    let answered = 0
    const send = (client: Client, insert: string, base: number, length: number) => {
      cluster.call(client, { key: docKey, base, changes: changesJson(ChangeSet.of({ from: 0, insert }, length)), id: `${client.id}:${client.seq + 1}` }, (reply) => {
        if (reply.ok) answered++
        else if (reply.code === 'rejected' && reply.reason.startsWith('stale')) {
          refused++
          const { text, version } = readText(cluster.machines[client.at]!.snapshot(), docKey)
          send(client, insert, version, text.length)
        } else fail(reply, `${client.id}'s edit`)
      })
    }
    scenario.inserts.forEach((insert, i) => send(cluster.client(`user${i}`, i % 3), insert, 0, 0))
    cluster.settle(() => answered === scenario.inserts.length && allAt(scenario.inserts.length)(), 'every insert everywhere')
    ;({ totalMs, cpuMs } = stopClock(clock))
    commands = scenario.inserts.length
  }
  const texts = cluster.machines.map((_, i) => cluster.text(i))
  return { system: 'concord', texts, totalMs, cpuMs, bytes: cluster.bytes, commands, refused, ...concordSnapshotFigures(cluster, checkParsed) }
}

// ---------------------------------------------------------------------------
// Yjs (the published factory: Y.Text, updateV2 events, encodeStateAsUpdateV2)

function yDoc(onUpdate: ((update: Uint8Array) => void) | null): { doc: Y.Doc; text: Y.Text } {
  const doc = new Y.Doc()
  if (onUpdate !== null) doc.on('updateV2', (update: Uint8Array, origin: unknown) => origin !== 'remote' && onUpdate(update))
  return { doc, text: doc.getText('text') }
}

function yApply(text: Y.Text, op: Op): void {
  if ('insert' in op) text.insert(op.index, op.insert)
  else text.delete(op.index, op.deleteCount)
}

function runYjs(scenario: Scenario): SystemRun {
  let bytes = 0
  let totalMs: number
  let cpuMs: number
  let reference: Y.Doc
  let texts: string[]
  if (scenario.kind === 'single') {
    const updates: Uint8Array[] = []
    const a = yDoc((u) => updates.push(u))
    const b = yDoc(null)
    const clock = startClock()
    for (const op of scenario.ops) yApply(a.text, op)
    for (const update of updates) Y.applyUpdateV2(b.doc, update, 'remote')
    texts = [a.text.toString(), b.text.toString()]
    ;({ totalMs, cpuMs } = stopClock(clock))
    bytes = updates.reduce((n, u) => n + u.length, 0)
    reference = a.doc
  } else if (scenario.kind === 'two') {
    const a = yDoc(null)
    const b = yDoc(null)
    a.text.insert(0, scenario.init)
    Y.applyUpdateV2(b.doc, Y.encodeStateAsUpdateV2(a.doc), 'remote')
    const fromA: Uint8Array[] = []
    const fromB: Uint8Array[] = []
    a.doc.on('updateV2', (u: Uint8Array, origin: unknown) => origin !== 'remote' && fromA.push(u))
    b.doc.on('updateV2', (u: Uint8Array, origin: unknown) => origin !== 'remote' && fromB.push(u))
    const clock = startClock()
    a.doc.transact(() => scenario.user1.forEach((op) => yApply(a.text, op)))
    b.doc.transact(() => scenario.user2.forEach((op) => yApply(b.text, op)))
    for (const u of fromA) Y.applyUpdateV2(b.doc, u, 'remote')
    for (const u of fromB) Y.applyUpdateV2(a.doc, u, 'remote')
    texts = [a.text.toString(), b.text.toString()]
    ;({ totalMs, cpuMs } = stopClock(clock))
    bytes = [...fromA, ...fromB].reduce((n, u) => n + u.length, 0)
    reference = a.doc
  } else {
    const updates: Uint8Array[] = []
    const docs = scenario.inserts.map(() => yDoc((u) => updates.push(u)))
    const clock = startClock()
    scenario.inserts.forEach((insert, i) => docs[i]!.text.insert(0, insert))
    // Clients 0 and 1 take every update (b3.js syncs these two).
    for (const d of docs.slice(0, 2)) d.doc.transact(() => updates.forEach((u) => Y.applyUpdateV2(d.doc, u, 'remote')), 'remote')
    texts = docs.slice(0, 2).map((d) => d.text.toString())
    ;({ totalMs, cpuMs } = stopClock(clock))
    bytes = updates.reduce((n, u) => n + u.length, 0)
    reference = docs[0]!.doc
  }
  const encoded = Y.encodeStateAsUpdateV2(reference)
  const before = heapUsed()
  const started = performance.now()
  const loaded = yDoc(null)
  Y.applyUpdateV2(loaded.doc, encoded)
  const text = loaded.text.toString()
  const parseMs = performance.now() - started
  const after = heapUsed()
  if (text !== texts[0]) throw new Error(`yjs ${scenario.id}: the reloaded document holds other text`)
  return { system: 'yjs', texts, totalMs, cpuMs, bytes, docBytes: encoded.length, parseMs, memBytes: before === null || after === null ? null : after - before }
}

// ---------------------------------------------------------------------------
// Automerge (the published factory: one change per op, saveIncremental / loadIncremental, save / load)

type AmDoc = A.Doc<{ text: string }>
let automergeReady: Promise<void> | null = null
export function initAutomerge(): Promise<void> {
  automergeReady ??= A.initializeBase64Wasm(automergeWasmBase64)
  return automergeReady
}

function amSplice(d: { text: string }, op: Op): void {
  if ('insert' in op) A.splice(d, ['text'], op.index, 0, op.insert)
  else A.splice(d, ['text'], op.index, op.deleteCount)
}

function runAutomerge(scenario: Scenario): SystemRun {
  // Every document starts from the same saved empty document (its text object), with an actor of its own.
  const initial = A.save(A.from({ text: '' }))
  const fresh = (): AmDoc => A.load<{ text: string }>(initial)
  let bytes = 0
  let totalMs: number
  let cpuMs: number
  let reference: AmDoc
  let texts: string[]
  if (scenario.kind === 'single') {
    let a = fresh()
    let b = fresh()
    const updates: Uint8Array[] = []
    const clock = startClock()
    for (const op of scenario.ops) {
      a = A.change(a, (d) => amSplice(d, op))
      updates.push(A.saveIncremental(a))
    }
    for (const update of updates) b = A.loadIncremental(b, update)
    texts = [a.text, b.text]
    ;({ totalMs, cpuMs } = stopClock(clock))
    bytes = updates.reduce((n, u) => n + u.length, 0)
    reference = a
  } else if (scenario.kind === 'two') {
    let a = A.change(fresh(), (d) => A.splice(d, ['text'], 0, 0, scenario.init))
    let b = A.loadIncremental(fresh(), A.saveIncremental(a))
    A.saveIncremental(b) // (nothing of b's own yet)
    const clock = startClock()
    a = A.change(a, (d) => scenario.user1.forEach((op) => amSplice(d, op)))
    const fromA = A.saveIncremental(a)
    b = A.change(b, (d) => scenario.user2.forEach((op) => amSplice(d, op)))
    const fromB = A.saveIncremental(b)
    b = A.loadIncremental(b, fromA)
    a = A.loadIncremental(a, fromB)
    texts = [a.text, b.text]
    ;({ totalMs, cpuMs } = stopClock(clock))
    bytes = fromA.length + fromB.length
    reference = a
  } else {
    let docs = scenario.inserts.map(() => fresh())
    const updates: Uint8Array[] = []
    const clock = startClock()
    docs = docs.map((doc, i) => {
      const changed = A.change(doc, (d) => A.splice(d, ['text'], 0, 0, scenario.inserts[i]!))
      updates.push(A.saveIncremental(changed))
      return changed
    })
    const synced = docs.slice(0, 2).map((doc) => updates.reduce((d, u) => A.loadIncremental(d, u), doc))
    texts = synced.map((d) => d.text)
    ;({ totalMs, cpuMs } = stopClock(clock))
    bytes = updates.reduce((n, u) => n + u.length, 0)
    reference = synced[0]!
  }
  const encoded = A.save(reference)
  const before = heapUsed()
  const started = performance.now()
  const loaded = A.load<{ text: string }>(encoded)
  const text = loaded.text
  const parseMs = performance.now() - started
  const after = heapUsed()
  if (text !== texts[0]) throw new Error(`automerge ${scenario.id}: the reloaded document holds other text`)
  return { system: 'automerge', texts, totalMs, cpuMs, bytes, docBytes: encoded.length, parseMs, memBytes: before === null || after === null ? null : after - before }
}

// ---------------------------------------------------------------------------

function startClock(): { wall: number; cpu: NodeJS.CpuUsage } {
  return { wall: performance.now(), cpu: process.cpuUsage() }
}

function stopClock(clock: { wall: number; cpu: NodeJS.CpuUsage }): { totalMs: number; cpuMs: number } {
  const used = process.cpuUsage(clock.cpu)
  return { totalMs: performance.now() - clock.wall, cpuMs: (used.user + used.system) / 1000 }
}

function heapUsed(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return null
  gc()
  return process.memoryUsage().heapUsed
}

const sortChars = (text: string) => text.split('').sort().join('')

/** Throws unless every replica of every system ended as the scenario says it must. */
export function verify(run: ScenarioRun): void {
  const { scenario, expected } = run
  for (const r of run.runs) {
    const [first, ...rest] = r.texts
    if (first === undefined) throw new Error(`${r.system} ${scenario.id}: no replica reported its text`)
    rest.forEach((text, i) => {
      if (text !== first) throw new Error(`${r.system} ${scenario.id}: replica ${i + 1} holds other text than replica 0 (${text.length} vs ${first.length} characters)`)
    })
    if (first.length !== expected.length) throw new Error(`${r.system} ${scenario.id}: final text of ${first.length} characters, expected ${expected.length}`)
    if (expected.text !== null && first !== expected.text) throw new Error(`${r.system} ${scenario.id}: final text differs from the expected text`)
    if (sortChars(first) !== expected.sortedChars) throw new Error(`${r.system} ${scenario.id}: final text has other characters than expected`)
  }
}

export async function runScenario(scenario: Scenario, only: readonly System[] = systems): Promise<ScenarioRun> {
  await initAutomerge()
  const expected = expectedOf(scenario)
  const runs: SystemRun[] = []
  for (const system of only) {
    heapUsed()
    runs.push(system === 'concord' ? runConcord(scenario) : system === 'yjs' ? runYjs(scenario) : runAutomerge(scenario))
  }
  const run = { scenario, expected, runs }
  verify(run)
  return run
}

export interface CrdtBenchOptions {
  /** N of crdt-benchmarks (6000 published). */
  n?: number
  /** Transactions of the automerge-paper trace to replay (null: all 259,778). */
  traceTxns?: number | null
  /** Scenario ids to run (default all). */
  only?: readonly string[]
  log?: (line: string) => void
}

const round2 = (x: number) => Number(x.toFixed(x >= 100 ? 0 : 2))

export async function benchCrdt(quick: boolean, options: CrdtBenchOptions = {}): Promise<BenchResult[]> {
  const n = options.n ?? (quick ? 600 : 6000)
  const traceTxns = options.traceTxns !== undefined ? options.traceTxns : quick ? 20_000 : null
  const results: BenchResult[] = [{ name: 'crdt.n', value: n, unit: 'N' }]
  for (const scenario of scenarios(n, traceTxns)) {
    if (options.only !== undefined && !options.only.includes(scenario.id)) continue
    const run = await runScenario(scenario)
    const edits = scenario.kind === 'single' ? scenario.ops.length : scenario.kind === 'two' ? scenario.user1.length + scenario.user2.length : scenario.inserts.length
    results.push({ name: `crdt.${scenario.id}.ops`, value: edits, unit: 'ops' })
    results.push({ name: `crdt.${scenario.id}.textLength`, value: run.expected.length, unit: 'chars' })
    for (const r of run.runs) {
      const p = `crdt.${scenario.id}.${r.system}`
      results.push({ name: `${p}.totalMs`, value: round2(r.totalMs), unit: 'ms' })
      results.push({ name: `${p}.cpuMs`, value: round2(r.cpuMs), unit: 'ms' })
      results.push({ name: `${p}.bytes`, value: r.bytes, unit: 'B' })
      results.push({ name: `${p}.docBytes`, value: r.docBytes, unit: 'B' })
      results.push({ name: `${p}.parseMs`, value: round2(r.parseMs), unit: 'ms' })
      if (r.memBytes !== null) results.push({ name: `${p}.memBytes`, value: r.memBytes, unit: 'B' })
      if (r.commands !== undefined) results.push({ name: `${p}.commands`, value: r.commands, unit: 'commands' })
      if (r.refused !== undefined && scenario.kind === 'many') results.push({ name: `${p}.refusedStale`, value: r.refused, unit: 'edits' })
    }
    options.log?.(`  ${scenario.title}: ${run.runs.map((r) => `${r.system} ${round2(r.totalMs)} ms`).join(', ')}`)
  }
  return results
}

// `npx tsx bench/crdt.ts [--quick] [--n=600] [--only=b1_1,b4]`: this benchmark alone, written to bench/results/crdt.json.
// (Not import.meta.url: in the bench bundle every module shares the bundle's.)
if (/[\\/]crdt\.ts$/.test(process.argv[1] ?? '')) {
  const quick = process.argv.includes('--quick')
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
  const n = arg('n')
  const only = arg('only')
  const results = await benchCrdt(quick, { ...(n !== undefined ? { n: Number(n) } : {}), ...(only !== undefined ? { only: only.split(',') } : {}), log: (line) => console.log(line) })
  printTable('crdt-benchmarks B1–B4: Concord (3 replicas, consensus per edit) vs Yjs vs Automerge, one Node process', results)
  if (only === undefined && n === undefined) console.log(`  → ${writeResults('crdt', results)}`)
}
