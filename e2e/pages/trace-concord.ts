// First: it counts the RTCPeerConnections made after it (the WebRTC library may keep the constructor it found).
import { dataChannelBytesSent, diskBytes, now, storedBytes, typeTrace, type Trace } from './trace-common.ts'
import { openStore } from '@concord/client'
import { openText, readText, type TextStore } from '@concord/codemirror'
import { devToken } from './dev-token.ts'
import { textMachine } from './machines.ts'

/** A tab of the trace benchmark on Concord: a collaborative text without an editor (openText). */
const params = new URLSearchParams(location.search)
const signaling = params.get('signaling')!
const room = params.get('room')!

const store = await openStore({
  machine: textMachine,
  worker: new Worker(new URL('./editor.worker.ts', import.meta.url), { type: 'module' }),
  room,
  signaling,
  // Text editing: the wire bytes are what the trace benchmark compares (per-link deflate).
  compress: true,
  ...(params.has('snapshotEvery') ? { snapshotEvery: Number(params.get('snapshotEvery')) } : {}),
  token: devToken(signaling, room),
})

/** Which transactions each text command carried: the id and the count typed when it left. */
const sent: [id: string, typed: number][] = []
let typed = 0
const counted: TextStore = {
  get state() {
    return store.state
  },
  subscribe: (listener) => store.subscribe(listener),
  call: (name, args) => {
    if (sent.at(-1)?.[0] !== args.id) sent.push([args.id, typed])
    return store.call(name, args)
  },
}
const text = openText(counted)
/** When each text command (by id) first showed in this tab. */
const seen = new Map<string, number>()
store.subscribe((state) => {
  const t = now()
  for (const entry of readText(state, 'doc').log) if (!seen.has(entry.id)) seen.set(entry.id, t)
})

/** Resolves once this tab's edits are all issued (and applied here): the session has seen its own edit in the log. */
function untilIssued(): Promise<void> {
  return new Promise((resolve) => {
    if (!text.pending) return resolve()
    const off = store.subscribe(() => {
      if (!text.pending) off(), resolve()
    })
  })
}

/** Largest insert of one preload edit (the text machine takes up to 256 KiB per edit). */
const preloadChunkChars = 200_000

const api = {
  replicaId: store.replicaId,
  /** Grow the text to `size` characters (a benchmark of document size), edit by edit. */
  async preload(size: number) {
    while (text.text.length < size) {
      text.replace(text.text.length, text.text.length, 'x'.repeat(Math.min(preloadChunkChars, size - text.text.length)))
      await untilIssued()
    }
    return text.text.length
  },
  /** Type `n` characters at seeded places, each once the previous is issued: each one's milliseconds until issued. */
  async keystrokes(n: number, seed = 1) {
    const times: number[] = []
    let x = seed
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) % 2147483648
      const at = x % (text.text.length + 1)
      const started = performance.now()
      text.replace(at, at, 'k')
      await untilIssued()
      times.push(performance.now() - started)
    }
    return times
  },
  role: () => store.status.role,
  connected: () => store.status.connected.length,
  text: () => text.text,
  pending: () => text.pending,
  async type(url: string) {
    const trace = (await (await fetch(url)).json()) as Trace
    const { times, ms } = await typeTrace(trace, (patches) => {
      for (const [at, remove, insert] of patches) text.replace(at, at + remove, insert)
      typed++
    })
    return { txns: trace.txns.length, ms, times: Array.from(times), sent }
  },
  seen: () => [...seen],
  bytesSent: dataChannelBytesSent,
  storedBytes,
  diskBytes,
  commands: () => readText(store.state, 'doc').version,
}
Object.assign(window, { trace: api })
document.getElementById('status')!.textContent = `concord ${store.replicaId}`
