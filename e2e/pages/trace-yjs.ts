// First: it counts the RTCPeerConnections made after it (the WebRTC library may keep the constructor it found).
import { dataChannelBytesSent, diskBytes, now, storedBytes, typeTrace, type Trace } from './trace-common.ts'
import * as Y from 'yjs'
import { WebrtcProvider } from 'y-webrtc'
import { IndexeddbPersistence } from 'y-indexeddb'

/** A tab of the trace benchmark on Yjs: a Y.Text over y-webrtc (WebRTC mesh), persisted by y-indexeddb. */
const params = new URLSearchParams(location.search)
const room = params.get('room')!
const signaling = params.get('signaling')!

const doc = new Y.Doc()
const ytext = doc.getText('doc')
const persistence = new IndexeddbPersistence(room, doc)
await persistence.whenSynced
const provider = new WebrtcProvider(room, doc, { signaling: [signaling], peerOpts: { config: { iceServers: [] } } })

/** When each remote transaction showed in this tab, in order (one typist: the k-th is its k-th keystroke). */
const seen: number[] = []
ytext.observe((event) => {
  if (!event.transaction.local) seen.push(now())
})

const api = {
  connected: () => [...provider.room?.webrtcConns.values() ?? []].filter((c) => c.connected).length,
  text: () => ytext.toString(),
  /** With `paceEvery`, typing waits after every so many keystrokes for the
   *  driver's `benchPace(typed)` (every tab showing and storing them). */
  async type(url: string, paceEvery?: number) {
    const trace = (await (await fetch(url)).json()) as Trace
    const benchPace = (window as unknown as { benchPace?: (typed: number) => Promise<void> }).benchPace
    const pace = paceEvery !== undefined && benchPace !== undefined ? { every: paceEvery, wait: benchPace } : undefined
    const { times, ms } = await typeTrace(trace, (patches) => {
      doc.transact(() => {
        for (const [at, remove, insert] of patches) {
          if (remove > 0) ytext.delete(at, remove)
          if (insert.length > 0) ytext.insert(at, insert)
        }
      })
    }, 200, pace)
    return { txns: trace.txns.length, ms, times: Array.from(times) }
  },
  seen: () => seen,
  /** Resolves once y-indexeddb's writes so far are done: a transaction on its
   *  store starts only after those queued before it. */
  drained: () => new Promise<boolean>((resolve, reject) => {
    const tx = persistence.db!.transaction('updates', 'readonly')
    tx.oncomplete = () => resolve(true)
    tx.onerror = () => reject(tx.error)
  }),
  length: () => ytext.length,
  bytesSent: dataChannelBytesSent,
  storedBytes,
  diskBytes,
}
Object.assign(window, { trace: api })
document.getElementById('status')!.textContent = `yjs ${doc.clientID}`
