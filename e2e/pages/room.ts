// First: it counts the RTCPeerConnections made after it (the WebRTC library may keep the constructor it found).
import { dataChannelBytesSent } from './channel-bytes.ts'
import { openStore, type Store } from '@concord/client'
import { crownPrince } from '@concord/core'
import { databaseName, IdbStorage, seal, unseal } from '@concord/storage-idb'
import { openDB } from 'idb'
import { devRoomKey, devToken } from './dev-token.ts'
import { e2eMachine, e2eMachineV2 } from './machines.ts'

/** A tab of a room, driven by the e2e tests through `window.room`. */
const params = new URLSearchParams(location.search)
const signaling = params.get('signaling') ?? 'ws://127.0.0.1:8797'
const room = params.get('room') ?? 'e2e'
const slots = Number(params.get('slots') ?? 3)
const tickMs = params.has('tick') ? Number(params.get('tick')) : undefined
const pipelineDepth = params.has('alpha') ? Number(params.get('alpha')) : undefined
const snapshotEvery = params.has('snapshotEvery') ? Number(params.get('snapshotEvery')) : undefined
const membership = params.get('membership') === 'slots' ? ('slots' as const) : params.get('membership') === 'dynamic' ? ('dynamic' as const) : undefined

/** The mesh's log lines, timestamped (a failing test prints them). */
const meshLog: string[] = []
const meshLogLinesMax = 2_000
// ?version=2: the app after an upgrade (its worker runs the same version).
const upgraded = params.get('version') === '2'
const store: Store<typeof e2eMachine.functions> = await openStore({
  machine: upgraded ? e2eMachineV2 : e2eMachine,
  worker: upgraded
    ? new Worker(new URL('./room-v2.worker.ts', import.meta.url), { type: 'module' })
    : new Worker(new URL('./room.worker.ts', import.meta.url), { type: 'module' }),
  room,
  signaling,
  slots,
  ...(tickMs !== undefined ? { tickMs } : {}),
  ...(pipelineDepth !== undefined ? { pipelineDepth } : {}),
  ...(snapshotEvery !== undefined ? { snapshotEvery } : {}),
  ...(membership !== undefined ? { membership } : {}),
  ...(params.get('storage') === 'memory' ? { storage: 'memory' as const } : {}),
  token: devToken(signaling, room),
  // Peers prove the room key to each other; ?roomKey=none turns that off, ?roomKey=<other> plays an outsider.
  ...(params.get('roomKey') === 'none' ? {} : { roomKey: params.get('roomKey') ?? (await devRoomKey(signaling, room)) }),
  log: (line) => {
    meshLog.push(`${new Date().toISOString().slice(11, 23)} ${line}`)
    if (meshLog.length > meshLogLinesMax) meshLog.shift()
  },
})

const api = {
  store,
  replicaId: store.replicaId,
  state: () => store.state,
  status: () => store.status,
  add: (by: number) => store.call('add', { by }),
  append: (item: string) => store.call('append', { item }),
  take: (by: number) => store.call('take', { by }),
  fill: (key: string, size: number) => store.call('fill', { key, size }),
  /** Characters of state (JSON), as this tab has applied it. */
  stateChars: () => JSON.stringify(store.state).length,
  /** The highest-priority member (seed 004's tie rule), as every replica computes it. */
  crownPrince: () => crownPrince(store.status.members),
  /** Records this replica holds in IndexedDB (read through a second connection). */
  storedCounts: async () => {
    const storage = await IdbStorage.open(databaseName(e2eMachine.name, room, store.replicaId))
    try {
      return await storage.counts()
    } finally {
      storage.close()
    }
  },
  /** Make this replica's stored snapshot diverge (a key no command writes
   *  appears), as a bug in an app's apply would, not the disk: the record is
   *  sealed again with a right checksum, so only the digests can tell.
   *  Returns the instance of the snapshot, or 0 if none. */
  corruptStoredSnapshot: async () => {
    const db = await openDB(databaseName(e2eMachine.name, room, store.replicaId))
    try {
      const sealed: unknown = await db.get('snapshot', 'latest')
      if (sealed === undefined) return 0
      const snapshot = unseal<{ anchor: { instance: number }; state: Record<string, unknown> }>(db.name, 'snapshot', 'latest', sealed)
      await db.put('snapshot', seal('snapshot', 'latest', { ...snapshot, state: { ...snapshot.state, junk: 'bit rot' } }), 'latest')
      return snapshot.anchor.instance
    } finally {
      db.close()
    }
  },
  /** The mesh's log lines so far (diagnostics of a failed test). */
  meshLog: () => meshLog,
  /** Payload bytes this tab has sent on its data channels. */
  bytesSent: dataChannelBytesSent,
  /** Calls that may fail: returns { ok, value | error name and message }. */
  attempt: async (name: 'add' | 'append' | 'take', args: Record<string, unknown>) => {
    try {
      return { ok: true, value: await store.call(name, args as never) }
    } catch (error) {
      return { ok: false, error: (error as Error).name, message: (error as Error).message }
    }
  },
}
Object.assign(window, { room: api })
/** Rendering megabytes of state into the DOM every 250 ms blocks the tab for
 *  seconds (it stalled the 10 MB join benchmark): show the start of it, and
 *  serialize it again only when it changed. */
const statusStateCharsMax = 2_000
let shownState: unknown = null
let shownStateText = ''
setInterval(() => {
  const s = store.status
  if (store.state !== shownState) {
    shownState = store.state
    shownStateText = JSON.stringify(store.state).slice(0, statusStateCharsMax)
  }
  document.getElementById('status')!.textContent = `${s.replicaId} ${s.role} ballot ${s.ballot} issued ${s.lastIssued} peers ${s.connected.join(',')}\n${shownStateText}`
}, 250)
