import { transfer, wrap, type Remote } from 'comlink'
import type { CallReply, ReplicaEvent } from '@concord/core'
import { registerStore, unregisterStore } from './registry.ts'
import { createMachine, isJson, jsonDepthMax, type ArgsOf, type Functions, type Json, type MachineDefinition, type ResultOf } from '@concord/machine'
import { Mesh, type IceServer } from '@concord/transport-webrtc'
import type { AppItem, AppRequest, OutboundFrame, ReplicaStatusView, ReplicaWorkerApi, StartOutcome } from '@concord/worker'
import { ClosedError, ConcordError, RejectedError, StorageFailedError, TimeoutError, ValidationError } from './errors.ts'
import { Presence } from './presence.ts'
import { Speculations } from './speculation.ts'
import { Reports, type ReplicaReport } from './reports.ts'
import { claimIdentity, claimSlot, slotIds, type SlotClaim } from './slots.ts'

/**
 * openStore() (DESIGN.md §7, issue 4 §5): a tab's replica of a room. The
 * replica (core + IndexedDB) runs in the app's worker; the WebRTC mesh runs
 * here, on the main thread (RTCPeerConnection does not exist in workers), and
 * frames cross a MessagePort. Calls go to the leader from any tab; each
 * carries a ticket, so a call re-sent after a leader change runs at most once.
 */
export interface OpenStoreOptions<F extends Functions> {
  machine: MachineDefinition<F>
  /** The app's replica worker: `new Worker(new URL('./replica.worker.ts', import.meta.url), { type: 'module' })`. */
  worker: Worker
  room: string
  /** The signaling server, ws://… or wss://… */
  signaling: string
  /** The room token for this replica, or a function that fetches one (called again on reconnects). */
  token: string | ((replicaId: string) => Promise<string>)
  /**
   * The room key, from the app's server (`roomKeyFor(room, roomSecret)` of
   * @concord/signaling, with a room secret the signaling server never
   * holds), never through signaling: peers then prove it to each other
   * before a link carries anything, so a compromised signaling server cannot
   * let in a peer (SECURITY.md). Without it, peers trust signaling's word.
   */
  roomKey?: string
  /** App name for storage and locks (defaults to the machine's name). */
  app?: string
  /**
   * 'dynamic' (seed 004): every tab is a replica with its own id; the first
   * tab in an empty room founds it, the others ask to join, tabs that close
   * leave, and tabs that crash or freeze are removed after memberSilentTicks.
   * 'slots': a fixed set of voting slots s1…sN claimed by the tabs (a
   * room of known size, e.g. a test with N tabs). Default 'dynamic'.
   */
  membership?: 'slots' | 'dynamic'
  /** Voting replicas of the room in 'slots' membership: s1…sN. Default 3. */
  slots?: number
  /** Use this replica id instead of claiming a slot (it must be one of the slots). */
  replicaId?: string
  iceServers?: IceServer[]
  tickMs?: number
  /** α, proposals in flight beyond the issued prefix (default: the core's). */
  pipelineDepth?: number
  /** Applied commands between snapshots; the log behind a snapshot is cleared
   *  once every live replica has applied it (seed 001). Default 4096. */
  snapshotEvery?: number
  /** 'memory' keeps nothing across reloads (diagnostics, benchmarks). Default 'indexeddb'. */
  storage?: 'indexeddb' | 'memory'
  /**
   * Compress the frames between this tab's worker and its peers' (per-link
   * deflate, on links where both tabs ask for it). About 6× fewer bytes on
   * the wire for text editing, for about 0.9 ms more per command on a 2-core
   * machine (two frames on a command's path are compressed and inflated).
   * Default false.
   */
  compress?: boolean
  /** Default time a call may take before a TimeoutError. */
  callTimeoutMs?: number
  /** Receives the WebRTC mesh's log lines (links opened, failed, rebuilt): diagnostics. */
  log?: (line: string) => void
}

export interface StoreStatus {
  replicaId: string
  role: 'follower' | 'candidate' | 'leader'
  leader: string | null
  ballot: string
  members: string[]
  /** Whether this tab votes (a member); beyond the voter limit tabs are learners. */
  voter: boolean
  /** Peers with an open data channel. */
  connected: string[]
  /** Every command up to here is applied to `state`. */
  lastIssued: number
  /** How far behind the highest issued instance a peer reported. */
  lag: number
  pendingCalls: number
  /** Optimistic calls of this tab shown in `state` before their commands are applied. */
  speculativeCalls: number
  framesDropped: number
  /** Links refused because the peer could not prove it holds the room key (see `roomKey`) or runs another app or machine version. */
  peersRefused: number
  /** Why the last peer was refused, or null. */
  lastRefusal: string | null
  /** Storage writes (one per Ready) and their average time. */
  writes: number
  writeMsAverage: number
  /** The last out-of-sync event (seed 000), or null. */
  lastOutOfSync: ReplicaEvent | null
  /** Members whose dead tab (of this browser profile) this tab's worker
   *  runs until they have left: how a room of two settles a crashed tab. */
  adopted: string[]
  signaling: string
  /** Why this replica is not running, or null: a storage failure (while it recovers, or for good). */
  failed: string | null
  /** Restarts after a storage failure (a full quota, storage cleared or corrupt): from its own storage, or as a new replica under a new id, caught up by its peers. */
  recoveries: number
  /** The last storage failure, kept after the recovery. */
  lastStorageFailure: string | null
}

export interface CallOptions {
  timeoutMs?: number
  /**
   * Run the function on this tab's state at once and show its writes in
   * `state` before the round trip (collaborative editing, games). They are
   * replaced by the leader's command when it is issued (rebased over the
   * commands issued meanwhile), or rolled back if the leader rejects the call.
   * The promise still settles with the leader's answer.
   */
  optimistic?: boolean
}

export interface Store<F extends Functions> {
  readonly replicaId: string
  call<K extends keyof F & string>(name: K, args: ArgsOf<F, K>, options?: CallOptions): Promise<ResultOf<F, K>>
  /** The machine state as this tab shows it (read-only): the applied state with this tab's optimistic calls in flight over it. */
  readonly state: Readonly<Record<string, Json>>
  /** The state as this replica has applied it: issued commands only, no optimistic calls. */
  readonly confirmedState: Readonly<Record<string, Json>>
  /** Called when `state` changes: a command applied, an optimistic call shown or rolled back. */
  subscribe(listener: (state: Readonly<Record<string, Json>>) => void): () => void
  readonly status: StoreStatus
  /** Called each time `status` is refreshed (every statusRefreshMs). */
  onStatus(listener: (status: StoreStatus) => void): () => void
  /** Ask this tab to lead now (tests and tools). */
  lead(): void
  /** Cut the data channel to a peer (tests); it is rebuilt. */
  cutLink(peer: string): void
  /** Send raw text to a peer over its data channel (tests of bad input). */
  injectFrame(peer: string, frame: string): void
  /** Show the other tabs something ephemeral (a cursor, a name): sent over the
   *  data channels, never logged; null withdraws it. At most presenceCharsMax of JSON. */
  setPresence(value: Json | null): void
  /** The other tabs' presence, by replica id (tabs with an open link only). */
  readonly presence: ReadonlyMap<string, Json>
  onPresence(listener: (presence: ReadonlyMap<string, Json>) => void): () => void
  /** This replica's report for an inspector: its log, ballot, digest and counters. */
  report(): Promise<ReplicaReport>
  /** Ask every connected peer for its report; the answers go to onReport's listeners. */
  requestReports(): void
  onReport(listener: (report: ReplicaReport) => void): () => void
  /** Events worth showing: out-of-sync detection (seed 000). Returns an unsubscribe. */
  onEvent(listener: (event: ReplicaEvent) => void): () => void
  /** The worker's own status, fetched now (diagnostics). */
  debugWorkerStatus(): Promise<ReplicaStatusView>
  close(): Promise<void>
}

export const callTimeoutMsDefault = 30_000
/** The most voting slots a room in 'slots' membership may have. */
export const slotsMax = 9
/** How long a new tab waits for the signaling server to say who is in the room. */
export const welcomeTimeoutMs = 5_000

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
export const statusRefreshMs = 200
/** Backoff of restarts after a storage failure (a full quota fails again at once): from the first delay, doubling up to the last. */
export const recoveryDelayMsMin = 1_000
export const recoveryDelayMsMax = 30_000
/** A replica that ran this long before failing starts its backoff over. */
export const recoveryStableMs = 10_000

export async function openStore<F extends Functions>(options: OpenStoreOptions<F>): Promise<Store<F>> {
  const app = options.app ?? options.machine.name
  if (options.membership !== undefined && options.membership !== 'slots' && options.membership !== 'dynamic') {
    throw new ValidationError(`membership must be 'dynamic' or 'slots', not ${JSON.stringify(options.membership)}`, ['membership'])
  }
  const dynamic = (options.membership ?? 'dynamic') === 'dynamic'
  const slots = options.slots ?? 3
  if (!(Number.isSafeInteger(slots) && slots >= 1 && slots <= slotsMax)) throw new ValidationError(`slots must be an integer from 1 to ${slotsMax}`, ['slots'])
  const members = slotIds(slots)
  if (options.replicaId !== undefined) {
    if (dynamic ? !/^[A-Za-z0-9._:-]{1,64}$/.test(options.replicaId) : !members.includes(options.replicaId)) {
      throw new ValidationError(dynamic ? 'replicaId must be 1–64 letters, digits, . _ : or -' : `replicaId must be one of ${members.join(', ')}`, ['replicaId'])
    }
  }
  if (options.snapshotEvery !== undefined && !(Number.isSafeInteger(options.snapshotEvery) && options.snapshotEvery >= 1)) {
    throw new ValidationError('snapshotEvery must be a positive integer', ['snapshotEvery'])
  }
  if (options.compress !== undefined && typeof options.compress !== 'boolean') throw new ValidationError('compress must be true or false', ['compress'])
  const token = options.token
  // A tab whose storage is lost or corrupt rejoins under a new id; that needs
  // an id of its own choosing and a token for it (a function of the id).
  const canRenew = dynamic && options.replicaId === undefined && typeof token === 'function'
  const claimFor = (renew: boolean): Promise<SlotClaim> =>
    options.replicaId !== undefined
      ? Promise.resolve({ id: options.replicaId, remembered: false, release: () => {} })
      : dynamic ? claimIdentity(app, options.room, { renew }) : claimSlot(app, options.room, slots)
  const worker: Remote<ReplicaWorkerApi> = wrap(options.worker)

  // The state as applied here: a mirror of the worker's MS, fed the same commands.
  const mirror = createMachine(options.machine)
  let mirrorUpTo = 0
  let status: StoreStatus | undefined
  // The state object handed out, built on first read after a change: a
  // batch of applied commands costs nothing here when nobody looks.
  let confirmed: Readonly<Record<string, Json>> | null = null
  let snapshot: Readonly<Record<string, Json>> | null = null
  const confirmedState = () => (confirmed ??= Object.freeze(mirror.snapshot()))
  const speculations = new Speculations()
  const currentState = () => (snapshot ??= speculations.size === 0 ? confirmedState() : Object.freeze(speculations.view(mirror, Math.random)))
  const listeners = new Set<(state: Readonly<Record<string, Json>>) => void>()
  const eventListeners = new Set<(event: ReplicaEvent) => void>()
  const publish = () => {
    snapshot = null
    confirmed = null
    speculations.settle(mirrorUpTo)
    // The status follows the state at once (the rest of it is refreshed on a timer).
    if (status !== undefined && status.lastIssued < mirrorUpTo) status = { ...status, lastIssued: mirrorUpTo }
    if (listeners.size > 0) {
      const state = currentState()
      for (const listener of listeners) listener(state)
    }
  }
  // One Presence for the store's life, over whichever mesh is current.
  let session: Session | null = null
  const presence = new Presence({
    send: (to, message) => session?.mesh.send(to, message),
    connectedPeers: () => session?.mesh.connectedPeers() ?? [],
  })
  const reports = new Reports({
    send: (to, message) => session?.mesh.send(to, message),
    connectedPeers: () => session?.mesh.connectedPeers() ?? [],
    local: () => report(),
  })
  let closed = false
  let recoveries = 0
  let lastStorageFailure: string | null = null
  /** Set while the replica is being restarted after a storage failure (status.failed says why). */
  let recovering: string | null = null
  let sessionGeneration = 0

  /**
   * A session: this tab's replica under one id — its mesh, the port to the
   * worker and the worker's replica. A storage failure ends it and starts
   * another (recover()); the store, its state and its listeners go on.
   */
  interface Session {
    claim: SlotClaim
    mesh: Mesh
    /** Calls and their replies, applied commands and events (AppRequest, AppItem). */
    app: MessagePort
    /** Calls sent on `app` and not yet answered, by id. */
    calls: Map<number, { resolve: (reply: CallReply) => void; reject: (error: Error) => void }>
    stops: (() => void)[]
    startedAt: number
  }
  let nextRequestId = 1

  /** A call on the current session's app port; `onSent` gets a function that forgets it (after a timeout). */
  function callReplica(name: string, args: Json, onSent: (forget: () => void) => void): Promise<CallReply> {
    const current = session
    if (current === null) return Promise.reject(new ClosedError())
    return new Promise<CallReply>((resolve, reject) => {
      const id = nextRequestId++
      current.calls.set(id, { resolve, reject })
      onSent(() => current.calls.delete(id))
      current.app.postMessage({ call: id, name, args } satisfies AppRequest)
    })
  }

  async function startSession(claim: SlotClaim, expectStored: boolean): Promise<{ session: Session } | { failed: StartOutcome & { ok: false } }> {
    const generation = ++sessionGeneration
    const replicaId = claim.id
    const channel = new MessageChannel()
    const appChannel = new MessageChannel()
    const mesh = new Mesh({
      // Each link's data channel goes to the worker before it opens: frames
      // then travel worker to worker, not through this thread.
      // Its worker inflates what peers send on those channels: they may compress (deflate.ts).
      deflate: options.compress === true,
      channelSink: (peer, dataChannel) => {
        try {
          channel.port1.postMessage({ attach: peer, channel: dataChannel, gated: true }, [dataChannel as unknown as Transferable])
        } catch {
          dataChannel.close() // not transferable here: frames use the relay
        }
      },
      signalingUrl: options.signaling,
      room: options.room,
      peer: replicaId,
      token: typeof token === 'string' ? token : () => token(replicaId),
      ...(options.iceServers !== undefined ? { iceServers: options.iceServers } : {}),
      ...(options.log !== undefined ? { log: options.log } : {}),
      ...(options.roomKey !== undefined ? { roomKey: options.roomKey } : {}),
      // Said in every link's handshake: a tab running another version of the machine is refused.
      app: `${app}@${options.machine.version}`,
    })
    const stops: (() => void)[] = []
    const end = () => {
      for (const stop of stops) stop()
      mesh.close()
      channel.port1.close()
      appChannel.port1.close()
    }
    // Seed 004 M8: only a replica in a room the signaling server reports empty
    // founds it (and only with nothing stored, which the worker checks).
    const found = dynamic ? (await Promise.race([mesh.welcome, sleep(welcomeTimeoutMs).then(() => null)]))?.length === 0 : undefined
    channel.port1.onmessage = (event: MessageEvent<OutboundFrame>) => mesh.send(event.data.to, event.data.frame)
    stops.push(mesh.onFrame((from, frame) => {
      if (!presence.receive(from, frame) && !reports.receive(from, frame, performance.now())) channel.port1.postMessage({ from, frame })
    }))
    stops.push(mesh.onPeers((connected) => {
      presence.onPeers(connected)
      reports.onPeers(connected)
      // The worker's channels carry frames only for peers whose links are open: after the handshake.
      // Compressed both ways on a link, or neither: only where both tabs asked.
      channel.port1.postMessage({ open: connected, deflate: options.compress === true ? mesh.deflatePeers() : [] })
    }))
    const started = await worker.start(
      {
        app,
        room: options.room,
        replicaId,
        members: dynamic ? [] : members,
        ...(found !== undefined ? { found } : {}),
        ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
        ...(options.pipelineDepth !== undefined ? { pipelineDepth: options.pipelineDepth } : {}),
        ...(options.snapshotEvery !== undefined ? { snapshotEvery: options.snapshotEvery } : {}),
        ...(options.storage !== undefined ? { storage: options.storage } : {}),
        ...(expectStored ? { expectStored } : {}),
      },
      transfer({ frames: channel.port2, app: appChannel.port2 }, [channel.port2, appChannel.port2]),
    ).catch((error: unknown) => {
      end()
      throw error
    })
    if (!started.ok) {
      end()
      return { failed: started }
    }
    // A replica that starts over under a new id catches up from the
    // beginning (or from a snapshot) while the mirror already holds a later
    // state of the same log: it is not put back in time meanwhile.
    // (Both replicas' logs are the room's log, so the mirror at mirrorUpTo
    // is that log's state there; the same holds for a restart under the old id.)
    const renewedAt = mirrorUpTo
    const calls: Session['calls'] = new Map()
    // The mirror follows the worker's applied commands from a snapshot on:
    // until it arrives (and after a gap, which should not happen), commands
    // are not applied here; the snapshot covers every one posted before it.
    let synced = false
    let markSynced = () => {}
    const firstSync = new Promise<void>((resolve) => (markSynced = resolve))
    const sync = () => {
      synced = true
      markSynced()
    }
    let snapshotWanted = 0
    const requestSnapshot = () => {
      synced = false
      snapshotWanted = nextRequestId++
      appChannel.port1.postMessage({ snapshot: snapshotWanted } satisfies AppRequest)
    }
    const onEvent = (event: Extract<AppItem, { event: unknown }>['event']) => {
      if (event.type === 'failed') {
        void recover(event.error)
        return
      }
      if (event.type === 'installed') {
        if (event.instance < renewedAt && event.instance < mirrorUpTo) return
        // The worker replaced its state by a snapshot: it was far behind, or
        // out of sync and starting over (then the instance goes back).
        mirror.load(event.state)
        mirrorUpTo = event.instance
        sync()
        publish()
        return
      }
      if (event.type === 'replica') {
        for (const listener of eventListeners) listener(event.event)
        return
      }
      if (!synced) return
      for (const entry of event.entries) {
        if (entry.instance <= mirrorUpTo) continue
        if (entry.instance !== mirrorUpTo + 1) return requestSnapshot()
        // Reconfigurations (members) and logged rejections change no state.
        if (entry.command.rejected === undefined && entry.command.members === undefined) mirror.apply(entry.instance, entry.command.payload)
        mirrorUpTo = entry.instance
      }
      publish()
    }
    appChannel.port1.onmessage = (message: MessageEvent<AppItem[]>) => {
      if (generation !== sessionGeneration) return
      for (const item of message.data) {
        if ('event' in item) onEvent(item.event)
        else if ('snapshot' in item) {
          if (item.snapshot !== snapshotWanted) continue
          // A replica that starts over under a new id is not put back in time (renewedAt).
          if (mirrorUpTo < item.issuedUpTo) {
            mirror.load(item.state)
            mirrorUpTo = item.issuedUpTo
          }
          sync()
          publish()
        } else {
          const waiting = calls.get(item.call)
          calls.delete(item.call)
          if ('reply' in item) waiting?.resolve(item.reply)
          else waiting?.reject(new Error(item.error))
        }
      }
    }
    requestSnapshot()
    await firstSync
    if (dynamic) {
      // Whom to ask to join: the peers this tab can reach.
      const tellPeers = (peers: string[]) => void worker.peers(peers).catch(() => {})
      tellPeers(mesh.connectedPeers())
      stops.push(mesh.onPeers(tellPeers))
    }
    return { session: { claim, mesh, app: appChannel.port1, calls, stops: [...stops, () => channel.port1.close(), () => appChannel.port1.close()], startedAt: Date.now() } }
  }

  async function endSession(ended: Session): Promise<void> {
    for (const stop of ended.stops) stop()
    ended.mesh.close()
    presence.onPeers([])
    await worker.close().catch(() => {})
  }

  /**
   * Start the replica under `claim`, or — if its storage is lost or corrupt
   * and the tab may take a new id — under a new one, recovered from the
   * room's healthy peers. Throws StorageFailedError when neither can be.
   */
  async function startReplica(claim: SlotClaim, initial: boolean): Promise<Session> {
    const first = await startSession(claim, claim.remembered)
    if ('session' in first) return first.session
    const { storage, error } = first.failed
    lastStorageFailure = error
    if (storage === 'unavailable' || !canRenew) {
      claim.release()
      throw new StorageFailedError(storage === 'unavailable' ? error : `${error}; this replica cannot take a new id (${dynamic ? 'a replicaId or a token string was given' : "'slots' membership"}), so it cannot rejoin`, storage)
    }
    // The old id may never vote again: a new one, a replica with nothing
    // stored, joins the room and is caught up by it.
    claim.release()
    if (initial) recoveries++
    const renewed = await startSession(await claimFor(true), false)
    if ('session' in renewed) return renewed.session
    throw new StorageFailedError(renewed.failed.error, renewed.failed.storage)
  }

  /** The replica's storage failed under it: restart it (the same id if its storage holds, else a new one), backing off while it keeps failing. */
  async function recover(error: string): Promise<void> {
    if (closed || recovering !== null || session === null) return
    recovering = error
    lastStorageFailure = error
    const failedSession = session
    // A session that ran a while resets the backoff; one that failed at once doubles it.
    failuresInARow = Date.now() - failedSession.startedAt > recoveryStableMs ? 1 : failuresInARow + 1
    await endSession(failedSession)
    session = null
    for (;;) {
      await sleep(Math.min(recoveryDelayMsMax, recoveryDelayMsMin * 2 ** (failuresInARow - 1)))
      if (closed) return
      try {
        session = await startReplica({ ...failedSession.claim, remembered: true }, false)
        recovering = null
        recoveries++
        markReady()
        return
      } catch (failure) {
        recovering = failure instanceof Error ? failure.message : String(failure)
        if (failure instanceof StorageFailedError && failure.storage !== 'unavailable') {
          // For good: status.failed says why, and calls are answered with it.
          stoppedFor = failure
          markReady()
          return
        }
        failuresInARow++
      }
    }
  }
  let failuresInARow = 0
  let stoppedFor: StorageFailedError | null = null
  // Calls wait for a replica to be running (a recovery may be under way).
  let markReady: () => void = () => {}
  const replicaReady = (): Promise<void> => {
    if (stoppedFor !== null) return Promise.reject(stoppedFor)
    if (session !== null) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const previous = markReady
      markReady = () => {
        previous()
        if (stoppedFor !== null) reject(stoppedFor)
        else resolve()
      }
    })
  }

  session = await startReplica(await claimFor(false), true)
  // A closing tab leaves (seed 004 FIG. 6) where the browser lets it; one
  // that crashes is removed after its silence. Either way its worker writes
  // the issued commands it holds back, so that a reload finds them on disk.
  addEventListener('pagehide', () => void (dynamic ? worker.leave() : worker.flush()).catch(() => {}))
  status = view(await worker.status())
  const statusListeners = new Set<(status: StoreStatus) => void>()
  const statusChanged = () => {
    for (const listener of statusListeners) listener(status!)
  }
  const refresh = setInterval(() => {
    if (session === null) {
      if (status !== undefined) status = { ...status, failed: recovering, recoveries, lastStorageFailure, role: 'follower', leader: null, connected: [] }
      statusChanged()
      return
    }
    worker.status().then((s) => {
      if (session === null || closed) return
      status = view(s)
      statusChanged()
    }, () => {})
  }, statusRefreshMs)

  function view(s: ReplicaStatusView): StoreStatus {
    const mesh = session!.mesh
    return {
      replicaId: session!.claim.id,
      role: s.role,
      leader: s.leader,
      ballot: s.nextBal.round === 0 ? '-' : `${s.nextBal.round}.${s.nextBal.replica}`,
      members: dynamic ? s.members : members,
      voter: (dynamic ? s.members : members).includes(session!.claim.id),
      connected: mesh.connectedPeers(),
      lastIssued: s.issuedUpTo,
      lag: Math.max(0, s.knownIssued - s.issuedUpTo),
      pendingCalls: s.pendingCalls,
      speculativeCalls: speculations.size,
      framesDropped: s.framesDropped + presence.dropped + reports.dropped + mesh.counters.framesUnauthenticated,
      peersRefused: mesh.counters.authFailures + mesh.counters.versionMismatches,
      lastRefusal: mesh.lastError?.refused === true ? mesh.lastError.message : null,
      writes: s.writes,
      writeMsAverage: Math.round(s.writeMsAverage * 100) / 100,
      lastOutOfSync: s.lastOutOfSync,
      adopted: s.adopted,
      signaling: mesh.signalingState,
      failed: s.failed ?? recovering,
      recoveries,
      lastStorageFailure,
    }
  }

  async function report(): Promise<ReplicaReport> {
    if (session === null) throw new ClosedError()
    const s = await worker.status()
    const estimate = await navigator.storage?.estimate?.().catch(() => undefined)
    const current = view(s)
    return {
      id: current.replicaId,
      role: s.role,
      leader: s.leader,
      ballot: current.ballot,
      members: current.members,
      issuedUpTo: s.issuedUpTo,
      votedUpTo: s.votedUpTo,
      logStart: s.logStart,
      logSize: s.logSize,
      snapshotAt: s.snapshotAt,
      digest: s.digest,
      counters: { ...s.counters },
      pendingCalls: s.pendingCalls,
      writes: s.writes,
      writeMsAverage: current.writeMsAverage,
      connected: current.connected,
      failed: current.failed,
      storageBytes: estimate?.usage ?? null,
    }
  }

  const store: Store<F> = {
    get replicaId() {
      return session?.claim.id ?? status!.replicaId
    },
    get state() {
      return currentState()
    },
    get confirmedState() {
      return confirmedState()
    },
    get status() {
      return status!
    },
    onStatus(listener) {
      statusListeners.add(listener)
      return () => statusListeners.delete(listener)
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setPresence(value) {
      if (closed) throw new ClosedError()
      presence.set(value)
    },
    get presence() {
      return presence.peers
    },
    onPresence: (listener) => presence.subscribe(listener),
    report,
    requestReports: () => reports.request(),
    onReport: (listener) => reports.onReport(listener),
    onEvent(listener) {
      eventListeners.add(listener)
      return () => eventListeners.delete(listener)
    },
    async call(name, args, callOptions) {
      if (closed) throw new ClosedError()
      const def = Object.hasOwn(options.machine.functions, name) ? options.machine.functions[name] : undefined
      if (def === undefined) throw new ValidationError(`no function named ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)}`, [])
      // What crosses to the worker and the peers is JSON: no cycles, classes, functions, BigInts or NaN, even in keys the schema ignores.
      if (!isJson(args)) throw new ValidationError(`arguments must be JSON (plain objects and arrays, finite numbers, strings, booleans, null; at most ${jsonDepthMax} deep)`, [])
      const parsed = def.args.safeParse(args)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!
        throw new ValidationError(`${issue.path.length > 0 ? issue.path.join('.') : 'arguments'}: ${issue.message}`, issue.path as (string | number)[])
      }
      const timeoutMs = callOptions?.timeoutMs ?? options.callTimeoutMs ?? callTimeoutMsDefault
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(timeoutMs)), timeoutMs)
      })
      const speculation = callOptions?.optimistic === true ? speculations.add(name, args as Json) : null
      if (speculation !== null) publish()
      let issued = false
      let abandon = () => {}
      try {
        const reply = await Promise.race([replicaReady().then(() => callReplica(name, args as Json, (forget) => (abandon = forget))), timeout])
        if (speculation !== null && reply.ok) {
          issued = true
          // Shown until the mirror has applied its command (publish() ends it then): no flicker in between.
          if (speculations.issued(speculation, reply.instance, mirrorUpTo)) publish()
        }
        return outcome(reply) as ResultOf<F, typeof name>
      } finally {
        clearTimeout(timer)
        abandon()
        if (speculation !== null && !issued) {
          // Rejected, timed out or closed: rolled back, visibly.
          speculations.drop(speculation)
          publish()
        }
      }
    },
    lead: () => void worker.campaign().catch(() => {}),
    cutLink: (peer) => session?.mesh.cutLink(peer),
    injectFrame: (peer, frame) => session?.mesh.send(peer, frame),
    debugWorkerStatus: () => worker.status(),
    async close() {
      if (closed) return
      closed = true
      clearInterval(refresh)
      presence.close()
      reports.close()
      if (session !== null) {
        for (const stop of session.stops) stop()
        session.mesh.close()
      }
      await worker.close().catch(() => {})
      options.worker.terminate()
      session?.claim.release()
      unregisterStore(store as unknown as Store<Functions>)
    },
  }
  registerStore(store as unknown as Store<Functions>)
  return store
}

function outcome(reply: CallReply): unknown {
  if (reply.ok) return reply.result
  if (reply.code === 'rejected') throw new RejectedError(reply.reason)
  if (reply.code === 'invalid-args' || reply.code === 'unknown-function') throw new ValidationError(reply.reason, [])
  throw new ConcordError(`${reply.code}: ${reply.reason}`, reply.code)
}
