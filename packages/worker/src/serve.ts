import { expose } from 'comlink'
import type { CallReply, ReplicaId } from '@concord/core'
import { describeStorageError, MemoryStorage, ReplicaHost, StorageCorruptError, type HostEvent } from '@concord/host'
import type { Functions, Json, MachineDefinition } from '@concord/machine'
import { databaseName, IdbStorage } from '@concord/storage-idb'
import { Adopter, LocalLinks } from './adopt.ts'
import { portTransport } from './port-transport.ts'

/**
 * The replica's worker (issue 4 §4): core + IndexedDB storage in a dedicated
 * Web Worker, ticked by the worker's own timer, exposed with comlink. The
 * app's worker file is two lines:
 *
 *   import { serveReplica } from '@concord/worker'
 *   serveReplica(myMachine)
 */
export interface StartOptions {
  app: string
  room: string
  replicaId: ReplicaId
  members: ReplicaId[]
  /** Dynamic membership: found the room (it looked empty) or join it (see HostOptions.found). */
  found?: boolean
  tickMs?: number
  pipelineDepth?: number
  /** Applied commands between snapshots (log clearing, seed 001). */
  snapshotEvery?: number
  /** 'memory' keeps nothing across reloads: for diagnostics and benchmarks of the rest. */
  storage?: 'indexeddb' | 'memory'
  /** This id has run here before: its database must exist (if it does not, the storage was lost). */
  expectStored?: boolean
}

/**
 * How a start ended. 'lost' and 'corrupt' mean this id may not run again
 * (its promises and votes are gone or untrustworthy, and a replica that
 * forgot a vote can break quorum intersection): the database is deleted and
 * the tab should rejoin under a new id. 'unavailable': storage could not be
 * opened at all (try again later).
 */
export type StartOutcome = { ok: true } | { ok: false; storage: 'lost' | 'corrupt' | 'unavailable'; error: string }

export type ReplicaStatusView = ReturnType<ReplicaHost['status']> & {
  /** Members whose dead tab's replica this worker runs until they have left (adopt.ts). */
  adopted: ReplicaId[]
  /** Replicas adopted since this worker started. */
  adoptions: number
}

/**
 * The app port: the hot path between the tab and its replica, beside
 * comlink. The tab sends calls and snapshot requests; the worker sends, in
 * order, everything one drain of the host produced — applied commands,
 * replies, events — as one message. One port keeps the order (an
 * acknowledged call's command is in the tab's state when its reply
 * arrives; a snapshot is followed by exactly the commands after it), and
 * one message per drain, without comlink's round trip per event, is the
 * fewest thread hops a call can take.
 */
export type AppRequest = { call: number; name: string; args: Json } | { snapshot: number }
export type AppItem =
  | { event: HostEvent }
  | { call: number; reply: CallReply }
  | { call: number; error: string }
  | { snapshot: number; state: Record<string, Json>; issuedUpTo: number }

/** The ports a replica starts with: frames for the mesh, app for calls and events. */
export interface ReplicaPorts {
  frames: MessagePort
  app: MessagePort
}

export interface ReplicaWorkerApi {
  start(options: StartOptions, ports: ReplicaPorts): Promise<StartOutcome>
  state(): Record<string, Json>
  status(): ReplicaStatusView
  campaign(): void
  peers(peers: ReplicaId[]): void
  leave(): void
  /** Write held-back issued commands now (the page is going away). */
  flush(): void
  close(): Promise<void>
}

export function serveReplica<F extends Functions>(machine: MachineDefinition<F>): void {
  let host: ReplicaHost<F> | null = null
  let adopter: Adopter<F> | null = null
  const need = (): ReplicaHost<F> => {
    if (host === null) throw new Error('the replica is not started')
    return host
  }
  const api: ReplicaWorkerApi = {
    async start(options, { frames: port, app }) {
      if (host !== null) throw new Error('the replica is already started')
      const persistent = options.storage !== 'memory'
      const name = databaseName(options.app, options.room, options.replicaId)
      let storage: IdbStorage | MemoryStorage
      try {
        storage = persistent ? await IdbStorage.open(name) : new MemoryStorage()
      } catch (error) {
        // A record that fails its checksum while the database is converted
        // to this version's shape: the database is as it was, and as corrupt.
        if (error instanceof StorageCorruptError) {
          await IdbStorage.destroy(name)
          return { ok: false, storage: 'corrupt', error: error.message }
        }
        return { ok: false, storage: 'unavailable', error: `IndexedDB database ${name} could not be opened: ${describeStorageError(error)}` }
      }
      if (options.expectStored === true && storage instanceof IdbStorage && storage.created) {
        storage.close()
        await IdbStorage.destroy(name)
        return { ok: false, storage: 'lost', error: `the storage of replica ${options.replicaId} is gone (its database ${name} no longer exists: cleared or deleted)` }
      }
      const links = new LocalLinks()
      try {
        host = await ReplicaHost.start({
          id: options.replicaId,
          members: options.members,
          ...(options.found !== undefined ? { found: options.found } : {}),
          machine,
          storage,
          transport: links.transportFor(options.replicaId, portTransport(port)),
          ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
          ...(options.pipelineDepth !== undefined ? { pipelineDepth: options.pipelineDepth } : {}),
          ...(options.snapshotEvery !== undefined ? { snapshotEvery: options.snapshotEvery } : {}),
        })
      } catch (error) {
        storage.close()
        if (!(error instanceof StorageCorruptError) || !persistent) throw error
        // Set aside for good: nothing in it may be trusted, and a database
        // left behind would be found by the adopter of another tab.
        await IdbStorage.destroy(name)
        return { ok: false, storage: 'corrupt', error: error.message }
      }
      // Dynamic membership (no fixed members) on IndexedDB: the replicas of
      // this profile's dead tabs can be adopted.
      if (options.members.length === 0 && persistent) {
        adopter = new Adopter({ app: options.app, room: options.room, self: host, selfId: options.replicaId, machine, links, ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}) })
      }
      serveApp(host, app)
      return { ok: true }
    },
    state: () => need().state(),
    status: () => ({ ...need().status(), adopted: adopter?.list() ?? [], adoptions: adopter?.adoptions ?? 0 }),
    campaign: () => need().campaign(),
    peers: (peers) => {
      adopter?.peers(peers)
      need().peers(peers)
    },
    leave: () => need().leave(),
    flush: () => host?.flushIssued(),
    async close() {
      await adopter?.close()
      adopter = null
      await host?.close()
      host = null
    },
  }
  expose(api)
}

/** Answer the app port (AppRequest) and forward the host's output on it, one message per drain. */
function serveApp<F extends Functions>(host: ReplicaHost<F>, port: MessagePort): void {
  const batch: AppItem[] = []
  const flush = () => {
    if (batch.length > 0) port.postMessage(batch.splice(0))
  }
  // Replies and events of one drain are pushed synchronously within it and
  // leave together at its end, before its frames (onDrained); anything
  // pushed outside a drain leaves in the microtask after it.
  const post = (item: AppItem) => {
    if (batch.push(item) === 1) queueMicrotask(flush)
  }
  host.subscribe((event) => post({ event }))
  host.onDrained(flush)
  port.onmessage = (message: MessageEvent<AppRequest>) => {
    const request = message.data
    if ('snapshot' in request) return post({ snapshot: request.snapshot, state: host.state(), issuedUpTo: host.status().issuedUpTo })
    try {
      host.callWith(request.name, request.args, (reply) => post({ call: request.call, reply }))
    } catch (error) {
      post({ call: request.call, error: error instanceof Error ? error.message : String(error) })
    }
  }
  port.start()
}
