// First: it counts the RTCPeerConnections made after it (the WebRTC library may keep the constructor it found).
import { dataChannelBytesSent, diskBytes, now, storedBytes, Waiter } from './trace-common.ts'
import { openStore } from '@concord/client'
import { readText, type editArgs, type TextLogEntry } from '@concord/codemirror'
import { TraceAuthor, traceFrontiers, type ConcurrentTrace } from '@concord/codemirror/trace-author'
import type { z } from 'zod'
import { devToken } from './dev-token.ts'
import { textMachine } from './machines.ts'

/**
 * A tab of the concurrent trace (friendsforever): it types one author's
 * transactions as recorded (TraceAuthor: each positioned in the version its
 * author had seen), or only watches. Every log entry is handed to the author
 * one at a time, as it shows in this tab's state; each transaction is typed
 * once every earlier transaction of the trace is here (so the leader issues
 * them in the trace's order: see TraceAuthor.inTraceOrder) and its author's
 * previous edit is acknowledged, or, with ?typeOn=1, while that edit is in
 * flight, to go with the next (TraceAuthor.typeOn).
 */
const params = new URLSearchParams(location.search)
const signaling = params.get('signaling') ?? 'ws://127.0.0.1:8797'
const room = params.get('room') ?? 'e2e-trace-author'
/** Milliseconds before an edit whose call failed (no leader, a timeout) is sent again, with the same id. */
const resendMs = 500
/** ?typeOn=1: type on while an edit is in flight, as a person at an editor does (TraceAuthor.typeOn). */
const typeOn = params.get('typeOn') === '1'

const store = await openStore({
  machine: textMachine,
  worker: new Worker(new URL('./editor.worker.ts', import.meta.url), { type: 'module' }),
  room,
  signaling,
  // Text editing: the wire bytes are what the trace benchmark compares (per-link deflate).
  compress: true,
  token: devToken(signaling, room),
})

/** When each text command (by id) first showed in this tab's state. */
const seen = new Map<string, number>()
let author: TraceAuthor | null = null
const waiter = new Waiter()

function deliver(log: readonly TextLogEntry[]): void {
  if (author === null || log.length === 0) return
  if (log[0]!.v > author.version + 1) waiter.fail(`this tab missed log entries ${author.version + 1}..${log[0]!.v - 1} (the state keeps the last ${log.length})`)
  for (const entry of log) if (entry.v === author.version + 1) author.receive(entry)
  waiter.wake()
}

store.subscribe((state) => {
  const t = now()
  const { log } = readText(state, 'doc')
  for (const entry of log) if (!seen.has(entry.id)) seen.set(entry.id, t)
  try {
    deliver(log)
  } catch (error) {
    waiter.fail(error)
  }
})

function send(edit: { id: string; base: number; changes: unknown }): void {
  const args = { key: 'doc', base: edit.base, changes: edit.changes as z.input<typeof editArgs>['changes'], id: edit.id }
  store.call('edit', args).catch((error: unknown) => {
    const name = error instanceof Error ? error.name : ''
    if (name === 'RejectedError' || name === 'ValidationError') waiter.fail(`edit ${edit.id} refused: ${error instanceof Error ? error.message : String(error)}`)
    else setTimeout(() => send(edit), resendMs)
  })
}

const api = {
  replicaId: store.replicaId,
  role: () => store.status.role,
  connected: () => store.status.connected.length,
  /** The text as issued and applied here. */
  text: () => readText(store.state, 'doc').text,
  /** The author's own view (its editor), or null in a tab that only watches. */
  view: () => author?.doc.toString() ?? null,
  commands: () => readText(store.state, 'doc').version,
  /** Type author `agent`'s transactions of the trace at `url`; resolves once the last is acknowledged. */
  async author(url: string, agent: number) {
    const trace = (await (await fetch(url)).json()) as ConcurrentTrace
    const me = new TraceAuthor(trace, traceFrontiers(trace), agent, store.replicaId, true, 'doc', typeOn)
    author = me
    deliver(readText(store.state, 'doc').log)
    /** Each transaction typed: the id of the edit that carried it, and when it was typed. */
    const typed: [id: string, at: number][] = []
    const typedAt = new Map<number, number>()
    const started = performance.now()
    document.getElementById('status')!.textContent = `author ${agent}: typing ${me.own.length} transactions${typeOn ? ', typing on' : ''}`
    for (;;) {
      // Type what may be typed now (one transaction, or typing on a run behind the edit in flight), and send.
      while (me.canType) {
        typedAt.set(me.next!, now())
        me.typeNext()
      }
      const out = me.takeSendable()
      if (out !== null) {
        for (const k of out.txns) typed.push([out.edit.id, typedAt.get(k)!])
        send({ id: out.edit.id, base: out.edit.base, changes: out.edit.changes.toJSON() })
      }
      if (me.done) break
      await waiter.until(() => me.canType || me.canSend || me.done)
    }
    document.getElementById('status')!.textContent = `author ${agent}: done`
    return { txns: me.own.length, ms: performance.now() - started, typed, extraEdits: me.extraEdits }
  },
  seen: () => [...seen],
  bytesSent: dataChannelBytesSent,
  storedBytes,
  diskBytes,
}
Object.assign(window, { traceAuthor: api })
document.getElementById('status')!.textContent = `concord ${store.replicaId}`
