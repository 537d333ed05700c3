import { AssertionError, createRandom, decodeMessage, electionIdleFactor, electionTicksMax, electionTicksMin, encodeMessage, QuorumSystem, randomInt, Replica, type CallReply, type MachinePort, type Message, type Random, type Ticket } from '@concord/core'
import { createMachine, type Json, type MachineDefinition, type MachineInstance } from '@concord/machine'
import { SafetyChecker, type Violation } from './checkers.ts'
import { SimDisk } from './disk.ts'
import { EventHeap } from './heap.ts'
import { checkLinearizable, type LinearizabilityResult, type Operation } from './linearizability.ts'
import { counter, counterModel, textDoc, textModel, warehouse, warehouseModel, type Model, type Output } from './models.ts'

/**
 * The deterministic simulator (DEVELOPERS.md non-negotiable 3): N replicas of
 * the real core over a seeded network (loss, duplication, reordering, delay,
 * partitions that heal) and seeded disks (a crash loses every write not yet
 * flushed; restart recovers from what was), with tabs that freeze (their
 * memory kept, their inbound held until they thaw) and clients calling
 * against a model. A run has a safety phase with faults, then a liveness
 * phase in which faults stop and the cluster must converge (TigerBeetle's
 * VOPR). Everything random comes from the seed: a failure replays exactly
 * from it.
 */
export type Workload = 'warehouse' | 'counter' | 'text'

export interface SimConfig {
  seed: number
  /** Print crashes, restarts, leaves, adoptions and reconfigurations as they happen (replaying a seed). */
  trace?: boolean
  replicas: number
  pipelineDepth: number
  workload: Workload
  clients: number
  /** Time units with faults on, then at most livenessTime to converge. */
  safetyTime: number
  livenessTime: number
  /** Time units per replica tick. */
  tickInterval: number
  /** Calls each client makes at most. */
  callsPerClient: number
  loss: number
  duplicate: number
  delayMin: number
  delayMax: number
  /** Probability that a message is delayed ten times longer (reordering). */
  delaySpike: number
  diskLatencyMin: number
  diskLatencyMax: number
  /** Mean time between fault events (crash, restart, partition, heal, slow disk). */
  chaosInterval: number
  crashes: boolean
  partitions: boolean
  /** Log clearing (seed 001): commands between snapshots, ticks of silence
   *  after which a member no longer holds clearing back, chunk size. */
  snapshotEvery: number
  clearSilentTicks: number
  snapshotChunkChars: number
  /** Instances between state digests (seed 000). */
  digestEvery: number
  /** Corrupt replicas' machine states now and then (a fault seed 000 must
   *  detect and repair). A corrupted leader answers from a wrong state, so
   *  such runs skip the linearizability check; convergence proves the repair. */
  corruptions: boolean
  /** Membership churn (seed 004): spare replicas join, members leave
   *  gracefully, silent (crashed) members are removed after
   *  memberSilentTicks and rejoin when they return. */
  membership: boolean
  spares: number
  memberSilentTicks: number
  /** Voters the membership grows to; later joiners are learners. */
  votersMax: number
  /** Spares that join as learners by choice (an archiving edge replica): never made voters. */
  learnerSpares: number
  /** Freeze replicas now and then (a background tab frozen by the browser's
   *  page lifecycle, a debugger pause): no ticks, inbound messages held and
   *  delivered on thaw, memory kept. Off (or absent, in a config saved before
   *  freezes existed) the chaos stream draws exactly as it did without them,
   *  so the regression seeds keep replaying the runs that found their bugs. */
  freezes: boolean
  /** The browser test's scenario on a schedule, on top of the chaos: the
   *  leader's tab is frozen again and again (for short, past an election,
   *  past memberSilentTicks), drawn from a stream of its own. Off by default. */
  leaderFreezes?: boolean
}

/**
 * A workload brought by the caller instead of a built-in one (`concord check`
 * runs an app's own machine): how to make a replica's machine, the sequential
 * model its histories must be linearizable against (null: not checked), the
 * invariant over each replica's state, and the calls clients make.
 */
export interface SimWorkload {
  createMachine(): SimMachine
  model: Model<unknown> | null
  invariant(state: Record<string, Json>): string | null
  /** The next call of `client`, whose replica's state is `view` (possibly stale).
   *  Draws from its own random stream: a script of the calls made replays the run. */
  generate(random: Random, view: Readonly<Record<string, Json>>, client: string): Call
}

/** A replica's machine as the simulator sees it (MachineInstance is one). */
export interface SimMachine extends MachinePort {
  snapshot(): Record<string, Json>
  digest(): string
}

export interface Call {
  name: string
  args: Json
}

/** The calls each client makes, slot by slot (null: the slot makes no call).
 *  Recorded from a run (`Simulation.callScript()`), it replays that run's calls;
 *  emptied slots shrink it while the other calls keep their turn. */
export type CallScript = Record<string, (Call | null)[]>

export interface SimOptions {
  workload?: SimWorkload
  script?: CallScript
  /** Called with the replica about to run (null after it): `concord check`
   *  gives each replica its own virtual clock and random source. */
  enter?: (replica: string | null, time: number) => void
}

/** A recorded call and what came of it (a client's view). */
export interface CallRecord extends Call {
  client: string
  slot: number
  call: number
  /** undefined: the caller never learned the outcome. */
  output: Output | undefined
  /** The function threw (an app bug): what it threw. */
  threw?: string
}

/**
 * The end of the issued prefix a disk holds durably (the snapshot it starts
 * from, then its log without a gap): what a restart applies (Replica.restore
 * stops at the first missing instance). Not the last entry written: a replica
 * writes issued commands as it learns them, and one that learns later
 * instances first (their Success came, the earlier ones come by catch-up)
 * holds them durably above a gap still being written (simulator seed 682: a
 * leaver closed on the strength of such a log; the last member crashed,
 * came back before the gap with the old membership and needed the leaver).
 */
function durableUpTo(disk: SimDisk): number {
  let upTo = disk.snapshot?.anchor.instance ?? 0
  while (disk.issued.has(upTo + 1)) upTo++
  return upTo
}

/** Of the crashed members restarted in a membership run, the share adopted (restarted only to leave). */
const adoptionRate = 0.3

/**
 * Freezes, in ticks. A short one (under a tick to a few) is a hiccup nobody
 * should notice; a medium one outlasts an election timeout, so the others
 * elect a leader without the frozen one (the interesting case when it led);
 * a long one outlasts memberSilentTicks, so that a membership run removes the
 * frozen member while it cannot know it. Chances: of the chaos events, the
 * share that freezes; of the freezes, the share aimed at a leader (it is the
 * case where a thawed replica believes in a ballot the room has left) and
 * the shares of short and medium ones (the rest are long).
 */
const freezeShortTicksMax = 5
/** Past an idle room's election timeouts too (the followers of a leader that said it was idle wait electionIdleFactor times longer). */
const freezeElectionTicksMax = (electionIdleFactor + 1) * electionTicksMax
const freezeTicksMax = 2000
const freezeRate = 0.1
const freezeLeaderRate = 0.6
const freezeShortRate = 0.4
const freezeMediumRate = 0.35
/** Of the thaws that owe a tick, the share where it comes amid the backlog
 *  rather than after it: a resumed worker's queued tasks from different
 *  sources (its timer, a channel's messages) are in no set order, and the
 *  test fixture resumes the workers before their page. */
const freezeTickAmidRate = 0.3
/** config.leaderFreezes: the first freeze comes in [first, first + gap), each
 *  next one up to gap after the thaw, none after safetyTime − leaderFreezeEndGap;
 *  lengths are short, medium or long with equal chances (time units). */
const leaderFreezeFirst = 200
const leaderFreezeGapMax = 600
const leaderFreezeEndGap = 200
const leaderFreezeShortMax = 50
const leaderFreezeMedium = [100, 700] as const
const leaderFreezeLong = [500, 2500] as const

function builtIn(name: Workload): SimWorkload {
  const { machine, model, invariant } = workloads[name]
  return {
    createMachine: () => createMachine(machine),
    model,
    invariant,
    generate: () => {
      throw new Error('built-in workloads generate their calls from the simulation stream')
    },
  }
}

const workloads: Record<Workload, { machine: MachineDefinition; model: Model<unknown>; invariant: (s: Record<string, Json>) => string | null }> = {
  warehouse: {
    machine: warehouse,
    model: warehouseModel as Model<unknown>,
    invariant: (s) => {
      for (const [k, v] of Object.entries(s)) if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return `stock ${k} = ${v}`
      return null
    },
  },
  counter: {
    machine: counter,
    model: counterModel as Model<unknown>,
    invariant: (s) => (s.n === undefined || (typeof s.n === 'number' && s.n >= 0) ? null : `n = ${s.n}`),
  },
  text: {
    machine: textDoc,
    model: textModel as Model<unknown>,
    invariant: (s) => (s.doc === undefined || typeof s.doc === 'string' ? null : 'doc is not text'),
  },
}

/** Every run's parameters follow from its seed, so `--seed N` replays it. */
export function configForSeed(seed: number, overrides: Partial<SimConfig> = {}): SimConfig {
  const r = createRandom(seed ^ 0x5eed)
  const pick = <T>(items: readonly T[]): T => items[randomInt(r, 0, items.length)]!
  // Even sizes exercise the crown-prince tie rule (quorum.ts).
  const replicas = pick([3, 3, 4, 5, 6, 7])
  return {
    seed,
    replicas,
    pipelineDepth: pick([1, 2, 4, 8, 32]),
    workload: pick(['warehouse', 'warehouse', 'counter', 'text'] as const),
    clients: randomInt(r, 2, 6),
    safetyTime: 4000,
    livenessTime: 8000,
    tickInterval: 10,
    callsPerClient: 25,
    loss: pick([0, 0.02, 0.05, 0.1, 0.2]),
    duplicate: pick([0, 0.01, 0.05]),
    delayMin: 1,
    delayMax: pick([3, 8, 20]),
    delaySpike: pick([0, 0.02, 0.1]),
    diskLatencyMin: 1,
    diskLatencyMax: pick([2, 5, 15]),
    chaosInterval: pick([150, 300, 600]),
    crashes: true,
    partitions: true,
    snapshotEvery: pick([3, 8, 32, 4096]),
    clearSilentTicks: pick([20, 60, 500]),
    snapshotChunkChars: pick([16, 200, 1 << 18]),
    digestEvery: pick([1, 4, 16, 64]),
    corruptions: false,
    membership: false,
    spares: 3,
    memberSilentTicks: pick([40, 100, 300]),
    votersMax: pick([3, 5, 64]),
    learnerSpares: pick([0, 0, 1]),
    freezes: true,
    ...overrides,
  }
}

type Event =
  | { time: number; order: number; kind: 'deliver'; to: string; wire: string }
  | { time: number; order: number; kind: 'self'; to: string; message: Message; incarnation: number }
  | { time: number; order: number; kind: 'tick'; node: string }
  | { time: number; order: number; kind: 'flush'; node: string; incarnation: number }
  | { time: number; order: number; kind: 'client'; client: number }
  | { time: number; order: number; kind: 'chaos' }
  | { time: number; order: number; kind: 'restart'; node: string }
  | { time: number; order: number; kind: 'heal' }
  | { time: number; order: number; kind: 'thaw'; node: string; incarnation: number }
  | { time: number; order: number; kind: 'freeze-leader' }

interface Node {
  id: string
  replica: Replica | null
  machine: SimMachine
  disk: SimDisk
  incarnation: number
  flushing: boolean
  slowDiskUntil: number
  /** A spare waiting to join (never started). */
  spare: boolean
  leaving: boolean
  /** The replica whose tab runs this one from its disk, only to leave
   *  (adopt.ts); null if its own tab runs it. The adopted replica closes with
   *  the adopting tab. */
  adopter: string | null
  /** Left the room for good: a replica id is never reused (a new tab is a new replica). */
  gone: boolean
  /** Frozen (config.freezes): the replica is kept in memory but runs nothing
   *  until it thaws; null when it runs. */
  frozen: Frozen | null
}

/** What a frozen replica's host holds for it until it thaws. */
interface Frozen {
  since: number
  /** Inputs that arrived while frozen, in order of arrival (messages the data
   *  channel buffered, storage completions, calls): stepped on thaw. */
  backlog: Parameters<Replica['step']>[0][]
  /** A tick came due while frozen: a host's timer that missed many periods
   *  fires once on resume, so the core sees one tick, not the ones missed. */
  tickMissed: boolean
  /** The room (the furthest other running member) counted it a member when
   *  it froze: to count those removed meanwhile. */
  member: boolean
}

interface Pending {
  ticket: Ticket
  name: string
  args: Json
  op: number
  target: string
  targetIncarnation: number
}

interface Client {
  id: string
  home: string
  seq: number
  /** Call slots used (a scripted client's empty slots count too). */
  calls: number
  pending: Pending | null
  probe: boolean
}

export interface SimStats {
  time: number
  commands: number
  calls: number
  completed: number
  messagesSent: number
  messagesLost: number
  crashes: number
  partitions: number
  elections: number
  /** Snapshots written, snapshots installed (restarts and laggards), log clearings. */
  snapshots: number
  installs: number
  /** Installs from a peer's snapshot (the rest are restarts from disk). */
  transfers: number
  clears: number
  /** States corrupted by the fault injector, and out-of-sync repairs (seed 000). */
  corruptions: number
  refreshes: number
  /** Membership churn (seed 004): spares started, graceful leaves, reconfigurations issued. */
  joins: number
  leaves: number
  /** Crashed members restarted from their disk only to leave (a tab adopting a dead tab's replica). */
  adoptions: number
  reconfigurations: number
  /** Commands applied by learners by choice (config.learnerSpares): they were fed. */
  learnerApplied: number
  /** Replicas frozen (config.freezes); of them, leaders, those frozen longer
   *  than memberSilentTicks, and members that the room removed while they
   *  were frozen (they learn it on thaw). */
  freezes: number
  leaderFreezes: number
  longFreezes: number
  removedWhileFrozen: number
  linearizability: LinearizabilityResult['ok'] | 'skipped'
}

export interface SimResult {
  config: SimConfig
  ok: boolean
  violations: Violation[]
  stats: SimStats
}

export class Simulation {
  readonly config: SimConfig
  readonly checker: SafetyChecker
  private readonly random: Random
  /** Adoption choices draw from their own stream: the rest of a seed's run is as before. */
  private readonly adoptRandom: Random
  /** config.leaderFreezes draws from its own stream: without it a seed runs as before. */
  private readonly leaderFreezeRandom: Random
  private readonly events = new EventHeap<Event>()
  private readonly nodes = new Map<string, Node>()
  private readonly ids: string[]
  /** The members before instance 1 (the others are spares). */
  private readonly genesis: string[]
  /** Spares that join as learners by choice (config.learnerSpares). */
  private readonly learners: Set<string>
  private readonly clients: Client[] = []
  private readonly history: Operation[] = []
  /** The ticket of each operation in `history`. */
  private readonly historyTickets: Ticket[] = []
  private readonly workload: SimWorkload
  /** A caller's workload draws from its own stream, so that a script of its calls replays the run. */
  private readonly custom: boolean
  private readonly callRandom: Random
  private readonly script: CallScript | null
  private readonly enter: ((replica: string | null, time: number) => void) | null
  /** Each history operation's client slot. */
  private readonly historySlots: number[] = []
  /** History operations whose function threw, and what. */
  private readonly threw = new Map<number, string>()
  private now = 0
  private order = 0
  private faultsOn = true
  private partition: Set<string> | null = null
  private aborted = false
  private readonly stats: SimStats = {
    time: 0, commands: 0, calls: 0, completed: 0, messagesSent: 0, messagesLost: 0, crashes: 0, partitions: 0, elections: 0, snapshots: 0, installs: 0, transfers: 0, clears: 0, corruptions: 0, refreshes: 0, joins: 0, leaves: 0, adoptions: 0, reconfigurations: 0, learnerApplied: 0, freezes: 0, leaderFreezes: 0, longFreezes: 0, removedWhileFrozen: 0, linearizability: 'skipped',
  }

  constructor(config: SimConfig, options: SimOptions = {}) {
    // A config read back from JSON loses Infinity to null: refuse it, or the run would spin on NaN times.
    for (const [key, value] of Object.entries(config)) {
      if (value === null || (typeof value === 'number' && Number.isNaN(value))) throw new TypeError(`SimConfig.${key} is ${value}`)
    }
    this.config = config
    this.random = createRandom(config.seed)
    this.adoptRandom = createRandom(config.seed ^ 0x5eed_ad07)
    this.leaderFreezeRandom = createRandom(config.seed ^ 0xf00d)
    this.callRandom = createRandom(config.seed ^ 0xca11_5eed)
    this.custom = options.workload !== undefined
    this.workload = options.workload ?? builtIn(config.workload)
    this.script = options.script ?? null
    this.enter = options.enter ?? null
    if (this.custom && config.corruptions) throw new Error('state corruption runs only with the built-in workloads')
    if (this.script !== null) {
      // Slots past a client's script stay empty: the clients keep their turns as in the run recorded.
      const longest = Math.max(0, ...Object.values(this.script).map((slots) => slots.length))
      config = this.config = { ...config, clients: Object.keys(this.script).length, callsPerClient: Math.max(config.callsPerClient, longest) }
    }
    this.checker = new SafetyChecker(this.workload.invariant)
    const spares = config.membership ? config.spares : 0
    this.ids = Array.from({ length: config.replicas + spares }, (_, i) => `r${i}`)
    this.genesis = this.ids.slice(0, config.replicas)
    // The last spares join as learners by choice.
    this.learners = new Set(spares > 0 ? this.ids.slice(this.ids.length - Math.min(spares, config.learnerSpares ?? 0)) : [])
    for (const id of this.ids) {
      const spare = !this.genesis.includes(id)
      const node: Node = { id, replica: null, machine: this.workload.createMachine(), disk: new SimDisk(), incarnation: 0, flushing: false, slowDiskUntil: 0, spare, leaving: false, adopter: null, gone: false, frozen: null }
      this.nodes.set(id, node)
      if (!spare) this.start(node)
      this.schedule({ kind: 'tick', node: id }, randomInt(this.random, 1, config.tickInterval + 1))
    }
    const clientIds = this.script !== null ? Object.keys(this.script) : Array.from({ length: config.clients }, (_, i) => `c${i}`)
    for (const [i, id] of clientIds.entries()) {
      this.clients.push({ id, home: this.ids[i % this.ids.length]!, seq: 0, calls: 0, pending: null, probe: false })
      this.schedule({ kind: 'client', client: i }, randomInt(this.random, 1, 50))
    }
    if (config.chaosInterval !== Infinity) this.schedule({ kind: 'chaos' }, this.chaosDelay())
    if (config.leaderFreezes === true) this.schedule({ kind: 'freeze-leader' }, randomInt(this.leaderFreezeRandom, leaderFreezeFirst, leaderFreezeFirst + leaderFreezeGapMax))
  }

  run(): SimResult {
    const { safetyTime, livenessTime } = this.config
    this.runUntil(safetyTime)
    if (!this.aborted) {
      this.stopFaults()
      const deadline = safetyTime + livenessTime
      while (!this.aborted && this.now < deadline && !this.converged()) this.runUntil(this.now + 50)
      if (!this.aborted && !this.converged()) this.checker.fail('liveness', this.livenessReport(), this.now)
    }
    if (!this.aborted) this.finalChecks()
    if (this.config.trace === true) {
      for (const [id, node] of this.nodes) if (node.replica !== null) this.trace(`${id} at the end: ${JSON.stringify({ ...node.replica.status(), log: undefined })}`)
    }
    this.stats.time = this.now
    this.stats.commands = this.checker.logLength
    return { config: this.config, ok: this.checker.ok, violations: this.checker.violations, stats: this.stats }
  }

  // ------------------------------------------------------------ live use (npm start)

  /** Run the event loop up to `time` (for a host that paces it in real time). */
  advanceTo(time: number): void {
    this.runUntil(time)
  }

  get time(): number {
    return this.now
  }

  /** Each replica's role, ballot, progress and machine state. */
  view(): { id: string; up: boolean; role: string; ballot: string; leader: string | null; issuedUpTo: number; state: Record<string, Json> }[] {
    return this.ids.map((id) => {
      const node = this.nodes.get(id)!
      const status = node.replica?.status()
      return {
        id,
        up: status !== undefined,
        role: status?.role ?? 'down',
        ballot: status === undefined || status.nextBal.round === 0 ? '-' : `${status.nextBal.round}.${status.nextBal.replica}`,
        leader: status?.leader ?? null,
        issuedUpTo: status?.issuedUpTo ?? 0,
        state: node.machine.snapshot(),
      }
    })
  }

  /** Freeze the current leader's tab for `duration` time units (it thaws then, or when the faults stop); returns the tab. */
  freezeLeader(duration: number): string | null {
    const leader = this.ids.find((id) => this.nodes.get(id)!.replica?.status().role === 'leader' && this.nodes.get(id)!.frozen === null)
    if (leader === undefined) return null
    // An adopted replica runs in its adopter's tab: that tab freezes.
    const tab = this.nodes.get(leader)!.adopter ?? leader
    this.freeze(tab, duration)
    return tab
  }

  /** Crash the current leader (it restarts from its disk after a while). */
  crashLeader(): string | null {
    const leader = this.ids.find((id) => this.nodes.get(id)!.replica?.status().role === 'leader')
    if (leader !== undefined) this.crash(leader)
    return leader ?? null
  }

  // ------------------------------------------------------------ event loop

  private runUntil(time: number): void {
    for (;;) {
      const next = this.events.peekTime()
      if (next === undefined || next > time || this.aborted) break
      const event = this.events.pop()!
      this.now = event.time
      this.handle(event)
    }
    this.now = Math.max(this.now, time)
  }

  private schedule(event: DistributiveOmit<Event, 'time' | 'order'>, delay: number): void {
    this.events.push({ ...event, time: this.now + delay, order: this.order++ } as Event)
  }

  private handle(event: Event): void {
    switch (event.kind) {
      case 'deliver': {
        if (this.cut(JSON.parse(event.wire).from, event.to)) {
          this.stats.messagesLost++
          return
        }
        this.stepNode(event.to, { type: 'message', message: decodeMessage(event.wire) })
        return
      }
      case 'self': {
        const node = this.nodes.get(event.to)!
        if (node.incarnation === event.incarnation) this.stepNode(event.to, { type: 'loopback', message: event.message })
        return
      }
      case 'tick':
        this.stepNode(event.node, { type: 'tick' })
        this.schedule({ kind: 'tick', node: event.node }, this.config.tickInterval)
        return
      case 'flush':
        return this.onFlush(event.node, event.incarnation)
      case 'client':
        return this.onClient(event.client)
      case 'chaos':
        return this.onChaos()
      case 'restart':
        return this.restart(event.node)
      case 'heal':
        this.partition = null
        return
      case 'freeze-leader':
        return this.onFreezeLeader()
      case 'thaw': {
        const node = this.nodes.get(event.node)!
        if (node.incarnation === event.incarnation) this.thaw(node)
        return
      }
    }
  }

  private stepNode(id: string, input: Parameters<Replica['step']>[0]): void {
    const node = this.nodes.get(id)!
    const replica = node.replica
    if (replica === null) return
    if (node.frozen !== null) {
      // Nothing runs in a frozen tab: what arrives waits for the thaw.
      if (input.type === 'tick') node.frozen.tickMissed = true
      else node.frozen.backlog.push(input)
      return
    }
    try {
      this.enter?.(id, this.now)
      const result = replica.step(input)
      // Replicas that disagree on the membership (one is behind) refuse each
      // other's ballots and votes: seed 004's fencing, not a validation bug.
      if (!result.ok && result.reason !== 'unknown-sender') this.checker.fail('validation', `${id} dropped an honest ${input.type}: ${result.reason}`, this.now)
      this.pump(node)
    } catch (error) {
      this.aborted = true
      const detail = error instanceof AssertionError ? error.message : String(error instanceof Error ? error.stack : error)
      this.checker.fail('assertion', `${id}: ${detail}`, this.now)
    } finally {
      this.enter?.(null, this.now)
    }
  }

  /** The host loop: persist, send, deliver outputs to the checkers and clients. */
  private pump(node: Node): void {
    const replica = node.replica!
    const ready = replica.ready()
    for (const record of ready.persist) {
      if (record.kind === 'snapshot') this.stats.snapshots++
      else if (record.kind === 'clear') this.stats.clears++
    }
    if (ready.persist.length > 0) {
      node.disk.write(ready.persist, ready.persistSeq)
      this.scheduleFlush(node)
    }
    for (const message of ready.send) this.send(node, message)
    if (ready.installed !== null) {
      this.stats.installs++
      if (replica.status().counters['snapshots.received'] !== undefined) this.stats.transfers++
      const anchor = replica.issuedAt(ready.installed.instance)!
      this.checker.onInstalled(node.id, anchor, ready.installed.state as Record<string, Json>, this.now)
    }
    for (const entry of ready.issued) {
      this.checker.onIssued(node.id, entry, () => node.machine.snapshot(), this.now)
      if (this.learners.has(node.id)) this.stats.learnerApplied++
      if (entry.command.members !== undefined && this.config.trace === true) this.trace(`${node.id} applies members ${entry.command.members.join()} at ${entry.instance}`)
      const learner = entry.command.members?.find((id) => this.learners.has(id))
      if (learner !== undefined) this.checker.fail('learner', `${learner} joined as a learner but is a member from ${entry.instance + 1} (${entry.command.members!.join()})`, this.now)
    }
    for (const reply of ready.replies) this.onReply(node.id, reply)
    if (this.config.membership) this.maybeStopLeft(node)
    for (const event of ready.events) {
      if (event.kind === 'refreshing' || event.kind === 'leader-out-of-sync') this.stats.refreshes++
      // Without corruption every replica applies the same commands to the same state.
      if (!this.config.corruptions) this.checker.fail('convergence', `${node.id} out of sync at ${event.instance}: ${JSON.stringify(event.digests)}`, this.now)
    }
  }

  // ------------------------------------------------------------ disk

  private scheduleFlush(node: Node): void {
    if (node.flushing || node.disk.pendingBatches === 0) return
    node.flushing = true
    let latency = randomInt(this.random, this.config.diskLatencyMin, this.config.diskLatencyMax + 1)
    if (this.now < node.slowDiskUntil) latency *= 10
    this.schedule({ kind: 'flush', node: node.id, incarnation: node.incarnation }, latency)
  }

  /** A frozen replica's writes still complete (the browser's storage runs
   *  outside the frozen tab); stepNode holds the completion until the thaw. */
  private onFlush(id: string, incarnation: number): void {
    const node = this.nodes.get(id)!
    if (node.incarnation !== incarnation || node.replica === null) return
    node.flushing = false
    const seq = node.disk.flushOne()
    if (seq !== null) this.stepNode(id, { type: 'persisted', seq })
    if (node.replica !== null) this.scheduleFlush(node)
  }

  // ------------------------------------------------------------ network

  private send(node: Node, message: Message): void {
    if (message.to === node.id) {
      this.schedule({ kind: 'self', to: node.id, message, incarnation: node.incarnation }, 0)
      return
    }
    this.stats.messagesSent++
    const wire = encodeMessage(message)
    if (this.cut(message.from, message.to) || (this.faultsOn && this.random.next() < this.config.loss)) {
      this.stats.messagesLost++
      return
    }
    this.schedule({ kind: 'deliver', to: message.to, wire }, this.delay())
    if (this.faultsOn && this.random.next() < this.config.duplicate) this.schedule({ kind: 'deliver', to: message.to, wire }, this.delay())
  }

  private delay(): number {
    const { delayMin, delayMax, delaySpike } = this.config
    const base = randomInt(this.random, delayMin, delayMax + 1)
    return this.faultsOn && this.random.next() < delaySpike ? base * 10 : base
  }

  private cut(from: string, to: string): boolean {
    return this.partition !== null && this.partition.has(from) !== this.partition.has(to)
  }

  // ------------------------------------------------------------ faults

  private chaosDelay(): number {
    return randomInt(this.random, this.config.chaosInterval / 2, (this.config.chaosInterval * 3) / 2)
  }

  private onChaos(): void {
    if (!this.faultsOn || this.config.chaosInterval === Infinity) return
    const roll = this.random.next()
    const alive = this.ids.filter((id) => this.nodes.get(id)!.replica !== null)
    // Faults aimed at the leader find the most bugs (leader changes are where
    // Paxos variants go wrong), as in TigerBeetle's VOPR.
    const leaders = alive.filter((id) => this.nodes.get(id)!.replica!.status().role === 'leader')
    if (roll < 0.2 && this.config.crashes && leaders.length > 0) {
      this.crash(leaders[randomInt(this.random, 0, leaders.length)]!)
    } else if (roll < 0.35 && this.config.crashes && alive.length > 0) {
      this.crash(alive[randomInt(this.random, 0, alive.length)]!)
    } else if (roll < 0.45 && this.config.partitions && this.partition === null && leaders.length > 0) {
      this.partition = new Set([leaders[0]!])
      this.stats.partitions++
      this.schedule({ kind: 'heal' }, randomInt(this.random, 100, 1500))
    } else if (roll < 0.6 && this.config.partitions && this.partition === null) {
      const side = new Set(this.ids.filter(() => this.random.next() < 0.5))
      if (side.size > 0 && side.size < this.ids.length) {
        this.partition = side
        this.stats.partitions++
        this.schedule({ kind: 'heal' }, randomInt(this.random, 100, 1500))
      }
    } else if (roll < 0.7) {
      const node = this.nodes.get(this.ids[randomInt(this.random, 0, this.ids.length)]!)!
      node.slowDiskUntil = this.now + randomInt(this.random, 100, 800)
    } else if (roll < 0.78 && this.config.corruptions && this.healthy()) {
      this.corrupt(alive[randomInt(this.random, 0, alive.length)]!)
    } else if (roll < 0.8 && this.config.membership) {
      this.churn(alive)
    } else if (roll < 0.85 && alive.length > 0) {
      // A failure detector's mistake ([0054]): a replica that wrongly thinks
      // the leader is gone starts a ballot at once — dueling leaders.
      this.stepNode(alive[randomInt(this.random, 0, alive.length)]!, { type: 'campaign' })
    } else if (roll < 0.85 + freezeRate && this.config.freezes === true) {
      // In the share of rolls that did nothing before, so that the other
      // faults keep their rates. An adopted replica runs in its adopter's
      // tab: it freezes with that tab, never alone.
      const tabs = alive.filter((id) => this.nodes.get(id)!.frozen === null && this.nodes.get(id)!.adopter === null)
      const leading = tabs.filter((id) => leaders.includes(id))
      const pool = leading.length > 0 && this.random.next() < freezeLeaderRate ? leading : tabs
      if (pool.length > 0) this.freeze(pool[randomInt(this.random, 0, pool.length)]!)
    }
    this.schedule({ kind: 'chaos' }, this.chaosDelay())
  }

  /**
   * Freeze a tab (config.freezes) with the replicas it adopted: for short,
   * past an election timeout, or past memberSilentTicks. The thaw comes on
   * its own or when the faults stop (stopFaults), before the liveness phase.
   */
  private freeze(id: string, duration = this.freezeDuration()): void {
    const { tickInterval, memberSilentTicks } = this.config
    const status = this.nodes.get(id)!.replica!.status()
    this.stats.freezes++
    if (status.role === 'leader') this.stats.leaderFreezes++
    if (duration > memberSilentTicks * tickInterval) this.stats.longFreezes++
    this.trace(`freeze ${id} (${status.role}, ballot ${status.nextBal.round}.${status.nextBal.replica}, issued ${status.issuedUpTo}) for ${duration} (${(duration / tickInterval).toFixed(1)} ticks)`)
    for (const node of this.nodes.values()) {
      if ((node.id !== id && node.adopter !== id) || node.replica === null) continue
      node.frozen = { since: this.now, backlog: [], tickMissed: false, member: this.adopterView(node.id)?.members.includes(node.id) ?? false }
      this.schedule({ kind: 'thaw', node: node.id, incarnation: node.incarnation }, duration)
    }
  }

  /** A freeze's length in time units: short, past an election timeout, or past memberSilentTicks. */
  private freezeDuration(): number {
    const roll = this.random.next()
    const { tickInterval, memberSilentTicks } = this.config
    const ticks = roll < freezeShortRate
      ? randomInt(this.random, 1, freezeShortTicksMax * tickInterval + 1) / tickInterval
      : roll < freezeShortRate + freezeMediumRate
        ? randomInt(this.random, electionTicksMin, freezeElectionTicksMax + 1)
        // A member's silence counts from the latest election (or from when it
        // was last heard): the room needs an election timeout more to remove it.
        : Math.min(freezeTicksMax, randomInt(this.random, memberSilentTicks + electionTicksMax, 2 * memberSilentTicks + freezeElectionTicksMax + 1))
    return Math.max(1, Math.round(ticks * tickInterval))
  }

  /** The tab resumes: its backlog in order of arrival, then (mostly) the one tick its timer owes. */
  private thaw(node: Node): void {
    const frozen = node.frozen
    if (frozen === null || node.replica === null) return
    node.frozen = null
    const room = this.adopterView(node.id)
    if (frozen.member && room !== null && !room.members.includes(node.id)) this.stats.removedWhileFrozen++
    const inputs = frozen.backlog
    const held = inputs.length
    if (frozen.tickMissed) {
      const at = this.random.next() < freezeTickAmidRate ? randomInt(this.random, 0, inputs.length + 1) : inputs.length
      inputs.splice(at, 0, { type: 'tick' })
    }
    this.trace(`thaw ${node.id} after ${this.now - frozen.since}: ${held} inputs held${frozen.tickMissed ? `, the tick owed at ${inputs.findIndex((i) => i.type === 'tick')}` : ''}${room !== null && !room.members.includes(node.id) ? ` (removed meanwhile: members ${room.members.join()})` : ''}`)
    for (const input of inputs) {
      if (this.aborted) return
      this.stepNode(node.id, input)
    }
  }

  /** config.leaderFreezes: freeze the leader (if there is one), and plan the next freeze after the thaw. */
  private onFreezeLeader(): void {
    if (!this.faultsOn) return
    const r = this.leaderFreezeRandom
    const lengths = [randomInt(r, 1, leaderFreezeShortMax), randomInt(r, ...leaderFreezeMedium), randomInt(r, ...leaderFreezeLong)]
    const duration = lengths[randomInt(r, 0, lengths.length)]!
    this.freezeLeader(duration)
    const next = duration + randomInt(r, 0, leaderFreezeGapMax)
    if (this.now + next < this.config.safetyTime - leaderFreezeEndGap) this.schedule({ kind: 'freeze-leader' }, next)
  }

  /** Seed 004: a spare starts and asks to join, or a member leaves gracefully. */
  private churn(alive: string[]): void {
    const spares = this.ids.filter((id) => this.nodes.get(id)!.spare)
    if (spares.length > 0 && this.random.next() < 0.5) {
      const node = this.nodes.get(spares[randomInt(this.random, 0, spares.length)]!)!
      node.spare = false
      this.stats.joins++
      this.trace(`join ${node.id}`)
      this.start(node)
      return
    }
    const members = alive.filter((id) => !this.nodes.get(id)!.leaving && this.nodes.get(id)!.replica!.status().members.includes(id))
    if (members.length <= 1) return
    const id = members[randomInt(this.random, 0, members.length)]!
    this.nodes.get(id)!.leaving = true
    this.trace(`leave ${id}`)
    this.stats.leaves++
    this.stepNode(id, { type: 'leave' })
  }

  /**
   * A replica that left closes (a tab that was closed) once it is no longer a
   * member and a quorum of the new members has applied its removal: a
   * graceful leave lingers that long, or the others could be left waiting
   * for it (they would need it to learn that it left).
   */
  private maybeStopLeft(node: Node): void {
    if (!node.leaving || node.replica === null) return
    const status = node.adopter !== null ? this.adopterView(node.id) : node.replica.status()
    if (status === null) return
    if (status.members.includes(node.id)) return
    // Applied and durable: a member that applied the removal but crashed
    // before writing it would come back with the old membership, needing the
    // leaver (simulator seed 7993 with adoptions). A member that has itself
    // left for good counts: it applied this removal before its own (the log
    // applies in order), and it held its own durably on a quorum of its
    // successors before it closed, so nobody comes back needing the leaver.
    // Not counted, a leaver whose successors had left never closed: removed,
    // it is fed nothing more and stayed behind the room (simulator seeds
    // 10144 and 12382 with membership, first 6811 and 11673: the other member of a room of two,
    // adopted, left at once after the leaver's removal).
    const applied = status.members.filter((id) => {
      const member = this.nodes.get(id)!
      return member.gone || ((member.replica?.status().issuedUpTo ?? -1) >= status.issuedUpTo && durableUpTo(member.disk) >= status.issuedUpTo)
    })
    if (!new QuorumSystem(status.members).isQuorum(applied)) return
    this.trace(`gone ${node.id} (members ${status.members.join()})`)
    node.replica = null
    node.gone = true
    node.incarnation++
    node.flushing = false
    this.closeAdopted(node.id)
  }

  /**
   * A tab that closes or dies takes the replicas it adopted with it, without
   * a goodbye (adopt.ts: close() drops them). Before, adopted replicas
   * outlived every tab that could run them (simulator seed 2293 with
   * membership: a leaver removed by a room of adopted replicas never closed).
   */
  private closeAdopted(adopter: string): void {
    for (const node of this.nodes.values()) if (node.adopter === adopter && node.replica !== null) this.crash(node.id)
  }

  /**
   * Seed 000 assumes at most one inconsistent node (claim 8): a state is
   * corrupted only while every replica is up, level and in the same state.
   */
  private healthy(): boolean {
    const nodes = [...this.nodes.values()].filter((n) => !n.spare && !n.gone)
    if (nodes.some((n) => n.replica === null)) return false
    const levels = new Set(nodes.map((n) => n.replica!.status().issuedUpTo))
    return levels.size === 1 && new Set(nodes.map((n) => n.machine.digest())).size === 1
  }

  /** A bit flip in a replica's memory: one value of MS changes (LS is lost too). */
  private corrupt(id: string): void {
    const node = this.nodes.get(id)!
    const state = node.machine.snapshot()
    switch (this.config.workload) {
      case 'warehouse':
        state.A = ((state.A as number | undefined) ?? 0) + 7
        break
      case 'counter':
        state.n = ((state.n as number | undefined) ?? 0) + 3
        break
      case 'text':
        state.doc = `${(state.doc as string | undefined) ?? ''}Z`
        break
    }
    ;(node.machine as MachineInstance).load(state)
    this.stats.corruptions++
  }

  private crash(id: string): void {
    const node = this.nodes.get(id)!
    if (node.replica === null) return
    this.trace(`crash ${id}${node.frozen !== null ? ` (frozen since t=${node.frozen.since}, ${node.frozen.backlog.length} inputs held are lost)` : ''}`)
    node.replica = null
    // A frozen tab can be discarded (Chrome does): what it held is lost with it.
    node.frozen = null
    node.disk.crash()
    node.incarnation++
    node.flushing = false
    this.stats.crashes++
    this.schedule({ kind: 'restart', node: id }, randomInt(this.random, 50, 1500))
    this.closeAdopted(id)
  }

  private restart(id: string): void {
    const node = this.nodes.get(id)!
    if (node.replica !== null || node.spare || node.gone) return
    // A replica's wish to leave is not stored: restarted, it asks to join
    // again, so it is no longer one that closes once removed.
    node.leaving = false
    node.adopter = null
    node.machine = this.workload.createMachine()
    this.checker.noteRestart(id)
    this.trace(`restart ${id}`)
    this.start(node, true)
    // Adoption (packages/worker/src/adopt.ts): the replica of a dead tab is
    // run from its disk by another tab of the profile, only to leave; that
    // tab adopts only a member of the room as it sees it.
    const adopter = this.config.membership && this.adoptRandom.next() < adoptionRate ? this.adopterView(id) : null
    if (adopter !== null && adopter.members.includes(id)) {
      node.leaving = true
      node.adopter = adopter.id
      this.trace(`adopt ${id} (by ${adopter.id})`)
      this.stats.adoptions++
      this.stepNode(id, { type: 'leave' })
    }
  }

  private trace(line: string): void {
    if (this.config.trace === true) console.log(`t=${this.now} ${line}`)
  }

  /** The room as the adopting tab sees it: the furthest running member other than `id` (null if none). */
  private adopterView(id: string): ReturnType<Replica['status']> | null {
    let best: ReturnType<Replica['status']> | null = null
    for (const other of this.ids) {
      const replica = this.nodes.get(other)!.replica
      // A frozen tab runs nothing, so it adopts nothing (and its view is stale).
      if (other === id || replica === null || this.nodes.get(other)!.adopter !== null || this.nodes.get(other)!.frozen !== null) continue
      const status = replica.status()
      if (status.members.includes(other) && (best === null || status.issuedUpTo > best.issuedUpTo)) best = status
    }
    return best
  }

  private start(node: Node, fromDisk = false): void {
    this.enter?.(node.id, this.now)
    try {
      this.startReplica(node, fromDisk)
    } finally {
      this.enter?.(null, this.now)
    }
  }

  private startReplica(node: Node, fromDisk: boolean): void {
    node.replica = new Replica({
      id: node.id,
      members: this.genesis,
      machine: node.machine,
      random: createRandom((this.config.seed * 7919 + this.ids.indexOf(node.id) * 104729 + node.incarnation * 31) | 0),
      pipelineDepth: this.config.pipelineDepth,
      snapshotEvery: this.config.snapshotEvery,
      clearSilentTicks: this.config.clearSilentTicks,
      snapshotChunkChars: this.config.snapshotChunkChars,
      digestEvery: this.config.digestEvery,
      memberSilentTicks: this.config.memberSilentTicks,
      logGenesis: this.config.membership,
      votersMax: this.config.votersMax,
      ...(this.learners.has(node.id) ? { learner: true } : {}),
      ...(fromDisk ? { stable: node.disk.load() } : {}),
    })
    // Signaling presence: who may be in the room (whom a joiner can ask).
    node.replica.step({ type: 'peers', peers: this.ids.filter((id) => id !== node.id) })
    this.pump(node)
  }

  private stopFaults(): void {
    this.faultsOn = false
    if (this.config.corruptions) {
      for (const [i, client] of this.clients.entries()) {
        client.probe = true
        this.schedule({ kind: 'client', client: i }, randomInt(this.random, 1, 50))
      }
    }
    this.partition = null
    // A replica still frozen thaws now: the liveness phase then requires it
    // to catch up like the others (converged() counts every running replica).
    // Thawed first, so that a restart's adopter is chosen among running tabs.
    for (const node of this.nodes.values()) this.thaw(node)
    for (const node of this.nodes.values()) {
      node.slowDiskUntil = 0
      if (node.replica === null) this.restart(node.id)
    }
  }

  // ------------------------------------------------------------ clients

  private onClient(index: number): void {
    const client = this.clients[index]!
    const pending = client.pending
    if (pending === null && !this.faultsOn && client.probe) {
      // After the faults, one more call each: new commands make a checkpoint,
      // where a corruption that came last is found (seed 000 checks on updates).
      client.probe = false
      this.newCall(client, true)
    } else if (pending !== null) {
      // The replica the call went through crashed (or restarted and forgot
      // it): re-send under the same ticket through a live replica.
      const target = this.nodes.get(pending.target)!
      if (target.replica === null || target.incarnation !== pending.targetIncarnation) this.submit(client, pending, true)
    } else if (this.faultsOn && client.calls < this.config.callsPerClient) {
      this.newCall(client)
    }
    if (client.pending !== null || (this.faultsOn && client.calls < this.config.callsPerClient)) {
      this.schedule({ kind: 'client', client: index }, randomInt(this.random, 5, 60))
    }
  }

  private newCall(client: Client, probe = false): void {
    const slot = client.calls++
    const call = probe ? this.readCall() : this.nextCall(client, slot)
    if (call === null) return
    const { name, args } = call
    client.seq++
    const ticket: Ticket = { client: client.id, seq: client.seq, acked: client.seq }
    this.checker.noteCall(ticket)
    this.stats.calls++
    const op = this.history.push({ client: client.id, name, args, output: undefined, call: this.now, ret: Infinity }) - 1
    this.historyTickets.push(ticket)
    this.historySlots.push(probe ? -1 : slot)
    this.submit(client, { ticket, name, args, op, target: client.home, targetIncarnation: -1 }, false)
  }

  private submit(client: Client, pending: Pending, resubmit: boolean): void {
    const alive = this.ids.filter((id) => this.nodes.get(id)!.replica !== null)
    if (alive.length === 0) return
    const home = this.nodes.get(client.home)!
    const target = home.replica !== null && !resubmit ? client.home : alive[randomInt(this.random, 0, alive.length)]!
    const node = this.nodes.get(target)!
    client.pending = { ...pending, target, targetIncarnation: node.incarnation }
    client.home = target
    this.stepNode(target, { type: 'call', call: { ticket: pending.ticket, name: pending.name, args: pending.args, ...(resubmit ? { resubmit } : {}) } })
  }

  private onReply(node: string, reply: CallReply): void {
    const client = this.clients.find((c) => c.id === reply.ticket.client)
    const pending = client?.pending
    if (client === undefined || pending == null || pending.ticket.seq !== reply.ticket.seq || pending.target !== node) return
    client.pending = null
    this.stats.completed++
    const op = this.history[pending.op]!
    let output: Output | undefined
    if (reply.ok) output = { ok: true, result: reply.result as Json }
    else if (reply.code === 'rejected') output = { ok: false, reason: reply.reason }
    else if (reply.code === 'overloaded' || reply.code === 'too-many-outstanding') output = undefined
    else if (reply.code === 'function-threw') {
      this.threw.set(pending.op, reply.reason)
      this.checker.fail('function-threw', `${op.name}(${JSON.stringify(op.args)}) threw ${reply.reason} (a function refuses a call with \`throw reject(reason)\`)`, this.now)
    } else this.checker.fail('validation', `call ${op.name} refused: ${reply.code} ${reply.reason}`, this.now)
    if (output === undefined) return // indeterminate: ret stays Infinity
    op.output = output
    op.ret = this.now
    const told = (output.ok ? { ok: true, result: output.result } : { ok: false }) as Json
    this.checker.onAcknowledged(reply.ticket, reply.ok ? reply.instance : -1, told, this.now)
  }

  /** A client's next call: from the script, the caller's workload or a built-in one. */
  private nextCall(client: Client, slot: number): Call | null {
    if (this.script !== null) return this.script[client.id]?.[slot] ?? null
    if (!this.custom) return this.generateCall()
    const home = this.nodes.get(client.home)!
    return this.workload.generate(this.callRandom, home.machine.snapshot(), client.id)
  }

  /** The calls each client made, slot by slot: replays this run's calls. */
  callScript(): CallScript {
    const script: CallScript = {}
    for (const client of this.clients) script[client.id] = Array.from({ length: client.calls }, () => null)
    this.history.forEach((op, i) => {
      const slot = this.historySlots[i]!
      if (slot >= 0) script[op.client]![slot] = { name: op.name, args: op.args }
    })
    return script
  }

  /** Every call made, in the order made, with what its client was told. */
  calls(): CallRecord[] {
    return this.history.map((op, i) => ({ client: op.client, slot: this.historySlots[i]!, name: op.name, args: op.args, call: op.call, output: op.output, ...(this.threw.has(i) ? { threw: this.threw.get(i)! } : {}) }))
  }

  /** A call that never rejects, so that it becomes a command. */
  private readCall(): { name: string; args: Json } {
    switch (this.config.workload) {
      case 'warehouse': return { name: 'stock', args: { x: 'A' } }
      case 'counter':
      case 'text': return { name: 'read', args: {} }
    }
  }

  private generateCall(): { name: string; args: Json } {
    const r = this.random
    const roll = r.next()
    const x = (['A', 'B', 'C'] as const)[randomInt(r, 0, 3)]!
    switch (this.config.workload) {
      case 'warehouse': {
        const v = randomInt(r, 1, 101)
        if (roll < 0.35) return { name: 'inbound', args: { x, v } }
        if (roll < 0.5) return { name: 'outbound', args: { x, v } }
        if (roll < 0.8) return { name: 'transfer', args: { x, y: (['A', 'B', 'C'] as const)[randomInt(r, 0, 3)]!, v } }
        return { name: 'stock', args: { x } }
      }
      case 'counter':
        return roll < 0.7 ? { name: 'add', args: { by: randomInt(r, 1, 6) } } : { name: 'read', args: {} }
      case 'text': {
        if (roll < 0.25) return { name: 'read', args: {} }
        const letters = 'abcdefghij'
        let insert = ''
        for (let i = randomInt(r, 0, 4); i > 0; i--) insert += letters[randomInt(r, 0, letters.length)]
        return { name: 'splice', args: { index: randomInt(r, 0, 30), remove: randomInt(r, 0, 3), insert } }
      }
    }
  }

  // ------------------------------------------------------------ end of run

  private converged(): boolean {
    if (this.clients.some((c) => c.pending !== null || c.probe)) return false
    // stopFaults thawed every replica and no freeze comes after it.
    if ([...this.nodes.values()].some((n) => n.frozen !== null)) throw new Error('a replica is frozen in the liveness phase')
    const nodes = this.running()
    if (nodes.length < this.ids.filter((id) => !this.nodes.get(id)!.spare && !this.nodes.get(id)!.gone).length) return false
    const frontier = this.checker.logLength
    if (!nodes.every((n) => n.replica!.status().issuedUpTo === frontier)) return false
    if (this.config.membership && this.unpromoted(nodes).length > 0) return false
    // A corrupted state converges only once out-of-sync detection repaired it.
    return !this.config.corruptions || new Set(nodes.map((n) => n.machine.digest())).size === 1
  }

  /**
   * Replicas that want to vote (running, not leaving, not learners by
   * choice) left outside a membership that has room for them (seed 004: a
   * joiner that caught up is added): the room must grow back to votersMax.
   */
  private unpromoted(nodes: Node[]): string[] {
    const members = nodes[0]!.replica!.status().members
    if (members.length >= this.config.votersMax) return []
    return nodes.filter((n) => !n.leaving && n.adopter === null && !this.learners.has(n.id) && !members.includes(n.id)).map((n) => n.id)
  }

  private livenessReport(): string {
    const pending = this.clients.filter((c) => c.pending !== null).map((c) => `${c.id}→${c.pending!.target}`)
    const replicas = [...this.nodes.values()].map((n) => {
      const s = n.replica?.status()
      return s === undefined ? `${n.id}:down` : `${n.id}:${s.role}@${s.lastTried.round}/${s.nextBal.round}.${s.nextBal.replica} issued ${s.issuedUpTo} leader ${s.leader}`
    })
    const nodes = this.running()
    const unpromoted = this.config.membership && nodes.length > 0 ? this.unpromoted(nodes) : []
    const members = nodes.length > 0 ? ` members [${nodes[0]!.replica!.status().members.join(' ')}];${unpromoted.length > 0 ? ` not promoted [${unpromoted.join(' ')}];` : ''}` : ''
    return `no convergence after ${this.config.livenessTime} time units without faults; log ${this.checker.logLength};${members} pending calls [${pending.join(' ')}]; ${replicas.join('; ')}`
  }

  /**
   * The history with what the log knows about calls whose callers never heard
   * back: a call that no command answers had no effect and is left out; one
   * that the log answered must have had the log's output. Both only narrow
   * the search (Wing & Gong's explodes with many open calls), never excuse.
   */
  private completeHistory(): Operation[] {
    const out: Operation[] = []
    this.history.forEach((op, i) => {
      if (op.output !== undefined) return out.push(op)
      const outcome = this.checker.loggedOutcome(this.historyTickets[i]!)
      if (outcome === null) return
      out.push({ ...op, output: outcome.ok ? { ok: true, result: outcome.result } : { ok: false, reason: 'logged rejection' } })
    })
    return out
  }

  /** Replicas that run (spares and replicas that left do not). */
  private running(): Node[] {
    return [...this.nodes.values()].filter((n) => n.replica !== null)
  }

  private finalChecks(): void {
    const replicas = this.running().map((n) => ({ id: n.id, issuedUpTo: n.replica!.status().issuedUpTo, state: n.machine.snapshot() }))
    this.checker.checkConvergence(replicas, this.now)
    this.checker.checkDurability(this.now)
    for (const node of this.running()) {
      const counters = node.replica!.status().counters
      this.stats.elections += counters.elected ?? 0
    }
    this.stats.reconfigurations = this.checker.reconfigurations
    if (this.config.corruptions || this.workload.model === null) return
    const result = checkLinearizable(this.workload.model, this.completeHistory())
    this.stats.linearizability = result.ok
    if (result.ok === false) this.checker.fail('linearizability', result.reason, this.now)
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export function runSeed(seed: number, overrides: Partial<SimConfig> = {}, options: SimOptions = {}): SimResult {
  return new Simulation(configForSeed(seed, overrides), options).run()
}

/** The one-line command that replays a run. */
export function replayCommand(config: SimConfig): string {
  return `npm run sim -- --seed ${config.seed}`
}
