// First: it counts the RTCPeerConnections made after it (the WebRTC library may keep the constructor it found).
import { dataChannelBytesSent, diskBytes, now, storedBytes, Waiter } from './trace-common.ts'
import { ChangeSet } from '@codemirror/state'
import { TraceAuthor, traceFrontiers, type ConcurrentTrace } from '@concord/codemirror/trace-author'
import * as Y from 'yjs'
import { WebrtcProvider } from 'y-webrtc'
import { IndexeddbPersistence } from 'y-indexeddb'

/**
 * The concurrent trace's tab on Yjs (Y.Text over y-webrtc, persisted by
 * y-indexeddb), driven like the Concord one (trace-author.ts) by the same
 * TraceAuthor in the trace's order: an author types a transaction once every
 * earlier one is in its view — here without waiting for any acknowledgement
 * of its own (a CRDT has none). Each remote Yjs transaction is one
 * transaction of the trace, the next one; a transaction that changes nothing
 * in the view is marked in a Y.Array so the others still count it.
 */
const params = new URLSearchParams(location.search)
const room = params.get('room')!
const signaling = params.get('signaling')!
/** Own transactions typed before yielding to the event loop (so y-webrtc sends). */
const typedPerYield = 64

const doc = new Y.Doc()
const ytext = doc.getText('doc')
const markers = doc.getArray<number>('empty')
const persistence = new IndexeddbPersistence(room, doc)
await persistence.whenSynced
const provider = new WebrtcProvider(room, doc, { signaling: [signaling], peerOpts: { config: { iceServers: [] } } })

/** When each transaction (by index) first showed in this tab. */
const seen = new Map<string, number>()
let held = 0
let author: TraceAuthor | null = null
const waiter = new Waiter()
let delta: { insert?: unknown; delete?: number; retain?: number }[] | null = null

ytext.observe((event) => {
  if (!event.transaction.local) delta = event.delta as typeof delta
})
doc.on('afterTransaction', (transaction: Y.Transaction) => {
  if (transaction.local || transaction.changed.size === 0) return
  const k = held++
  seen.set(String(k), now())
  const changes = delta
  delta = null
  if (author === null) return
  try {
    if (author.trace.txns[k]?.agent === author.agent) throw new Error(`transaction ${k} is this author's own, yet came from a peer`)
    author.remote(k, changesOf(changes ?? [], author.doc.length))
  } catch (error) {
    return waiter.fail(error)
  }
  waiter.wake()
})

/** A Yjs text delta as a ChangeSet over the text before it. */
function changesOf(ops: { insert?: unknown; delete?: number; retain?: number }[], length: number): ChangeSet {
  const specs: { from: number; to?: number; insert?: string }[] = []
  let at = 0
  for (const op of ops) {
    if (op.retain !== undefined) at += op.retain
    else if (op.delete !== undefined) specs.push({ from: at, to: at + op.delete }), (at += op.delete)
    else if (typeof op.insert === 'string') specs.push({ from: at, insert: op.insert })
  }
  return ChangeSet.of(specs, length)
}

const api = {
  connected: () => [...(provider.room?.webrtcConns.values() ?? [])].filter((c) => c.connected).length,
  role: () => 'peer',
  text: () => ytext.toString(),
  view: () => author?.doc.toString() ?? null,
  commands: () => held,
  async author(url: string, agent: number) {
    const trace = (await (await fetch(url)).json()) as ConcurrentTrace
    const me = new TraceAuthor(trace, traceFrontiers(trace), agent, String(doc.clientID), true)
    author = me
    const typed: [id: string, at: number][] = []
    const started = performance.now()
    let sinceYield = 0
    while (me.next !== null) {
      if (!me.canType) {
        sinceYield = 0
        await waiter.until(() => me.canType)
      } else if (++sinceYield >= typedPerYield) {
        sinceYield = 0
        await new Promise((resolve) => setTimeout(resolve, 0))
      }
      const k = me.next
      const changes = me.typeChanges()
      typed.push([String(k), now()])
      doc.transact(() => {
        for (const change of changes) {
          const marks: [number, number, string][] = []
          change.iterChanges((fromA, toA, _fromB, _toB, inserted) => marks.push([fromA, toA, inserted.toString()]))
          for (let m = marks.length - 1; m >= 0; m--) {
            const [from, to, text] = marks[m]!
            if (to > from) ytext.delete(from, to - from)
            if (text.length > 0) ytext.insert(from, text)
          }
        }
        if (changes.every((change) => change.empty)) markers.push([k])
      })
      held++
      seen.set(String(k), now())
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
document.getElementById('status')!.textContent = `yjs ${doc.clientID}`
