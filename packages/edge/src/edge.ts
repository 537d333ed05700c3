import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import WebSocket from 'ws'
import type { CallReply, ReplicaId } from '@concord/core'
import { ReplicaHost, type HostEvent } from '@concord/host'
import type { Functions, Json, MachineDefinition } from '@concord/machine'
import { developmentRoomSecret, developmentSecret, roomKeyFor, signToken } from '@concord/signaling'
import { FileStorage, type Recovery } from '@concord/storage-file'
import { Mesh, type IceServer } from '@concord/transport-webrtc'

/**
 * An edge replica (issue 8 §1): the same core and host as a browser tab's,
 * with file storage instead of IndexedDB and Node WebRTC (simple-peer over
 * node-datachannel) instead of the browser's. It is a normal member of its
 * room: it founds the room if it is empty, joins it otherwise, and keeps
 * the room's state while every tab is closed — tabs that open later join
 * through it and get the state from it.
 *
 * Files: `<data>/<app>/<room>/replica-id` (the replica's id, kept across
 * restarts: a restarted edge is the same member, with its promises and votes)
 * and `<data>/<app>/<room>/<id>/` (FileStorage: the log and its lock).
 */
export interface EdgeOptions<F extends Functions> {
  machine: MachineDefinition<F>
  room: string
  /** The signaling server, ws://… or wss://… */
  signaling: string
  /** The data directory. */
  data: string
  /** App name (defaults to the machine's name): must match the tabs'. */
  app?: string
  /** A room token for this replica, or a function that makes one (called on every reconnect). */
  token?: string | ((replicaId: string) => Promise<string>)
  /** The signaling secret, to sign its own tokens when no token is given (default: the development secret). */
  secret?: string
  /** The room secret (the app server's, never the signaling server's) to derive the room key from (default: the development room secret). */
  roomSecret?: string
  /** The room key peers prove to each other (default: derived from `roomSecret`); 'none' trusts signaling's word. */
  roomKey?: string
  /**
   * This replica's id on first start; later starts reuse the stored one. The
   * default, `edge-` + 8 hex digits, is longer than a tab's (`t-` + 8), so in
   * a room of tabs the edge is the crown prince (quorum.ts: the longest id):
   * with an even number of members, the half that holds the always-on edge
   * goes on — a room of one tab and an edge survives the tab's crash.
   */
  replicaId?: string
  iceServers?: IceServer[]
  tickMs?: number
  snapshotEvery?: number
  /** Join as a learner that archives the room: fed every command, never a voter, never founds (default: a voter). */
  learner?: boolean
  /** Log bytes below which the file log is never compacted (tests). */
  compactBytesMin?: number
  log?: (line: string) => void
}

/** How long the edge waits for the signaling server to say who is in the room. */
export const welcomeTimeoutMs = 10_000
/** Lifetime of the tokens an edge signs for itself. */
export const selfTokenLifetimeMs = 60 * 60 * 1000

export interface EdgeReplica {
  readonly id: ReplicaId
  readonly dir: string
  /** What opening the storage found (a torn tail cut off, frames read). */
  readonly recovery: Recovery
  /** Whether this start founded the room (it was empty, nothing was stored, and it is not a learner). */
  readonly founded: boolean
  call(name: string, args: Json): Promise<CallReply>
  state(): Record<string, Json>
  status(): ReturnType<ReplicaHost['status']> & { connected: string[]; signaling: string; logBytes: number }
  subscribe(listener: (event: HostEvent) => void): () => void
  /** Leave the room's membership (seed 004 FIG. 6), then close. */
  leave(): Promise<void>
  close(): Promise<void>
}

const idPattern = /^[A-Za-z0-9._:-]{1,64}$/

/** The replica id kept in `dir`, or a new one written there (crash-safely) first. */
export async function replicaIdIn(dir: string, wanted?: string): Promise<string> {
  const path = join(dir, 'replica-id')
  const stored = await readFile(path, 'utf8').then((s) => s.trim(), () => null)
  if (stored !== null) {
    if (!idPattern.test(stored)) throw new Error(`${path} holds ${JSON.stringify(stored)}, not a replica id`)
    if (wanted !== undefined && wanted !== stored) throw new Error(`${dir} belongs to replica ${stored}, not ${wanted}`)
    return stored
  }
  const id = wanted ?? `edge-${randomBytes(4).toString('hex')}`
  if (!idPattern.test(id)) throw new Error(`replica id ${JSON.stringify(id)}: 1–64 letters, digits, . _ : or -`)
  await mkdir(dir, { recursive: true })
  // Crash-safe: the id is on disk, whole, before any storage is made for it.
  const handle = await open(`${path}.next`, 'w')
  try {
    await handle.writeFile(id)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(`${path}.next`, path)
  const directory = await open(dir, 'r')
  await directory.sync().finally(() => directory.close())
  return id
}

export async function startEdge<F extends Functions>(options: EdgeOptions<F>): Promise<EdgeReplica> {
  const app = options.app ?? options.machine.name
  const roomDir = join(options.data, encodeURIComponent(app), encodeURIComponent(options.room))
  const id = await replicaIdIn(roomDir, options.replicaId)
  const dir = join(roomDir, id)
  const log = options.log ?? (() => {})
  const storage = await FileStorage.open(dir, options.compactBytesMin !== undefined ? { compactBytesMin: options.compactBytesMin } : {})
  if (storage.recovery.tornBytes > 0) log(`storage: cut a torn last write of ${storage.recovery.tornBytes} bytes (${storage.recovery.torn}); it was never acknowledged`)
  const secret = options.secret ?? developmentSecret
  const token = options.token ?? (async (peer: string) => signToken({ room: options.room, peer, exp: Date.now() + selfTokenLifetimeMs }, secret))
  const mesh = new Mesh({
    signalingUrl: options.signaling,
    room: options.room,
    peer: id,
    token: typeof token === 'string' ? token : () => token(id),
    WebSocket,
    ...(options.roomKey === 'none' ? {} : { roomKey: options.roomKey ?? roomKeyFor(options.room, options.roomSecret ?? developmentRoomSecret) }),
    app: `${app}@${options.machine.version}`,
    ...(options.iceServers !== undefined ? { iceServers: options.iceServers } : {}),
    log,
  })
  let host: ReplicaHost<F>
  let founded: boolean
  try {
    // Seed 004 M8, as a tab does: found the room only if the signaling server says it is empty.
    let timer: ReturnType<typeof setTimeout> | undefined
    const welcome = await Promise.race([mesh.welcome, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), welcomeTimeoutMs)))])
    clearTimeout(timer)
    if (welcome === null) throw new Error(`no answer from the signaling server ${options.signaling} in ${welcomeTimeoutMs} ms${mesh.lastError !== null ? `: ${mesh.lastError.message}` : ''}`)
    const stored = await storage.load()
    founded = options.learner !== true && welcome.length === 0 && stored.issued.length === 0 && stored.votes.length === 0 && stored.snapshot === undefined && stored.nextBal.round === 0 && stored.lastTried.round === 0
    host = await ReplicaHost.start({
      id,
      members: [],
      found: welcome.length === 0,
      machine: options.machine,
      storage,
      transport: mesh,
      ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
      ...(options.snapshotEvery !== undefined ? { snapshotEvery: options.snapshotEvery } : {}),
      ...(options.learner === true ? { learner: true } : {}),
    })
  } catch (error) {
    mesh.close()
    await storage.shutdown()
    throw error
  }
  // Whom to ask to join, and whom the leader may count as alive: the peers reachable now.
  host.peers(mesh.connectedPeers())
  const stopPeers = mesh.onPeers((connected) => host.peers(connected))
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    stopPeers()
    await host.close()
    mesh.close()
    await storage.shutdown()
  }
  return {
    id,
    dir,
    recovery: storage.recovery,
    founded,
    call: (name, args) => host.call(name, args),
    state: () => host.state(),
    status: () => ({ ...host.status(), connected: mesh.connectedPeers(), signaling: mesh.signalingState, logBytes: storage.logBytes }),
    subscribe: (listener) => host.subscribe(listener),
    async leave() {
      host.leave()
      // The leave is a reconfiguration the leader issues; wait until this replica is out of the members (or give up after a while).
      const deadline = Date.now() + 10_000
      while (host.status().members.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      await close()
    },
    close,
  }
}
