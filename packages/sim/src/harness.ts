import {
  createRandom,
  Replica,
  type CallReply,
  type IssuedEntry,
  type Message,
  type MessageType,
  type ReplicaEvent,
  type Ticket,
} from '@concord/core'
import { createMachine, type Functions, type Json, type MachineDefinition, type MachineInstance } from '@concord/machine'
import { SimDisk } from './disk.ts'

/**
 * A scripted cluster for step-by-step scenarios (etcd's interaction tests):
 * every message a replica sends waits in a pool until the script delivers,
 * edits or drops it. Storage flushes at once unless a node is told to hold
 * its writes. Messages to a crashed node are lost when delivered.
 */
export interface MessageFilter {
  type?: MessageType
  from?: string
  to?: string
  where?: (message: Message) => boolean
}

interface Node<F extends Functions> {
  id: string
  replica: Replica | null
  machine: MachineInstance<F>
  disk: SimDisk
  holdWrites: boolean
  issued: IssuedEntry[]
  replies: CallReply[]
  /** Snapshots installed (restarts and transfers from peers), by instance. */
  installed: number[]
  /** Out-of-sync events (seed 000). */
  events: ReplicaEvent[]
}

export class Harness<F extends Functions = Functions> {
  readonly pool: Message[] = []
  readonly nodes = new Map<string, Node<F>>()
  private readonly seqs = new Map<string, number>()

  constructor(
    readonly ids: readonly string[],
    private readonly definition: MachineDefinition<F>,
    private readonly options: {
      pipelineDepth?: number
      seed?: number
      snapshotEvery?: number
      clearSilentTicks?: number
      snapshotChunkChars?: number
      digestEvery?: number
      memberSilentTicks?: number
      logGenesis?: boolean
      votersMax?: number
      /** Nodes that join as learners by choice (ReplicaConfig.learner). */
      learners?: readonly string[]
      /** The members before instance 1 (default: every node). */
      genesis?: readonly string[]
      /** The nodes that start at once (default: every node); the rest wait for `start`. */
      running?: readonly string[]
      /** Voted to every member, the seed's pattern its worked examples assume (default true). */
      votedToAll?: boolean
    } = {},
  ) {
    for (const id of ids) {
      const node: Node<F> = {
        id,
        replica: null,
        machine: createMachine(definition),
        disk: new SimDisk(true),
        holdWrites: false,
        issued: [],
        replies: [],
        installed: [],
        events: [],
      }
      this.nodes.set(id, node)
      if (options.running === undefined || options.running.includes(id)) this.start(node)
    }
  }

  node(id: string): Node<F> {
    const node = this.nodes.get(id)
    if (node === undefined) throw new Error(`no node ${id}`)
    return node
  }

  replica(id: string): Replica {
    const replica = this.node(id).replica
    if (replica === null) throw new Error(`node ${id} is down`)
    return replica
  }

  state(id: string): Record<string, Json> {
    return this.node(id).machine.snapshot()
  }

  /** Ask a node to lead, at a given round. */
  campaign(id: string, round?: number): void {
    this.replica(id).step({ type: 'campaign', ...(round !== undefined ? { round } : {}) })
    this.pump(id)
  }

  call(id: string, name: string, args: Json, client = `client-${id}`): Ticket {
    const seq = (this.seqs.get(client) ?? 0) + 1
    this.seqs.set(client, seq)
    const ticket: Ticket = { client, seq, acked: 0 }
    this.replica(id).step({ type: 'call', call: { ticket, name, args } })
    this.pump(id)
    return ticket
  }

  tick(id: string, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.replica(id).step({ type: 'tick' })
      this.pump(id)
    }
  }

  /** Let the cluster run: each of `up` (default: every running node) ticks,
   *  then every message is delivered, `ticks` times. */
  settle(ticks: number, up: readonly string[] = this.ids.filter((id) => this.node(id).replica !== null)): void {
    for (let t = 0; t < ticks; t++) {
      for (const id of up) this.tick(id)
      this.deliverAll()
    }
  }

  /** `count` calls at `at`, each delivered before the next. */
  callEach(at: string, name: string, args: Json, count: number): void {
    for (let i = 0; i < count; i++) {
      this.call(at, name, args)
      this.deliverAll()
    }
  }

  /** Messages in the pool that match. */
  pending(filter: MessageFilter = {}): Message[] {
    return this.pool.filter((m) => matches(m, filter))
  }

  /** Deliver every pooled message that matches (in pool order); returns how many. */
  deliver(filter: MessageFilter = {}): number {
    const chosen = this.take(filter)
    for (const message of chosen) this.deliverOne(message)
    return chosen.length
  }

  /** Deliver until no matching message is left (replies included). */
  deliverAll(filter: MessageFilter = {}, rounds = 1000): void {
    for (let i = 0; i < rounds; i++) if (this.deliver(filter) === 0) return
    throw new Error('deliverAll did not settle')
  }

  drop(filter: MessageFilter = {}): number {
    return this.take(filter).length
  }

  /** Deliver an edited copy of one message (e.g. only some proposals of a BeginBallot). */
  deliverMessage(message: Message): void {
    this.deliverOne(message)
  }

  crash(id: string): void {
    const node = this.node(id)
    node.replica = null
    node.disk.crash()
  }

  restart(id: string): void {
    const node = this.node(id)
    if (node.replica !== null) throw new Error(`node ${id} is up`)
    node.machine = createMachine(this.definition)
    node.issued = []
    this.start(node, true)
  }

  /** Hold a node's storage writes (messages that need them wait too). */
  holdWrites(id: string, hold: boolean): void {
    this.node(id).holdWrites = hold
    if (!hold) this.pump(id)
  }

  /** Start a node that was not running (a replica that comes to the room). */
  startNode(id: string): void {
    const node = this.node(id)
    if (node.replica !== null) throw new Error(`node ${id} is up`)
    this.start(node)
  }

  private start(node: Node<F>, fromDisk = false): void {
    node.replica = new Replica({
      id: node.id,
      members: this.options.genesis ?? this.ids,
      ...(this.options.memberSilentTicks !== undefined ? { memberSilentTicks: this.options.memberSilentTicks } : {}),
      ...(this.options.logGenesis !== undefined ? { logGenesis: this.options.logGenesis } : {}),
      ...(this.options.votersMax !== undefined ? { votersMax: this.options.votersMax } : {}),
      ...(this.options.learners?.includes(node.id) === true ? { learner: true } : {}),
      machine: node.machine,
      random: createRandom((this.options.seed ?? 1) * 31 + this.ids.indexOf(node.id)),
      pipelineDepth: this.options.pipelineDepth ?? 32,
      // The worked examples follow the seed's message pattern ([0066]).
      votedToAll: this.options.votedToAll ?? true,
      ...(this.options.snapshotEvery !== undefined ? { snapshotEvery: this.options.snapshotEvery } : {}),
      ...(this.options.clearSilentTicks !== undefined ? { clearSilentTicks: this.options.clearSilentTicks } : {}),
      ...(this.options.snapshotChunkChars !== undefined ? { snapshotChunkChars: this.options.snapshotChunkChars } : {}),
      ...(this.options.digestEvery !== undefined ? { digestEvery: this.options.digestEvery } : {}),
      ...(fromDisk ? { stable: node.disk.load() } : {}),
    })
    this.pump(node.id)
  }

  private take(filter: MessageFilter): Message[] {
    const chosen: Message[] = []
    for (let i = 0; i < this.pool.length; ) {
      if (matches(this.pool[i]!, filter)) chosen.push(...this.pool.splice(i, 1))
      else i++
    }
    return chosen
  }

  private deliverOne(message: Message): void {
    const node = this.nodes.get(message.to)
    if (node?.replica == null) return
    // The wire: what arrives is a copy, never a shared object. A message to
    // itself never crosses a wire.
    const result = message.from === message.to
      ? node.replica.step({ type: 'loopback', message })
      : node.replica.step({ type: 'message', message: JSON.parse(JSON.stringify(message)) })
    // Replicas that disagree on the membership refuse each other's ballots and votes (fencing).
    if (!result.ok && result.reason !== 'unknown-sender') throw new Error(`${message.to} dropped ${message.type}: ${result.reason}`)
    this.pump(message.to)
  }

  /** Run a node's ready loop: persist (unless held), collect output. */
  pump(id: string): void {
    const node = this.node(id)
    for (let guard = 0; guard < 100; guard++) {
      const replica = node.replica
      if (replica === null) return
      const ready = replica.ready()
      node.disk.write(ready.persist, ready.persistSeq)
      this.pool.push(...ready.send)
      if (ready.installed !== null) node.installed.push(ready.installed.instance)
      node.issued.push(...ready.issued)
      node.events.push(...ready.events)
      node.replies.push(...ready.replies)
      if (node.holdWrites) return
      const flushed = node.disk.flushAll()
      if (flushed === null && ready.send.length === 0) return
      if (flushed !== null) replica.step({ type: 'persisted', seq: flushed })
      if (!replica.hasReady()) return
    }
    throw new Error(`ready loop of ${id} did not settle`)
  }
}

function matches(message: Message, filter: MessageFilter): boolean {
  if (filter.type !== undefined && message.type !== filter.type) return false
  if (filter.from !== undefined && message.from !== filter.from) return false
  if (filter.to !== undefined && message.to !== filter.to) return false
  if (filter.where !== undefined && !filter.where(message)) return false
  return true
}
