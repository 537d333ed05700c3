import { assert } from './assert.ts'
import { ballotEquals, ballotLess, ballotZero, compareBallots, maxBallot } from './ballot.ts'
import {
  ballotInfoIssuedMax,
  ballotInfoMissingRangesMax,
  callRetryTicks,
  callsPerMessageMax,
  clientIdLengthMax,
  functionNameLengthMax,
  catchUpEntriesMax,
  catchUpRetryTicks,
  checkpointsKept,
  clearSilentTicksDefault,
  digestEveryDefault,
  digestIdleTicks,
  electionIdleFactor,
  electionTicksMax,
  electionTicksMin,
  heartbeatIdleAfterTicks,
  heartbeatIdleAnnounceTicks,
  heartbeatTicks,
  heartbeatTicksBusyMax,
  heartbeatTicksIdle,
  instanceAheadMax,
  joinFreshTicks,
  joinLagMax,
  joinRetryTicks,
  leaderQueueMax,
  memberSilentTicksDefault,
  messageCharsBudget,
  callArgsCharsMax,
  votersMaxDefault,
  contactsMax,
  replicaIdLengthMax,
  membersMax,
  messageEntriesMax,
  pendingCallsMax,
  pipelineDepthDefault,
  rejectedDirectlyMax,
  pipelineDepthMax,
  retransmitTicks,
  snapshotCharsMax,
  snapshotChunkCharsDefault,
  snapshotChunkCharsMax,
  snapshotEveryDefault,
  snapshotCommandsMin,
  snapshotLogCharsMin,
  snapshotRetryTicks,
  snapshotWindowChunks,
} from './constants.ts'
import { initHistProc } from './history.ts'
import { IssuedLog } from './log.ts'
import { QuorumSystem } from './quorum.ts'
import type { MachinePort } from './machine-port.ts'
import { Outbox } from './outbox.ts'
import { randomInt, type Random } from './random.ts'
import { commandIdAt } from './wire.ts'
import { z } from 'zod'
import { Sessions, ticketKey, type CallOutcome } from './sessions.ts'
import {
  callSchema,
  messageSchema,
  nullCommandId,
  snapshotBodySchema,
  type Ballot,
  type Call,
  type CallReply,
  type Command,
  type CommandId,
  type Instance,
  type IssuedEntry,
  type Message,
  type MessageOf,
  type PersistRecord,
  type Proposal,
  type RejectCode,
  type ReplicaEvent,
  type ReplicaId,
  type Snapshot,
  type StableState,
  type Ticket,
  type Vote,
} from './types.ts'

/**
 * One replica of the two-tier state machine, as a pure state machine
 * (seed 002 "Executive Paxos", [0054]–[0071]; DESIGN.md §3–4).
 *
 *   replica.step(input)   a peer message, a tick, a local call, or
 *                         "storage persisted up to seq"
 *   replica.ready()       records to persist, messages that may be sent,
 *                         commands newly issued (and applied to MS) in
 *                         instance order, replies to local calls
 *
 * Persistence contract (seed 002 steps 1–6, [0064], [0068]): the host writes
 * `ready().persist` atomically and in order, then steps
 * `{ type: 'persisted', seq: ready().persistSeq }`. A message that depends on
 * a record (NextBallot on lastTried, BallotInfo on nextBal, Voted on prevVote)
 * is not returned by `ready()` before that. Success waits for nothing (its
 * command is durable on the majority that voted for it), and so issued
 * records may land after the records that follow them (splitIssued,
 * persist-order.ts).
 * Messages addressed to the replica itself ("to all devices including
 * itself", [0057] step 1) are in `send` too; the host delivers them back.
 *
 * One deliberate refinement of the seed's issue rule is documented at
 * `tryIssue` (the lock-ballot condition).
 */

export interface ReplicaConfig {
  id: ReplicaId
  /** The genesis membership (the members before instance 1). Membership then
   *  changes through the log (seed 004, ours); a replica outside it asks to join. */
  members: readonly ReplicaId[]
  /** Ticks of silence after which the leader removes a member. */
  memberSilentTicks?: number
  /** Write the genesis members as the log's first command, so that a replica
   *  that replays the log without knowing them (a joiner, or the founder
   *  after a restart) learns them. Hosts with dynamic membership set it. */
  logGenesis?: boolean
  /** Voters the leader lets the membership grow to; later joiners are learners. */
  votersMax?: number
  /** Never a voter (seed 004, ours): it asks to join as a learner — an edge
   *  replica archiving the room, an audience — and the leader feeds it the
   *  issued commands but never adds it to the members. */
  learner?: boolean
  machine: MachinePort
  /** The injected seeded random source: election timeouts, catch-up peers, functions. */
  random: Random
  /** α, the bounded pipeline depth (seed 002 claim 5). */
  pipelineDepth?: number
  /** What stable storage held, after a restart. */
  stable?: StableState
  /** Applied commands between two snapshots (seed 001, ours). */
  snapshotEvery?: number
  /** Ticks of silence after which a member no longer holds clearing back. */
  clearSilentTicks?: number
  /** Characters per SnapshotChunk. */
  snapshotChunkChars?: number
  /** Instances between two state digests compared by the leader (seed 000). */
  digestEvery?: number
  /** Voted to every member, as [0066] allows (the seed's worked examples
   *  assume it), instead of only where it can be used (onBeginBallot). */
  votedToAll?: boolean
}

export type Input =
  | { type: 'message'; message: unknown }
  /** A message this replica sent to itself (ready().send with to = from = id),
   *  handed back by the host: it never crossed a wire, so it is not parsed. */
  | { type: 'loopback'; message: Message }
  | { type: 'tick' }
  | { type: 'call'; call: unknown }
  | { type: 'persisted'; seq: number }
  /** Try to lead now ([0057] step 1), as if the election timeout had fired;
   *  with `round`, at that round if it is above every ballot seen. For hosts
   *  ("make this tab the leader") and scripted scenarios. */
  | { type: 'campaign'; round?: number }
  /** Leave the membership gracefully (seed 004 FIG. 6: a tab closing). */
  | { type: 'leave' }
  /** Who else is in the room (signaling presence): whom to ask to join. */
  | { type: 'peers'; peers: readonly ReplicaId[] }

export type StepResult = { ok: true } | { ok: false; reason: DropReason }

export type DropReason =
  | 'malformed'
  | 'misaddressed'
  | 'unknown-sender'
  | 'bad-payload'
  | 'instance-too-far'
  | 'bad-snapshot'
  | 'bad-call'
  | 'bad-input'

export interface Ready {
  /** Records to make durable, atomically, before stepping `persisted`. */
  persist: PersistRecord[]
  persistSeq: number
  /** Messages whose records are durable. */
  send: Message[]
  /** Commands newly issued and applied to MS, in instance order. */
  issued: IssuedEntry[]
  /** Answers to calls made at this replica. */
  replies: CallReply[]
  /** MS was replaced by a snapshot's state at `instance` (a laggard's catch-up,
   *  or a restart): hosts mirroring MS reload it from `state`, then apply
   *  `issued`, which then holds only commands after it. */
  installed: { instance: Instance; state: unknown } | null
  /** Things worth showing (out-of-sync detection, seed 000). */
  events: ReplicaEvent[]
}

export type Role = 'follower' | 'candidate' | 'leader'

export interface ReplicaStatus {
  id: ReplicaId
  role: Role
  lastTried: Ballot
  nextBal: Ballot
  leader: ReplicaId | null
  /** Every instance up to here is issued and applied to MS. */
  issuedUpTo: Instance
  /** The highest instance voted for here (at least issuedUpTo): votes run ahead of issuing by up to the pipeline depth. */
  votedUpTo: Instance
  /** The highest instance a peer said is issued (issuedUpTo lags it while catching up). */
  knownIssued: Instance
  /** The leader's next free instance (leaders only). */
  nextCommandNo: Instance | null
  /** The members after the issued prefix (seed 004). */
  members: ReplicaId[]
  /** Seed 001's start-of-log pointer: entries below it are cleared. */
  logStart: Instance
  /** Issued entries held in memory (and in stable storage). */
  logSize: number
  /** The instance of the latest snapshot (0: none). */
  snapshotAt: Instance
  /** The last out-of-sync event (seed 000). */
  lastOutOfSync: ReplicaEvent | null
  pendingCalls: number
  counters: Readonly<Record<string, number>>
  /** The last peer claim that contradicted this replica's log (see SECURITY.md). */
  lastConflict: string | null
  /**
   * Leaders only: ticks since this leader's election, and since each other
   * member was last heard from (by this leader, or as the leader before it
   * said). A member silent for memberSilentTicks is removed (seed 004 M5b).
   */
  silence: { electedTicksAgo: number; heardTicksAgo: Record<ReplicaId, number> } | null
}

interface Inflight {
  command: Command
  sentTick: number
}

interface CandidateState {
  kind: 'candidate'
  ballot: Ballot
  n: Instance
  infos: Map<ReplicaId, MessageOf<'BallotInfo'>>
  queue: Call[]
  rejectedDirectly: Set<string>
  /** A leader's re-ballot (after its own reconfiguration) carries when it last heard each peer, and what it hears meanwhile, into the next ballot. */
  lastHeard: Map<ReplicaId, number> | null
}

interface LeaderState {
  kind: 'leader'
  ballot: Ballot
  /** Q ([0057] 3'(c)): a quorum (a majority, or half with the crown prince, quorum.ts) chosen among the BallotInfo responders. */
  quorum: ReplicaId[]
  responders: Set<ReplicaId>
  nextCommandNo: Instance
  /** The command LS reflects last: the precedent of the next new command. */
  lastCommandId: CommandId
  inflight: Map<Instance, Inflight>
  queue: Call[]
  /** Tickets rejected in this ballot without the log (first attempts): a
   *  network copy of the same attempt must not run again and succeed after the
   *  caller heard "rejected". Copies under another ballot are refused. */
  rejectedDirectly: Set<string>
  pendingTickets: Map<string, Instance>
  heartbeatElapsed: number
  retransmitElapsed: number
  /** Ticks since the last check that a majority is still heard. Its own
   *  counter: electionElapsed is reset by messages, the leader's own
   *  loopback BeginBallot among them, which kept a stranded leader (removed
   *  from the members without knowing) from ever stepping down. */
  quorumCheckElapsed: number
  /** When each peer was last heard from: by this leader, in its ballots
   *  before (a re-ballot after its own reconfiguration), or as the leader
   *  before it said (Heartbeat.silent). A join or a new leader does not
   *  start a crashed member's silence over. */
  lastHeard: Map<ReplicaId, number>
  /** When each member was last sent a BeginBallot or a Success, and a Heartbeat: a busy member's heartbeats are thinned (heartbeatTicksBusyMax). */
  proposedTick: Map<ReplicaId, number>
  beatTick: Map<ReplicaId, number>
  /** The last tick this leader proposed (or was elected); since when its
   *  heartbeats say the room is idle (null: they do not); the last idle one. */
  busyTick: number
  idleSince: number | null
  idleBeatTick: number
  /** Ticks since the membership was last looked at (every heartbeatTicks, idle or not). */
  membershipElapsed: number
  /** The last heartbeat round sent, and the latest round each peer acked. */
  heartbeatRound: number
  ackedRound: Map<ReplicaId, number>
  /** A direct rejection is a read of LS: held until it is known to be current. */
  heldRejections: HeldRejection[]
  roundWanted: boolean
  /** Seed 001's received indicators: the issued prefix each member acknowledged. */
  ackedIssued: Map<ReplicaId, Instance>
  electedTick: number
  /** Seed 000: digests reported per checkpoint, and who was told to refresh. */
  reports: Map<Instance, Map<ReplicaId, string>>
  resynced: Set<string>
  /** Seed 004: a reconfiguration proposed in this ballot. Nothing is proposed
   *  after it; once applied, a new ballot starts under the new members. */
  reconfigAt: Instance | null
  joiners: Map<ReplicaId, { tick: number; issuedUpTo: Instance; learner: boolean }>
  leaving: Set<ReplicaId>
}

interface HeldRejection {
  call: Call
  code: RejectCode
  reason: string
  /** Released once a majority acked a heartbeat round ≥ this one… */
  round: number
  /** …and every command LS reflected when the call ran is issued. */
  frontier: Instance
}

type RoleState = { kind: 'follower' } | CandidateState | LeaderState

interface PendingCall {
  call: Call
  /** Its arguments' JSON length, measured once when it came in (the message budget counts it). */
  argsChars: number
  sentTick: number
  /** Whether an attempt has gone out (to a leader, or this replica's queue). */
  sent?: boolean
}

/** A call as the local client hands it in: the origin is this replica. */
const localCallSchema = callSchema.omit({ origin: true, attempt: true }).extend({ resubmit: z.boolean().optional() })

/**
 * `localCallSchema`'s check without zod's parsed copy: every call passes here
 * (replica.test.ts keeps the two in agreement). The ticket is copied, so the
 * caller cannot change it after the fact.
 */
function parseLocalCall(raw: unknown): { ticket: Ticket; name: string; args: unknown; resubmit: boolean } | null {
  if (typeof raw !== 'object' || raw === null) return null
  const { ticket, name, args, resubmit } = raw as Record<string, unknown>
  if (typeof ticket !== 'object' || ticket === null) return null
  const { client, seq, acked } = ticket as Record<string, unknown>
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  if (typeof client !== 'string' || client.length < 1 || client.length > clientIdLengthMax) return null
  if (!isCount(seq) || !isCount(acked)) return null
  if (typeof name !== 'string' || name.length < 1 || name.length > functionNameLengthMax) return null
  if (resubmit !== undefined && typeof resubmit !== 'boolean') return null
  if (!('args' in raw)) return null // as zod 4's z.unknown() in an object: the key must be present
  return { ticket: { client, seq, acked }, name, args, resubmit: resubmit === true }
}

export const localCallSchemaForTests = localCallSchema

const nullEntry: IssuedEntry = Object.freeze({
  instance: 0,
  lockBallot: ballotZero,
  command: Object.freeze({ id: nullCommandId, prec: nullCommandId, payload: null, ticket: { client: '-', seq: 0, acked: 0 }, result: null }),
}) as IssuedEntry

export class Replica {
  readonly id: ReplicaId
  /** The members after the issued prefix, and seed 004's relative quorum over them (quorum.ts). */
  private quorum: QuorumSystem
  private readonly genesis: QuorumSystem
  private readonly memberSilentTicks: number
  private readonly logGenesis: boolean
  private readonly votersMax: number
  private readonly learner: boolean
  /** The membership changed in this step: a leader or candidate starts a new ballot. */
  private reconfigured = false
  /** Asked to leave: once removed, it stays out. */
  private leaving = false
  private joinElapsed = 0
  /** Peers the host says are in the room (ask them to join, besides the members). */
  private contacts: ReplicaId[] = []
  private readonly machine: MachinePort
  private readonly random: Random
  private readonly pipelineDepth: number
  private readonly votedToAll: boolean
  private readonly snapshotEvery: number
  /** Characters of JSON: the latest snapshot's state, and the commands applied since (maybeCompact). */
  private snapshotStateChars = 0
  private logCharsSinceSnapshot = 0
  private readonly clearSilentTicks: number
  private readonly snapshotChunkChars: number
  private readonly digestEvery: number
  /** MS as the machine was handed in: what an out-of-sync replica starts over from. */
  private readonly initialState: unknown

  // Stable state ([0068]): lastTried, nextBal, prevVote, the issued log L.
  private lastTried: Ballot = ballotZero
  private nextBal: Ballot = ballotZero
  private readonly votes = new Map<Instance, Vote>()
  /** The highest instance this replica voted for (the inspector's "voted"; since its start). */
  private votedUpTo: Instance = 0
  private log = new IssuedLog()

  // Volatile state.
  /** Invariant: every instance ≤ issuedUpTo is in `log` and applied to MS. */
  private issuedUpTo: Instance = 0
  /** The highest-ballot proposal seen per unissued instance: what (m, b) names. */
  private readonly proposals = new Map<Instance, { ballot: Ballot; command: Command }>()
  /** Voted messages counted per unissued instance, highest ballot only. */
  /** (A few voters: an array is cheaper than a Set on this path.) */
  private readonly tallies = new Map<Instance, { ballot: Ballot; voters: ReplicaId[] }>()
  private readonly sessions = new Sessions()
  private readonly pendingCalls = new Map<string, PendingCall>()
  private role: RoleState = { kind: 'follower' }
  private leaderHint: ReplicaId | null = null
  /** The ballot of the leader we believe in: calls are addressed to it. */
  private leaderBallot: Ballot | null = null
  private highestBallotSeen: Ballot = ballotZero
  private tickCount = 0
  private electionElapsed = 0
  private electionTimeout: number
  /** The leader's last word was an idle heartbeat: wait electionIdleFactor times longer (constants.ts). */
  private leaderQuiet = false
  /** How often an idle leader beats: heartbeatTicksIdle, or less where a
   *  member's silence is judged sooner (its acks must come well inside it). */
  private readonly idleBeatTicks: number
  /** A leader's heartbeats name the members silent this long (Heartbeat.silent). */
  private readonly silentReportTicks: number
  /** What the leader's latest heartbeat said of silent members, and when it came: elected next, this replica goes on counting. */
  private silenceHint: { tick: number; silent: readonly { id: ReplicaId; ticks: number }[] } | null = null
  private callRetryElapsed = 0
  /** The highest instance a peer said is issued: catch-up target ([0067]). */
  private issuedHint: Instance = 0
  private catchUp: { sentTick: number; upTo: Instance } | null = null
  /** Since when the issued frontier has been stuck below issuedHint. */
  private gap: { since: number; frontier: Instance } | null = null
  /** The latest snapshot (seed 001): taken here, or installed from a peer. */
  private snapshot: Snapshot | null = null
  /** Its body as sent to laggards, made on the first request. */
  private snapshotBody: string | null = null
  /** The leader's clearUpTo: every live member applied up to here. */
  private clearHint: Instance = 0
  /** Seed 000: this replica's digests of MS at recent checkpoints. */
  private readonly digests = new Map<Instance, string>()
  private lastCheckpointTick = 0
  /** The last checkpoint reported, and under which leader's ballot: a new
   *  leadership is told again (a report to a leader that lost its place is
   *  lost with it; found in e2e under load, fixed-seed in out-of-sync.test). */
  private reportedCheckpoint: Instance = 0
  private reportedTo: Ballot | null = null
  private lastOutOfSync: ReplicaEvent | null = null
  /** Out of sync: the peer whose current state this replica waits for. */
  private refreshing: { from: ReplicaId; sentTick: number } | null = null
  /** The first chunk of which snapshot was last offered to whom, and when. */
  private readonly snapshotOffered = new Map<ReplicaId, { instance: Instance; tick: number }>()
  /** A snapshot arriving in chunks. */
  private transfer: { from: ReplicaId; anchor: IssuedEntry; total: number; parts: string[]; received: number; lastTick: number; startTick: number; windowChunks: number; ahead: Map<number, string> } | null = null

  // Output buffers.
  private records: PersistRecord[] = []
  private recordSeq = 0
  private persistedSeq = 0
  private readonly outbox = new Outbox()
  private readyIssued: IssuedEntry[] = []
  private readyReplies: CallReply[] = []
  private readyInstalled: Ready['installed'] = null
  private readyEvents: ReplicaEvent[] = []
  private readonly counters: Record<string, number> = {}
  /** The last claim of a peer that contradicted what this replica knows. */
  private lastConflict: string | null = null

  constructor(config: ReplicaConfig) {
    // No members: a replica that joins an existing room (it learns the members from the log).
    assert(config.members.length <= membersMax, 'member count out of range')
    assert(new Set(config.members).size === config.members.length, 'duplicate member ids')
    const depth = config.pipelineDepth ?? pipelineDepthDefault
    assert(Number.isInteger(depth) && depth >= 1 && depth <= pipelineDepthMax, 'pipeline depth out of range')
    this.id = config.id
    this.genesis = new QuorumSystem([...config.members])
    this.quorum = this.genesis
    this.logGenesis = config.logGenesis ?? false
    this.votersMax = config.votersMax ?? votersMaxDefault
    this.learner = config.learner === true
    assert(Number.isSafeInteger(this.votersMax) && this.votersMax >= 1 && this.votersMax <= membersMax, 'votersMax out of range')
    this.memberSilentTicks = config.memberSilentTicks ?? memberSilentTicksDefault
    assert(Number.isSafeInteger(this.memberSilentTicks) && this.memberSilentTicks >= 1, 'memberSilentTicks out of range')
    this.machine = config.machine
    this.random = config.random
    this.pipelineDepth = depth
    this.votedToAll = config.votedToAll === true
    this.snapshotEvery = config.snapshotEvery ?? snapshotEveryDefault
    assert(Number.isSafeInteger(this.snapshotEvery) && this.snapshotEvery >= 1, 'snapshotEvery out of range')
    this.clearSilentTicks = config.clearSilentTicks ?? clearSilentTicksDefault
    assert(Number.isSafeInteger(this.clearSilentTicks) && this.clearSilentTicks >= 1, 'clearSilentTicks out of range')
    this.digestEvery = config.digestEvery ?? digestEveryDefault
    assert(Number.isSafeInteger(this.digestEvery) && this.digestEvery >= 1, 'digestEvery out of range')
    this.initialState = config.machine.snapshot()
    this.snapshotChunkChars = config.snapshotChunkChars ?? snapshotChunkCharsDefault
    assert(Number.isSafeInteger(this.snapshotChunkChars) && this.snapshotChunkChars >= 1 && this.snapshotChunkChars <= snapshotChunkCharsMax, 'snapshotChunkChars out of range')
    this.electionTimeout = this.randomElectionTimeout()
    this.idleBeatTicks = Math.max(heartbeatTicks, Math.min(heartbeatTicksIdle, Math.floor(Math.min(this.memberSilentTicks, this.clearSilentTicks) / 4)))
    this.silentReportTicks = Math.max(heartbeatTicks, Math.floor(this.memberSilentTicks / 4))
    if (config.stable !== undefined) this.restore(config.stable)
  }

  // ---------------------------------------------------------------- inputs

  step(input: Input): StepResult {
    const result = this.stepInput(input)
    if (this.reconfigured) this.afterReconfiguration()
    const role = this.role
    // Held rejections want a heartbeat round that starts after them.
    if (role.kind === 'leader' && role.roundWanted) this.sendHeartbeats(role)
    this.checkInvariants()
    return result
  }

  /** Invariants that hold between any two steps (TigerBeetle's invariants()):
   *  constant-time checks, kept on in production. */
  private checkInvariants(): void {
    assert(this.issuedUpTo === this.log.upTo, 'the applied prefix differs from the issued prefix')
    const snapshotAt = this.snapshot?.anchor.instance ?? 0
    assert(this.log.start <= Math.max(snapshotAt, 1) && snapshotAt <= this.issuedUpTo, 'the log is cleared beyond its snapshot')
    assert(compareBallots(this.nextBal, this.highestBallotSeen) <= 0 && compareBallots(this.lastTried, this.highestBallotSeen) <= 0, 'a ballot above the highest seen')
    assert(this.persistedSeq <= this.recordSeq, 'more persisted than recorded')
    assert(this.pendingCalls.size <= pendingCallsMax, 'pending calls beyond their bound')
    const role = this.role
    if (role.kind === 'follower') return
    assert(role.ballot.replica === this.id && ballotEquals(role.ballot, this.lastTried), 'leading a ballot that is not our lastTried')
    assert(role.queue.length <= leaderQueueMax, 'leader queue beyond its bound')
    if (role.kind === 'leader') {
      assert(role.nextCommandNo > this.issuedUpTo, 'nextCommandNo at or below the issued prefix')
      assert(role.inflight.size <= role.nextCommandNo - 1 - this.issuedUpTo, 'more in flight than unissued instances')
      assert(this.quorum.isQuorum(role.quorum), 'Q is not a quorum')
      assert(role.reconfigAt === null || role.nextCommandNo === role.reconfigAt + 1, 'a proposal after a reconfiguration')
    }
  }

  private stepInput(input: Input): StepResult {
    switch (input.type) {
      case 'tick':
        this.onTick()
        return { ok: true }
      case 'persisted':
        if (!Number.isInteger(input.seq) || input.seq > this.recordSeq) return this.drop('bad-input')
        this.persistedSeq = Math.max(this.persistedSeq, input.seq)
        return { ok: true }
      case 'call':
        return this.onLocalCall(input.call)
      case 'campaign':
        if (input.round !== undefined && (!Number.isSafeInteger(input.round) || input.round < 1)) return this.drop('bad-input')
        if (this.quorum.has(this.id)) this.campaign(input.round)
        return { ok: true }
      case 'peers':
        if (!Array.isArray(input.peers) || input.peers.length > contactsMax || !input.peers.every((p) => typeof p === 'string' && p.length >= 1 && p.length <= replicaIdLengthMax)) return this.drop('bad-input')
        this.contacts = [...input.peers]
        return { ok: true }
      case 'leave':
        this.leaving = true
        if (this.role.kind === 'leader') this.role.leaving.add(this.id)
        this.joinElapsed = joinRetryTicks
        return { ok: true }
      case 'message':
        return this.onMessage(input.message)
      case 'loopback':
        if (input.message.from !== this.id || input.message.to !== this.id) return this.drop('bad-input')
        return this.dispatch(input.message)
      default:
        return this.drop('bad-input')
    }
  }

  ready(): Ready {
    const ready: Ready = {
      persist: this.records,
      persistSeq: this.recordSeq,
      send: this.outbox.drain(this.persistedSeq),
      issued: this.readyIssued,
      replies: this.readyReplies,
      installed: this.readyInstalled,
      events: this.readyEvents,
    }
    this.records = []
    this.readyIssued = []
    this.readyReplies = []
    this.readyInstalled = null
    this.readyEvents = []
    return ready
  }

  /** Whether messages wait for records not yet durable (a query for hosts
   *  that delay writes nothing waits for: they should write now). */
  awaitsPersist(): boolean {
    return this.outbox.hasHeld(this.persistedSeq)
  }

  /** Whether `ready()` would return anything (for host loops): records to
   *  persist, messages that may leave now, commands applied, or replies. */
  hasReady(): boolean {
    return this.records.length > 0 || this.readyIssued.length > 0 || this.readyReplies.length > 0 || this.readyInstalled !== null || this.readyEvents.length > 0 || this.outbox.hasReleasable(this.persistedSeq)
  }

  status(): ReplicaStatus {
    return {
      id: this.id,
      role: this.role.kind,
      lastTried: this.lastTried,
      nextBal: this.nextBal,
      leader: this.role.kind === 'leader' ? this.id : this.leaderHint,
      issuedUpTo: this.issuedUpTo,
      votedUpTo: Math.max(this.votedUpTo, this.issuedUpTo),
      knownIssued: this.knownIssued(),
      nextCommandNo: this.role.kind === 'leader' ? this.role.nextCommandNo : null,
      members: [...this.quorum.members],
      logStart: this.log.start,
      logSize: this.log.size,
      snapshotAt: this.snapshot?.anchor.instance ?? 0,
      lastOutOfSync: this.lastOutOfSync,
      pendingCalls: this.pendingCalls.size,
      counters: { ...this.counters },
      lastConflict: this.lastConflict,
      silence: this.role.kind === 'leader' ? this.silence(this.role) : null,
    }
  }

  private silence(leader: LeaderState): NonNullable<ReplicaStatus['silence']> {
    const heardTicksAgo: Record<ReplicaId, number> = {}
    for (const member of this.quorum.members) if (member !== this.id) heardTicksAgo[member] = this.silentFor(leader, member)
    return { electedTicksAgo: this.tickCount - leader.electedTick, heardTicksAgo }
  }

  /** Ticks since the leader heard from `member` (one nobody said is silent counts as heard at the election). */
  private silentFor(leader: LeaderState, member: ReplicaId): number {
    return this.tickCount - (leader.lastHeard.get(member) ?? leader.electedTick)
  }

  /** Read-only views for tests, the simulator and the inspector. */
  prevVote(instance: Instance): Vote | undefined {
    return this.votes.get(instance)
  }

  issuedAt(instance: Instance): IssuedEntry | undefined {
    return instance === 0 ? nullEntry : this.log.get(instance)
  }

  /** The highest instance known to be issued, here or at a peer. */
  private knownIssued(): Instance {
    return Math.max(this.issuedUpTo, this.issuedHint)
  }

  /** Whether instance m is issued here (its entry may be cleared). */
  private isIssued(m: Instance): boolean {
    return m <= this.issuedUpTo || this.log.has(m)
  }

  // ---------------------------------------------------------------- restart

  private restore(stable: StableState): void {
    this.lastTried = stable.lastTried
    this.nextBal = stable.nextBal
    // A replica back from a restart (a reloaded tab) in a room that had a
    // leader: that leader may be beating slowly (the room idle), so wait
    // as long as for an idle heartbeat before trying to lead; a room just
    // founded elects at once.
    this.leaderQuiet = stable.nextBal.round > 0 || stable.lastTried.round > 0
    this.highestBallotSeen = maxBallot(stable.lastTried, stable.nextBal)
    if (stable.snapshot !== undefined) {
      this.installSnapshot(stable.snapshot)
      // Entries below it may still be stored (clearing lags the snapshot).
      if (stable.issued.some((e) => e.instance < this.issuedUpTo)) this.record({ kind: 'clear', before: this.issuedUpTo })
    }
    const entries = stable.issued.filter((e) => e.instance > this.issuedUpTo).sort((a, b) => a.instance - b.instance)
    for (const entry of entries) this.insertIssued(entry)
    for (const vote of stable.votes) {
      this.votedUpTo = Math.max(this.votedUpTo, vote.instance)
      if (!this.isIssued(vote.instance)) this.votes.set(vote.instance, vote)
    }
    this.applyContiguous()
  }

  // ---------------------------------------------------------------- messages

  private onMessage(raw: unknown): StepResult {
    const parsed = messageSchema.safeParse(raw)
    if (!parsed.success) return this.drop('malformed')
    const message = parsed.data
    if (message.to !== this.id) return this.drop('misaddressed')
    if (message.type === 'Heartbeat' && !this.quorum.has(message.from)) {
      // A leader among members this replica does not know yet: it is behind
      // on the membership. Only where the log is counts (it catches up).
      this.issuedHint = Math.max(this.issuedHint, message.issuedUpTo)
      this.count('heard.nonMember')
      return { ok: true }
    }
    // Seed 004 fencing (ours): ballots, promises and votes of a replica
    // outside the membership are refused; it may ask to join, fetch the log
    // or a snapshot, and report issued commands (facts, checked as any).
    if (!this.quorum.has(message.from) && !openToNonMembers.has(message.type)) {
      if (message.type === 'NextBallot') {
        // A removed replica that does not know it campaigns: tell it where the
        // log is, so that it catches up, learns it was removed, and asks to join.
        this.send({ type: 'CatchUpReply', from: this.id, to: message.from, entries: [], issuedUpTo: this.issuedUpTo }, 0)
        // Or this replica is the one behind: added while it was frozen or
        // down, it is a member only further on in the log, and the candidate
        // may need its promise (simulator seed 11129 --membership: the crown
        // prince of two, restarted from a disk without its own join). The
        // ballot starts after the candidate's issued prefix: catch up to it.
        this.issuedHint = Math.max(this.issuedHint, message.n - 1)
      }
      return this.drop('unknown-sender')
    }
    const check = this.checkContent(message)
    if (check !== null) return this.drop(check)
    return this.dispatch(message)
  }

  private dispatch(message: Message): StepResult {
    this.count(receivedCounter[message.type])
    if (message.from !== this.id) {
      if (this.role.kind === 'leader') this.role.lastHeard.set(message.from, this.tickCount)
      else if (this.role.kind === 'candidate') this.role.lastHeard?.set(message.from, this.tickCount)
    }
    switch (message.type) {
      case 'NextBallot': return this.ok(this.onNextBallot(message))
      case 'BallotInfo': return this.ok(this.onBallotInfo(message))
      case 'MyNextBal': return this.ok(this.onMyNextBal(message))
      case 'BeginBallot': return this.ok(this.onBeginBallot(message))
      case 'Voted': return this.ok(this.onVoted(message))
      case 'Success': return this.ok(this.onSuccess(message))
      case 'ExecuteFunction': return this.ok(this.onExecuteFunction(message))
      case 'CallRejected': return this.ok(this.onCallRejected(message))
      case 'Heartbeat': return this.ok(this.onHeartbeat(message))
      case 'HeartbeatAck': return this.ok(this.onHeartbeatAck(message))
      case 'CatchUpRequest': return this.ok(this.onCatchUpRequest(message))
      case 'CatchUpReply': return this.ok(this.onCatchUpReply(message))
      case 'SnapshotRequest': return this.ok(this.onSnapshotRequest(message))
      case 'SnapshotChunk': return this.onSnapshotChunk(message)
      case 'DigestReport': return this.ok(this.onDigestReport(message))
      case 'JoinRequest': return this.ok(this.onJoinRequest(message))
      case 'LeaveRequest': return this.ok(this.onLeaveRequest(message))
      case 'Resync': return this.ok(this.onResync(message))
    }
  }

  /** Semantic checks the schema cannot make: payloads and instance bounds. */
  private checkContent(message: Message): DropReason | null {
    switch (message.type) {
      case 'BallotInfo':
        return this.checkEntries(message.issued) ?? this.checkEntries(message.votes)
      case 'BeginBallot':
        return this.checkEntries(message.proposals)
      case 'Success':
      case 'CatchUpReply':
        return this.checkEntries(message.entries)
      case 'SnapshotChunk':
        return message.offset + message.data.length > message.total ? 'bad-snapshot' : this.checkEntries([message.anchor])
      case 'Voted': {
        const limit = this.knownIssued() + instanceAheadMax
        for (const instance of message.instances) if (instance > limit) return 'instance-too-far'
        return null
      }
      default:
        return null
    }
  }

  private checkEntries(entries: readonly { instance: Instance; command?: Command }[]): DropReason | null {
    const limit = this.knownIssued() + instanceAheadMax
    for (const { instance, command } of entries) {
      if (instance > limit) return 'instance-too-far'
      if (command === undefined) continue
      const bad = command.members !== undefined
        ? command.payload !== null || command.rejected !== undefined || new Set(command.members).size !== command.members.length
        : command.rejected !== undefined ? command.payload !== null : this.machine.validatePayload(command.payload) !== null
      if (bad) return 'bad-payload'
    }
    return null
  }

  // ------------------------------------------------ acceptor ([0057] 2, 4)

  /** [0057] step 2. */
  private onNextBallot(message: MessageOf<'NextBallot'>): void {
    const b = message.ballot
    this.noteBallot(b)
    if (ballotLess(b, this.nextBal)) {
      this.sendMyNextBal(message.from, b)
      return
    }
    if (ballotLess(this.nextBal, b)) {
      this.nextBal = b
      this.record({ kind: 'nextBal', ballot: b })
      // Having promised b, this replica can no longer vote in its own lower
      // ballot: a leader or candidate of a lower ballot steps down.
      if (this.role.kind !== 'follower' && !ballotEquals(this.role.ballot, b)) this.becomeFollower()
    }
    this.setLeaderHint(b.replica, b)
    this.electionElapsed = 0
    this.leaderQuiet = false
    this.send(this.ballotInfo(message.from, b, message.n), this.recordSeq)
  }

  private ballotInfo(to: ReplicaId, ballot: Ballot, n: Instance): MessageOf<'BallotInfo'> {
    const issued: IssuedEntry[] = []
    // Below the start of the log D cannot be complete: the candidate is told
    // to catch up (a snapshot) before it leads.
    let truncated = n < this.log.start && this.log.max >= n
    const budget = new CharBudget()
    for (let m = Math.max(n, 1); m <= this.log.max; m++) {
      const entry = this.log.get(m)
      if (entry === undefined) continue
      if (issued.length >= ballotInfoIssuedMax || budget.full(entry)) {
        truncated = true
        break
      }
      issued.push(entry)
    }
    const votes: Vote[] = []
    for (const vote of this.votes.values()) if (vote.instance >= n) votes.push(vote)
    return { type: 'BallotInfo', from: this.id, to, ballot, n, issued, truncated, votes, missing: this.missingBelow(n) }
  }

  /** X of BallotInfo: ranges of instances < n whose issued command is unknown. */
  private missingBelow(n: Instance): [Instance, Instance][] {
    const ranges: [Instance, Instance][] = []
    let start = this.issuedUpTo + 1
    const known = [...this.log.aboveGap].filter((m) => m < n).sort((a, b) => a - b)
    for (const m of known) {
      if (m > start) ranges.push([start, m - 1])
      start = m + 1
    }
    if (start <= n - 1) ranges.push([start, n - 1])
    return ranges.slice(0, ballotInfoMissingRangesMax)
  }

  /** [0057] step 4: vote only when b = nextBal (the seed's rule). */
  private onBeginBallot(message: MessageOf<'BeginBallot'>): void {
    const b = message.ballot
    this.noteBallot(b)
    if (!ballotEquals(b, this.nextBal)) {
      if (ballotLess(b, this.nextBal)) this.sendMyNextBal(message.from, b) // [0062]
      else {
        // A higher ballot we never promised (its NextBallot was lost): it is
        // alive, so do not start an election; its leader re-sends NextBallot.
        this.count('notVoted.unpromised')
        this.electionElapsed = 0
        this.leaderQuiet = false
        if (this.role.kind !== 'follower' && ballotLess(this.role.ballot, b)) this.becomeFollower()
      }
      return
    }
    this.setLeaderHint(message.from, b)
    this.electionElapsed = 0
    this.leaderQuiet = false
    // Seed 000 claim 3: a replica found out of sync takes no part in voting
    // until it is refreshed (the leader re-sends what it has not voted).
    if (this.refreshing !== null) return this.count('notVoted.refreshing')
    const voted: Instance[] = []
    const alreadyIssued: IssuedEntry[] = []
    for (const { instance, command } of message.proposals) {
      if (instance < this.log.start) continue // issued and cleared here: the leader catches up
      const issued = this.issuedAt(instance)
      if (issued !== undefined) {
        alreadyIssued.push(issued)
        continue
      }
      this.noteProposal(instance, b, command)
      const previous = this.votes.get(instance)
      if (previous === undefined || !ballotEquals(previous.ballot, b)) {
        const vote: Vote = { instance, ballot: b, command }
        this.votes.set(instance, vote)
        this.votedUpTo = Math.max(this.votedUpTo, instance)
        this.record({ kind: 'vote', vote })
      } else {
        assert(previous.command.id === command.id, 'a ballot proposes one command per instance')
      }
      voted.push(instance)
    }
    // [0066] lets Voted go to every replica so each decides on its own. We
    // send it only where it can be used: a follower's vote to the leader
    // (and to itself), the leader's own vote to the quorum Q it proposed to
    // (they hold the command). A replica outside Q could count votes but has
    // no command to issue; it learns the outcome from the leader's Success,
    // which carries the command. With a quorum of two (three voters), a
    // member of Q decides from its vote and the leader's, as before; with
    // larger quorums the leader's Success tells it. O(|Q|) messages per
    // command instead of O(|Q| · n).
    if (voted.length > 0) {
      const to = this.votedToAll ? this.quorum.members : message.from === this.id && this.role.kind === 'leader' ? this.role.quorum : message.from === this.id ? [this.id] : [message.from, this.id]
      for (const peer of to) this.sendVoted(peer, b, voted)
    }
    // Votes counted before this proposal arrived may now decide it.
    for (const instance of voted) this.tryIssue(instance)
    // A replica that knows the outcome tells the leader instead of voting.
    if (alreadyIssued.length > 0) this.sendSuccess(message.from, alreadyIssued, true)
  }

  private noteProposal(instance: Instance, ballot: Ballot, command: Command): void {
    const known = this.proposals.get(instance)
    if (known === undefined || ballotLess(known.ballot, ballot)) this.proposals.set(instance, { ballot, command })
  }

  // ------------------------------------------------- learner ([0057] 5, 6)

  private onVoted(message: MessageOf<'Voted'>): void {
    for (const instance of message.instances) {
      if (this.isIssued(instance)) continue
      const tally = this.tallies.get(instance)
      if (tally === undefined || ballotLess(tally.ballot, message.ballot)) {
        this.tallies.set(instance, { ballot: message.ballot, voters: [message.from] })
      } else if (ballotEquals(tally.ballot, message.ballot)) {
        if (!tally.voters.includes(message.from)) tally.voters.push(message.from)
      }
      this.tryIssue(instance)
    }
  }

  /**
   * The issue rule ([0051], [0057] step 5): d is issued at m when a majority
   * voted for d in one ballot b at m AND d's precedent is issued at m−1.
   * ("Every member of Q voted" with Q a majority ⇔ the voters include a
   * majority: we count votes from whoever received the BeginBallot.)
   *
   * Refinement (ours, with the safety argument in DESIGN notes and the
   * simulator's evidence): the precedent must have been issued through a
   * ballot no later than b — its lock ballot ≤ b. Without it, a majority for d
   * in ballot b can be overtaken: later leaders that do not see d's precedent
   * at m−1 (it was not yet chosen there) take other commands at m, the voters
   * of d overwrite their votes, and when d's precedent is finally chosen at
   * m−1 in a later ballot, the stale majority for d would make d issued next to
   * the command those later ballots issued at m. With lock ballots
   * non-decreasing along the log, a majority in b at m is "firm": every later
   * leader sees the whole chain below it and must re-propose d (B3(I,β)).
   * See the test "the seed's literal issue rule is unsafe".
   */
  private tryIssue(from: Instance): void {
    // Only issuedUpTo + 1 can be issued next, and an instance decided while it
    // waited for its precedent is decided from there: a caller's `from` at or
    // below the frontier (its instance was issued, or learned beyond a gap
    // that has since closed) starts at the frontier, not at an issued
    // instance where the loop would stop. (Found by the simulator, seed 352
    // once Voted went only to Q: 53 learned beyond a gap, the gap closed, and
    // 54, decided meanwhile, was never looked at again.) An instance already
    // issued (learned beyond the gap, now the frontier after issuing the one
    // below it) is passed over, not an end: the one after it may be decided
    // too (seed 464: 76 issued here made 77, learned from a peer, the
    // frontier, and 78, decided meanwhile, waited forever).
    for (let m = Math.max(from, this.issuedUpTo + 1); ; m++) {
      if (this.isIssued(m)) {
        if (m <= this.issuedUpTo) continue
        return
      }
      const tally = this.tallies.get(m)
      // The members at m are known only once m − 1 is applied (seed 004:
      // they change through the log); only their votes count.
      if (m !== this.issuedUpTo + 1 || tally === undefined || !this.quorum.isQuorum(tally.voters)) return
      const proposal = this.proposals.get(m)
      if (proposal === undefined || !ballotEquals(proposal.ballot, tally.ballot)) return
      const precedent = this.issuedAt(m - 1)
      if (precedent === undefined || precedent.command.id !== proposal.command.prec) return
      if (compareBallots(precedent.lockBallot, tally.ballot) > 0) return
      this.learn({ instance: m, lockBallot: tally.ballot, command: proposal.command })
    }
  }

  private onSuccess(message: MessageOf<'Success'>): void {
    if (message.from === this.leaderHint) {
      this.electionElapsed = 0
      this.leaderQuiet = false
    }
    for (const entry of message.entries) {
      // A gap below an entry is fetched by catch-up if it persists (onTick).
      this.issuedHint = Math.max(this.issuedHint, entry.instance)
      if (entry.instance < this.log.start) continue
      const known = this.issuedAt(entry.instance)
      if (known !== undefined) {
        if (known.command.id !== entry.commandId) {
          this.count('dropped.conflict')
          this.lastConflict = `${entry.commandId} claimed at ${entry.instance}, where ${known.command.id} is issued`
        }
        continue
      }
      const command = entry.command ?? this.commandWithId(entry.instance, entry.commandId)
      if (command === undefined) continue
      this.learnFromPeer({ instance: entry.instance, lockBallot: entry.lockBallot, command })
    }
  }

  private commandWithId(instance: Instance, id: CommandId): Command | undefined {
    const proposal = this.proposals.get(instance)
    if (proposal?.command.id === id) return proposal.command
    const vote = this.votes.get(instance)
    if (vote?.command.id === id) return vote.command
    return undefined
  }

  /** Record an issued command ([0057] step 5/6): persist it, apply what is
   *  contiguous. Does not cascade to m+1 (callers loop; no deep recursion). */
  private learn(entry: IssuedEntry): void {
    assert(entry.instance >= this.log.start, `learning ${entry.instance} below the start of the log`)
    const known = this.issuedAt(entry.instance)
    if (known !== undefined) {
      assert(known.command.id === entry.command.id, `agreement: ${entry.command.id} vs ${known.command.id} at ${entry.instance}`)
      return
    }
    const voters = this.tallies.get(entry.instance)?.voters
    this.insertIssued(entry)
    this.record({ kind: 'issued', entry })
    if (this.role.kind === 'leader') this.leaderLearned(this.role, entry, voters)
    this.applyContiguous()
    if (this.role.kind === 'leader') {
      this.processQueue(this.role)
      this.releaseRejections(this.role)
    }
  }

  /** Learn an issued command from a peer, then whatever it unblocks. */
  /**
   * Learn an issued command a peer reports. An honest peer never contradicts
   * what this replica knows; one that does (a bug, or a member that does not
   * run the protocol honestly — see SECURITY.md) is not believed: the claim is
   * dropped, counted and kept for the status, and the replica goes on.
   */
  private learnFromPeer(entry: IssuedEntry): void {
    if (entry.instance < this.log.start) return // issued, and cleared behind the snapshot
    const conflict = this.conflictWith(entry.instance, entry.command)
    if (conflict !== null) {
      this.count('dropped.conflict')
      this.lastConflict = conflict
      return
    }
    this.learn(entry)
    this.tryIssue(entry.instance + 1)
  }

  /** Why a claimed issued command cannot be true given what is known here, or null. */
  private conflictWith(instance: Instance, command: Command): string | null {
    const known = this.issuedAt(instance)
    if (known !== undefined) return known.command.id === command.id ? null : `${command.id} claimed at ${instance}, where ${known.command.id} is issued`
    const before = this.issuedAt(instance - 1)
    if (before !== undefined && before.command.id !== command.prec) return `${command.id} claimed at ${instance} follows ${command.prec}, not ${before.command.id}`
    const after = this.log.get(instance + 1)
    if (after !== undefined && after.command.prec !== command.id) return `${command.id} claimed at ${instance}, but ${after.command.id} follows ${after.command.prec}`
    return null
  }

  private insertIssued(entry: IssuedEntry): void {
    const m = entry.instance
    // Dependency: the precedent of every issued command is the command issued
    // just before it, wherever both are known.
    const before = this.issuedAt(m - 1)
    assert(before === undefined || before.command.id === entry.command.prec,
      `dependency: ${entry.command.id} at ${m} does not follow ${before?.command.id}`)
    const after = this.log.get(m + 1)
    assert(after === undefined || after.command.prec === entry.command.id,
      `dependency: ${after?.command.id} at ${m + 1} does not follow ${entry.command.id}`)
    // No order is asserted between lock ballots here: an instance may be locked
    // in several ballots, and entries learned from different peers carry the
    // lock each of them saw. Any of them is a ballot in which the command is
    // firmly locked, which is all tryIssue needs of the precedent's.
    this.log.insert(entry)
    // A new ballot must lie above the lock ballots it builds on (tryIssue),
    // even one among members that never saw those ballots (seed 004).
    this.noteBallot(entry.lockBallot)
    this.votes.delete(m)
    this.tallies.delete(m)
    this.proposals.delete(m)
  }

  /** Issued commands are applied to MS in instance order, without gaps. */
  private applyContiguous(): void {
    while (this.issuedUpTo < this.log.upTo) {
      const m = this.issuedUpTo + 1
      const entry = this.log.get(m)!
      this.issuedUpTo = m
      const { command } = entry
      this.logCharsSinceSnapshot += commandChars(command)
      const outcome = outcomeOf(command)
      if (command.members !== undefined) {
        this.quorum = new QuorumSystem(command.members)
        this.reconfigured = true
        this.count('reconfigurations')
      } else {
        if (command.rejected === undefined) this.machine.apply(m, command.payload)
        this.sessions.record(command.ticket, outcome, m)
      }
      this.readyIssued.push(entry)
      const key = ticketKey(command.ticket)
      if (this.pendingCalls.has(key)) this.reply(command.ticket, outcome, m)
      if (this.role.kind === 'leader' && this.role.pendingTickets.get(key) === m) this.role.pendingTickets.delete(key)
      if (m % this.digestEvery === 0) this.checkpoint()
    }
  }

  // ------------------------------------------------------------- catch-up

  /**
   * [0067]: a replica acquires missing issued commands from any peer. A gap
   * is only chased once it has made no progress for catchUpRetryTicks (most
   * gaps are Success messages still in flight); a reply that made progress
   * asks for the next chunk at once.
   */
  private maybeCatchUp(chained = false, knownHolder: ReplicaId | null = null): void {
    if (this.transfer !== null) return this.continueTransfer()
    if (this.refreshing !== null) return this.askForState()
    if (this.issuedHint <= this.issuedUpTo) {
      this.catchUp = null
      this.gap = null
      return
    }
    if (this.gap === null || this.issuedUpTo > this.gap.frontier) {
      this.gap = { since: this.tickCount, frontier: this.issuedUpTo }
      if (!chained) return
    }
    if (!chained && this.tickCount - this.gap.since < catchUpRetryTicks) return
    if (!chained && this.catchUp !== null && this.tickCount - this.catchUp.sentTick < catchUpRetryTicks) return
    // Members first; a replica outside the membership (a joiner) asks the room.
    const peers = [...new Set([...this.quorum.members, ...this.contacts])].filter((m) => m !== this.id)
    if (peers.length === 0) return
    // Ask whoever just showed it has the commands, else the leader, else anyone.
    const leader = this.leaderHint !== null && this.leaderHint !== this.id ? this.leaderHint : null
    const first = knownHolder ?? (this.catchUp === null ? leader : null)
    const peer = first ?? peers[randomInt(this.random, 0, peers.length)]!
    const upTo = Math.min(this.issuedHint, this.issuedUpTo + catchUpEntriesMax)
    this.catchUp = { sentTick: this.tickCount, upTo }
    this.send({ type: 'CatchUpRequest', from: this.id, to: peer, range: [this.issuedUpTo + 1, upTo] }, 0)
  }

  private onCatchUpRequest(message: MessageOf<'CatchUpRequest'>): void {
    const [start, end] = message.range
    // Seed 001 / [0068]: what was cleared here is sent as the snapshot — its
    // first chunk once per snapshotRetryTicks per peer: a laggard re-asks
    // every few ticks until it arrives, and each copy of a large chunk
    // would slow the next (the simulator's rule; the benchmark found it).
    if (start < this.log.start) {
      const sent = this.snapshotOffered.get(message.from)
      const at = this.snapshot?.anchor.instance ?? 0
      if (sent !== undefined && sent.instance === at && this.tickCount - sent.tick < snapshotRetryTicks) return
      this.snapshotOffered.set(message.from, { instance: at, tick: this.tickCount })
      return this.sendSnapshotWindow(message.from, 0)
    }
    const entries: IssuedEntry[] = []
    const budget = new CharBudget()
    for (let m = start; m <= Math.min(end, this.log.max) && entries.length < catchUpEntriesMax; m++) {
      const entry = this.log.get(m)
      if (entry === undefined) continue
      if (budget.full(entry) && entries.length > 0) break
      entries.push(entry)
    }
    this.send({ type: 'CatchUpReply', from: this.id, to: message.from, entries, issuedUpTo: this.issuedUpTo }, 0)
  }

  private onCatchUpReply(message: MessageOf<'CatchUpReply'>): void {
    for (const entry of message.entries) this.learnFromPeer(entry)
    this.issuedHint = Math.max(this.issuedHint, message.issuedUpTo)
    const progressed = this.gap !== null && this.issuedUpTo > this.gap.frontier
    // A peer with nothing past this prefix leaves the request open: the next
    // goes to a random peer after catchUpRetryTicks. Closed, it went to the
    // leader hint again, which may be stale and answer every time (simulator
    // seed 35317 --membership: two replicas asked a deposed leader ~1,000
    // times and never the one member that held the log).
    if (progressed || message.issuedUpTo > this.issuedUpTo) this.catchUp = null
    if (progressed) this.maybeCatchUp(true, message.from)
  }

  // ------------------------------------------ log clearing (seed 001, ours)

  /**
   * Every snapshotEvery applied commands, or sooner once the commands since
   * the last snapshot outweigh its state (snapshotCommandsMin,
   * snapshotLogCharsMin), snapshot MS and the ticket table at the issued prefix; then advance the start of the log to what the leader
   * says every live member has applied (seed 001 claims 1–4), never beyond
   * the snapshot.
   */
  private maybeCompact(): void {
    const since = this.issuedUpTo - (this.snapshot?.anchor.instance ?? 0)
    const logHeavy = since >= Math.min(snapshotCommandsMin, this.snapshotEvery) && this.logCharsSinceSnapshot >= Math.max(this.snapshotStateChars, snapshotLogCharsMin)
    if (since >= this.snapshotEvery || logHeavy) this.takeSnapshot()
    const clearTo = Math.min(this.clearHint, this.snapshot?.anchor.instance ?? 0)
    if (clearTo > this.log.start) {
      this.log.clearBefore(clearTo)
      this.record({ kind: 'clear', before: clearTo })
      this.count('log.cleared')
    }
  }

  private takeSnapshot(): void {
    const anchor = this.log.get(this.issuedUpTo)
    assert(anchor !== undefined, 'no issued entry at the issued prefix')
    this.snapshot = { anchor, state: this.machine.snapshot(), sessions: this.sessions.toData(), members: [...this.quorum.members] }
    this.noteSnapshotSize(this.snapshot)
    this.snapshotBody = null
    this.record({ kind: 'snapshot', snapshot: this.snapshot })
    this.count('snapshots')
  }

  private noteSnapshotSize(snapshot: Snapshot): void {
    this.snapshotStateChars = JSON.stringify(snapshot.state).length
    this.logCharsSinceSnapshot = 0
  }

  /**
   * Replace MS, the ticket table and the log below the snapshot's instance
   * with the snapshot (a restart, or a laggard's catch-up). LS is gone, so a
   * leader or candidate steps down; local calls the snapshot answers are
   * answered.
   */
  private installSnapshot(snapshot: Snapshot): void {
    const s = snapshot.anchor.instance
    assert(s > this.issuedUpTo, 'installing a snapshot that is not ahead')
    if (this.role.kind !== 'follower') this.becomeFollower()
    this.machine.restore(snapshot.state)
    this.sessions.load(snapshot.sessions)
    this.quorum = new QuorumSystem(snapshot.members)
    this.reconfigured = true
    this.log.resetTo(snapshot.anchor)
    this.noteBallot(snapshot.anchor.lockBallot)
    for (const map of [this.votes, this.tallies, this.proposals]) for (const m of [...map.keys()]) if (m <= s) map.delete(m)
    this.issuedUpTo = s
    this.snapshot = snapshot
    this.noteSnapshotSize(snapshot)
    this.snapshotBody = null
    // What was applied before is subsumed by the snapshot's state.
    this.readyIssued = []
    this.readyInstalled = { instance: s, state: snapshot.state }
    this.count('snapshots.installed')
    this.refreshing = null
    for (const pending of this.pendingCalls.values()) {
      const seen = this.sessions.lookup(pending.call.ticket)
      if (seen.kind === 'done') this.reply(pending.call.ticket, seen.outcome, seen.instance)
    }
    this.applyContiguous()
  }

  /** Up to snapshotWindowChunks chunks from `offset` on: one request round
   *  trip per window, not per chunk (the receiver asks for the next window
   *  when this one has arrived). */
  private sendSnapshotWindow(to: ReplicaId, offset: number): void {
    const snapshot = this.snapshot
    if (snapshot === null) return
    const body = (this.snapshotBody ??= JSON.stringify({ state: snapshot.state, sessions: snapshot.sessions, members: snapshot.members }))
    if (body.length > snapshotCharsMax) return this.count('snapshots.tooLarge')
    for (let i = 0, at = offset; i < snapshotWindowChunks && at < body.length; i++, at += this.snapshotChunkChars) {
      const data = body.slice(at, at + this.snapshotChunkChars)
      this.send({ type: 'SnapshotChunk', from: this.id, to, anchor: snapshot.anchor, offset: at, total: body.length, data }, 0)
    }
  }

  private onSnapshotRequest(message: MessageOf<'SnapshotRequest'>): void {
    // "Your current state" (a replica out of sync refreshes from it): a
    // snapshot of MS now, not the latest one, which may predate what the
    // majority agreed on.
    if (message.instance === 0 && message.offset === 0 && this.issuedUpTo > (this.snapshot?.anchor.instance ?? 0)) this.takeSnapshot()
    const at = this.snapshot?.anchor.instance
    // A transfer of an older snapshot starts over with the current one.
    this.sendSnapshotWindow(message.from, message.instance === at ? message.offset : 0)
  }

  /** Chunks are taken in order, a window at a time; the last one installs the snapshot. */
  private onSnapshotChunk(message: MessageOf<'SnapshotChunk'>): StepResult {
    const { anchor, offset, total, data } = message
    if (anchor.instance <= this.issuedUpTo) {
      this.count('stale.SnapshotChunk')
      return { ok: true }
    }
    let t = this.transfer
    if (offset === 0 && (t === null || t.from !== message.from || t.anchor.instance !== anchor.instance)) {
      t = this.transfer = { from: message.from, anchor, total, parts: [], received: 0, lastTick: this.tickCount, startTick: this.tickCount, windowChunks: 0, ahead: new Map() }
      this.count('snapshots.transfersStarted')
    }
    if (t === null || t.from !== message.from || t.anchor.instance !== anchor.instance || t.total !== total || offset < t.received) {
      this.count('stale.SnapshotChunk')
      return { ok: true }
    }
    if (data.length === 0 || offset + data.length > total) {
      this.transfer = null
      return this.drop('bad-snapshot')
    }
    if (offset > t.received) {
      // Ahead of its turn (the chunks of a window may arrive reordered): kept
      // until the ones before it are in (simulator seed 20480: stop-and-wait
      // on each reordering made a transfer slower than the room).
      if (t.ahead.size < snapshotWindowChunks) t.ahead.set(offset, data)
      return { ok: true }
    }
    for (let next: string | undefined = data; next !== undefined; next = t.ahead.get(t.received)) {
      t.ahead.delete(t.received)
      t.parts.push(next)
      t.received += next.length
      t.windowChunks++
    }
    for (const at of t.ahead.keys()) if (at < t.received) t.ahead.delete(at)
    t.lastTick = this.tickCount
    if (t.received < t.total) {
      if (t.windowChunks >= snapshotWindowChunks) this.requestSnapshotWindow(t)
      return { ok: true }
    }
    this.transfer = null
    const snapshot = this.parseSnapshot(t.anchor, t.parts.join(''))
    if (snapshot === null) return this.drop('bad-snapshot')
    const conflict = this.conflictWith(anchor.instance, anchor.command)
    if (conflict !== null) {
      this.count('dropped.conflict')
      this.lastConflict = conflict
      return { ok: true }
    }
    this.count('snapshots.received')
    this.installSnapshot(snapshot)
    this.record({ kind: 'snapshot', snapshot })
    this.record({ kind: 'clear', before: anchor.instance })
    this.gap = null
    this.catchUp = null
    this.tryIssue(this.issuedUpTo + 1)
    this.maybeCatchUp(true, message.from)
    return { ok: true }
  }

  private parseSnapshot(anchor: IssuedEntry, body: string): Snapshot | null {
    let raw: unknown
    try {
      raw = JSON.parse(body)
    } catch {
      return null
    }
    const parsed = snapshotBodySchema.safeParse(raw)
    if (!parsed.success || this.machine.validateSnapshot(parsed.data.state) !== null) return null
    return { anchor, state: parsed.data.state, sessions: parsed.data.sessions, members: parsed.data.members }
  }

  /** A stalled transfer is asked again where it stopped, then abandoned. */
  private continueTransfer(): void {
    const t = this.transfer!
    const idle = this.tickCount - t.lastTick
    if (idle >= 10 * snapshotRetryTicks) {
      this.count('snapshots.abandoned')
      this.transfer = null
    } else if (idle >= snapshotRetryTicks && idle % snapshotRetryTicks === 0) {
      this.requestSnapshotWindow(t)
    }
  }

  private requestSnapshotWindow(t: NonNullable<Replica['transfer']>): void {
    this.count('snapshots.windowsRequested')
    t.windowChunks = 0
    this.send({ type: 'SnapshotRequest', from: this.id, to: t.from, instance: t.anchor.instance, offset: t.received }, 0)
  }

  /** The leader's clearUpTo: the least issued prefix among members heard
   *  within clearSilentTicks (seed 001 asks all; ours skips the silent until
   *  membership removes them, and they get the snapshot when they return). */
  private clearUpTo(leader: LeaderState): Instance {
    let upTo = this.issuedUpTo
    for (const member of this.quorum.members) {
      if (member === this.id) continue
      if (this.silentFor(leader, member) > this.clearSilentTicks) continue
      upTo = Math.min(upTo, leader.ackedIssued.get(member) ?? 0)
    }
    return upTo
  }

  // ------------------------------------- out-of-sync detection (seed 000, ours)

  /** Digest MS at the issued prefix; a leader starts a tally for it. */
  private checkpoint(): void {
    const m = this.issuedUpTo
    this.digests.set(m, this.machine.digest())
    this.lastCheckpointTick = this.tickCount
    for (const old of this.digests.keys()) if (this.digests.size > checkpointsKept) this.digests.delete(old)
    if (this.role.kind === 'leader') {
      const reports = this.role.reports
      reports.set(m, new Map())
      for (const old of reports.keys()) if (reports.size > checkpointsKept) reports.delete(old)
    }
  }

  private latestCheckpoint(): Instance {
    let latest = 0
    for (const m of this.digests.keys()) if (m > latest) latest = m
    return latest
  }

  /** Seed 000 claims 9–10: compare with the leader's result, report ours. */
  private reportDigest(leader: ReplicaId, ballot: Ballot, m: Instance, leaderDigest: string): void {
    if (m <= this.reportedCheckpoint && this.reportedTo !== null && ballotEquals(ballot, this.reportedTo)) return
    // A checkpoint the leader made on a quiet room lies at our prefix, not at a multiple.
    if (!this.digests.has(m) && m === this.issuedUpTo) this.checkpoint()
    const mine = this.digests.get(m)
    if (mine === undefined) return
    this.reportedCheckpoint = m
    this.reportedTo = ballot
    if (mine !== leaderDigest) this.count('digest.mismatch')
    this.send({ type: 'DigestReport', from: this.id, to: leader, instance: m, digest: mine }, 0)
  }

  /**
   * Seed 000 claims 11–14, ours: digests are grouped. A majority with the
   * leader's: every replica that differs is out of sync and refreshes. A
   * majority with another: the leader is the odd one out: it steps down and
   * refreshes. No majority at all once everyone reported: reported loudly
   * (the app's apply is not deterministic; refreshing cannot help).
   */
  private onDigestReport(message: MessageOf<'DigestReport'>): void {
    const leader = this.role
    if (leader.kind !== 'leader') return
    const m = message.instance
    const mine = this.digests.get(m)
    if (mine === undefined) return
    let reports = leader.reports.get(m)
    if (reports === undefined) {
      // A checkpoint made before this replica led.
      leader.reports.set(m, (reports = new Map()))
      for (const old of leader.reports.keys()) if (leader.reports.size > checkpointsKept) leader.reports.delete(old)
    }
    reports.set(message.from, message.digest)
    const groups = new Map<string, ReplicaId[]>([[mine, [this.id]]])
    for (const [replica, digest] of reports) {
      const group = groups.get(digest)
      if (group === undefined) groups.set(digest, [replica])
      else group.push(replica)
    }
    const digests = Object.fromEntries([[this.id, mine], ...reports])
    const command = this.log.get(m)?.command.id ?? null
    if (this.quorum.isQuorum(groups.get(mine)!)) {
      for (const [replica, digest] of reports) {
        const key = `${m}|${replica}`
        if (digest === mine || leader.resynced.has(key)) continue
        leader.resynced.add(key)
        this.event({ type: 'out-of-sync', kind: 'resync-sent', instance: m, digests, command })
        this.send({ type: 'Resync', from: this.id, to: replica, ballot: leader.ballot, instance: m, digest: mine }, 0)
      }
      return
    }
    for (const [digest, group] of groups) {
      if (digest === mine || !this.quorum.isQuorum(group)) continue
      this.event({ type: 'out-of-sync', kind: 'leader-out-of-sync', instance: m, digests, command })
      const healthy = [...reports].find(([, d]) => d === digest)![0]
      return this.refresh(healthy)
    }
    const memberReports = [...reports.keys()].filter((replica) => this.quorum.has(replica)).length
    if (memberReports === this.quorum.members.length - 1 && !leader.resynced.has(`${m}|*`)) {
      leader.resynced.add(`${m}|*`)
      this.event({ type: 'out-of-sync', kind: 'diverged', instance: m, digests, command })
    }
  }

  private onResync(message: MessageOf<'Resync'>): void {
    // Only from the leader we follow, and only if we still disagree at m.
    if (this.leaderBallot === null || !ballotEquals(message.ballot, this.leaderBallot) || message.from !== this.leaderHint) return
    const mine = this.digests.get(message.instance)
    if (mine === undefined || mine === message.digest) return
    this.event({ type: 'out-of-sync', kind: 'refreshing', instance: message.instance, digests: { [this.id]: mine, [message.from]: message.digest }, command: this.log.get(message.instance)?.command.id ?? null })
    this.refresh(message.from)
  }

  /**
   * Seed 000 claim 3 ("refresh the node"): drop MS, the ticket table, the
   * issued log and the snapshot, and fetch them again from `source` (a
   * snapshot, or the log from the start). Promises and votes are kept: they
   * are what Paxos needs of this replica, and they do not depend on MS.
   */
  private refresh(source: ReplicaId): void {
    if (this.role.kind !== 'follower') this.becomeFollower()
    this.machine.restore(this.initialState)
    this.sessions.load([])
    this.quorum = this.genesis
    this.log = new IssuedLog()
    this.issuedHint = this.knownIssued()
    this.issuedUpTo = 0
    this.clearHint = 0
    this.snapshot = null
    this.snapshotBody = null
    this.transfer = null
    this.digests.clear()
    this.reportedCheckpoint = 0
    this.readyIssued = []
    this.readyInstalled = { instance: 0, state: this.initialState }
    this.record({ kind: 'discard' })
    this.gap = null
    this.catchUp = null
    this.refreshing = { from: source, sentTick: -Infinity }
    this.askForState()
  }

  /** Ask the refresh source for its current state; again after a while, then ask the leader. */
  private askForState(): void {
    const r = this.refreshing!
    if (this.tickCount - r.sentTick < catchUpRetryTicks) return
    if (r.sentTick !== -Infinity && this.leaderHint !== null && this.leaderHint !== this.id) r.from = this.leaderHint
    r.sentTick = this.tickCount
    if (r.from !== this.id) this.send({ type: 'SnapshotRequest', from: this.id, to: r.from, instance: 0, offset: 0 }, 0)
  }

  private event(event: ReplicaEvent): void {
    this.count(`outOfSync.${event.kind}`)
    this.lastOutOfSync = event
    this.readyEvents.push(event)
  }

  // --------------------------------------------- leader election ([0057] 1–3)

  /** [0057] step 1: a ballot above everything seen, persisted before NextBallot leaves. */
  private campaign(requestedRound?: number): void {
    const queue = this.role.kind === 'follower' ? [] : this.role.queue
    const lastHeard = this.role.kind === 'follower' ? null : this.role.lastHeard
    const round = Math.max(this.lastTried.round, this.highestBallotSeen.round, (requestedRound ?? 0) - 1) + 1
    const ballot: Ballot = { round, replica: this.id }
    this.lastTried = ballot
    this.noteBallot(ballot)
    this.record({ kind: 'lastTried', ballot })
    const n = this.issuedUpTo + 1
    this.role = { kind: 'candidate', ballot, n, infos: new Map(), queue, rejectedDirectly: new Set(), lastHeard }
    this.electionElapsed = 0
    this.leaderQuiet = false
    this.electionTimeout = this.randomElectionTimeout()
    this.count('campaigns')
    for (const to of this.quorum.members) this.send({ type: 'NextBallot', from: this.id, to, ballot, n }, this.recordSeq)
  }

  /** [0057] step 3: with BallotInfo from a majority, become leader. */
  private onBallotInfo(message: MessageOf<'BallotInfo'>): void {
    // Knowledge of issued commands is useful whatever the ballot.
    for (const entry of message.issued) this.learnFromPeer(entry)
    if (message.truncated) this.issuedHint = Math.max(this.issuedHint, (message.issued.at(-1)?.instance ?? 0) + 1)
    const role = this.role
    if (role.kind === 'leader' && ballotEquals(message.ballot, role.ballot)) {
      // A late responder: it has promised our ballot and may now vote.
      role.responders.add(message.from)
      this.sendMissing(message)
      return
    }
    if (role.kind !== 'candidate' || !ballotEquals(message.ballot, role.ballot) || message.n !== role.n) {
      this.count('stale.BallotInfo')
      return
    }
    if (message.truncated) {
      // The sender knows more issued commands than one message carries; catch
      // up first, then try again with a later n (next election timeout).
      this.maybeCatchUp(true, message.from)
      return
    }
    role.infos.set(message.from, message)
    if (this.quorum.isQuorum(role.infos.keys())) this.becomeLeader(role)
  }

  private becomeLeader(candidate: CandidateState): void {
    const ballot = candidate.ballot
    // "The leader also sends the other devices any issued commands it knows but they do not."
    for (const info of candidate.infos.values()) this.sendMissing(info)
    // LS := MS ([0057] step 3; an overlay over MS, [0071]).
    this.machine.leaderReset()
    const votesAt = new Map<Instance, Vote[]>()
    for (const info of candidate.infos.values()) {
      for (const vote of info.votes) {
        const list = votesAt.get(vote.instance)
        if (list === undefined) votesAt.set(vote.instance, [vote])
        else list.push(vote)
      }
    }
    const from = this.issuedUpTo + 1
    const { history, nextCommandNo, lastCommandId } = initHistProc({
      from,
      precedentOfFrom: this.issuedAt(from - 1)!.command.id,
      issued: (m) => this.log.get(m)?.command,
      votes: (m) => votesAt.get(m) ?? [],
    })
    const h = new Map(history.map((p) => [p.instance, p.command]))
    // Seed 004: a ballot leads only the members it began under. Commands
    // issued past a reconfiguration this replica has not applied yet belong
    // to other members (who need not have answered this ballot): catch up
    // first, then try again.
    for (let m = from; m < nextCommandNo; m++) {
      if ((this.log.get(m)?.command ?? h.get(m))?.members === undefined) continue
      if (m === nextCommandNo - 1 && this.log.max < nextCommandNo) break
      this.count('stale.members')
      this.becomeFollower()
      this.maybeCatchUp(true)
      return
    }
    // Every known issued command lies below nextCommandNo: the chain under an
    // issued command is firm, so the quorum reported a vote at each gap.
    assert(this.log.max < nextCommandNo, `InitHistProc stopped at ${nextCommandNo} below issued ${this.log.max}`)
    const quorum = this.chooseQuorum(candidate.infos)
    const leader: LeaderState = {
      kind: 'leader',
      ballot,
      quorum,
      responders: new Set(candidate.infos.keys()),
      nextCommandNo,
      lastCommandId,
      inflight: new Map(),
      queue: candidate.queue,
      rejectedDirectly: candidate.rejectedDirectly,
      pendingTickets: new Map(),
      heartbeatElapsed: heartbeatTicks,
      retransmitElapsed: 0,
      quorumCheckElapsed: 0,
      lastHeard: candidate.lastHeard ?? this.silenceHeardBefore(candidate),
      proposedTick: new Map(),
      beatTick: new Map(),
      busyTick: this.tickCount,
      idleSince: null,
      idleBeatTick: -Infinity,
      membershipElapsed: heartbeatTicks - 1,
      heartbeatRound: 0,
      ackedRound: new Map(),
      heldRejections: [],
      roundWanted: false,
      ackedIssued: new Map(),
      electedTick: this.tickCount,
      reports: new Map(),
      resynced: new Set(),
      reconfigAt: null,
      joiners: new Map(),
      leaving: new Set(this.leaving ? [this.id] : []),
    }
    this.role = leader
    this.setLeaderHint(this.id, ballot)
    this.count('elected')
    // Apply H (and issued commands beyond a gap) to LS in instance order.
    // Their tickets are claimed in LS, like those of MS: a call already in LS
    // is never executed again (at most one command per ticket in the chain).
    for (let m = from; m < nextCommandNo; m++) {
      const command = this.log.get(m)?.command ?? h.get(m)
      assert(command !== undefined, `no command for LS at ${m}`)
      if (command.members !== undefined) {
        // Seed 004: H ends at a reconfiguration (nobody proposes past one
        // before it is applied); it is re-proposed, then a new ballot starts.
        assert(m === nextCommandNo - 1, `a command after the reconfiguration at ${m}`)
        leader.reconfigAt = m
        continue
      }
      if (command.rejected === undefined) this.machine.leaderApply(m, command.payload)
      leader.pendingTickets.set(ticketKey(command.ticket), m)
    }
    // 3': re-propose every H entry in the current ballot.
    for (const { instance, command } of history) this.propose(leader, instance, command)
    // The log starts with the members that started it, so that a replica
    // that replays it (a joiner, or the founder after a restart) learns them.
    if (nextCommandNo === 1 && this.logGenesis) this.proposeReconfiguration(leader, [...this.quorum.members])
    this.sendHeartbeats(leader)
    // 3'': new calls take instances after H.
    this.processQueue(leader)
  }

  /** Q: this replica first, then the earliest responders, until they form a quorum. */
  private chooseQuorum(infos: Map<ReplicaId, unknown>): ReplicaId[] {
    const order = [...infos.keys()]
    const quorum = order.includes(this.id) ? [this.id] : []
    for (const id of order) if (!this.quorum.isQuorum(quorum) && id !== this.id) quorum.push(id)
    return quorum
  }

  private sendMissing(info: MessageOf<'BallotInfo'>): void {
    if (info.from === this.id) return
    const entries: IssuedEntry[] = []
    const budget = new CharBudget()
    for (const [start, end] of info.missing) {
      // Only instances this log holds: a range reaching 2^53 (a mutated or
      // hostile BallotInfo, found by `npm run fuzz`) would otherwise spin here.
      for (let m = start, last = Math.min(end, this.log.max); m <= last && entries.length < catchUpEntriesMax; m++) {
        const entry = this.log.get(m)
        if (entry === undefined) continue
        if (budget.full(entry) && entries.length > 0) break
        entries.push(entry)
      }
    }
    if (entries.length > 0) this.sendSuccess(info.from, entries, true)
  }

  private onMyNextBal(message: MessageOf<'MyNextBal'>): void {
    this.noteBallot(message.nextBal)
    if (!ballotLess(this.lastTried, message.nextBal)) return
    const role = this.role
    if (role.kind === 'follower' || !ballotEquals(role.ballot, message.ballot)) return
    // [0057] step 3: try again above b' — after a fresh random timeout rather
    // than at once, so that two candidates do not keep pre-empting each other.
    this.count(role.kind === 'leader' ? 'stepDown.preempted' : 'retry.preempted')
    this.becomeFollower()
  }

  // ------------------------------------------------------- leader ([0057] 3', 3'', 5)

  private propose(leader: LeaderState, instance: Instance, command: Command): void {
    leader.inflight.set(instance, { command, sentTick: this.tickCount })
    this.noteProposal(instance, leader.ballot, command)
    for (const to of leader.quorum) this.sendBeginBallot(to, leader.ballot, { instance, command })
  }

  /** Bounded pipeline (claim 5): a new proposal at m needs every instance ≤ m − α issued.
   *  Re-proposals of H are not counted: they are already voted on somewhere,
   *  there are at most as many as the votes a majority reported, and holding
   *  any back could only delay the instances every later one depends on. */
  private pipelineHasRoom(leader: LeaderState): boolean {
    return leader.reconfigAt === null && leader.nextCommandNo <= this.issuedUpTo + this.pipelineDepth
  }

  private processQueue(leader: LeaderState): void {
    while (this.role === leader && leader.queue.length > 0 && this.pipelineHasRoom(leader)) {
      this.executeCall(leader, leader.queue.shift()!)
    }
  }

  /** [0057] step 3'': execute f on LS, propose its command at nextCommandNo. */
  private executeCall(leader: LeaderState, call: Call): void {
    const key = ticketKey(call.ticket)
    const seen = this.sessions.lookup(call.ticket)
    if (seen.kind === 'done') {
      // Already issued: the origin answers once it applies the command.
      if (call.origin === this.id) this.reply(call.ticket, seen.outcome, seen.instance)
      return
    }
    if (seen.kind === 'stale') return this.rejectCall(call, 'stale-ticket', 'the caller acknowledged this ticket already')
    if (leader.pendingTickets.has(key)) return // proposed already, under this ticket
    if (call.attempt === 1 && leader.rejectedDirectly.has(key)) return // a copy of a rejected attempt
    if (!this.sessions.hasRoom(call.ticket)) {
      return this.rejectCall(call, 'too-many-outstanding', 'too many unacknowledged calls from this client')
    }
    const m = leader.nextCommandNo
    const outcome = this.machine.execute(m, call.name, call.args, { tick: this.tickCount, random: this.random })
    // A first attempt's rejection sends nothing to anyone but its caller
    // ([0078]). A re-sent call's rejection goes through the log: an earlier
    // attempt may still be voted somewhere, and the caller must not hear
    // "rejected" for a call that later takes effect. The logged rejection
    // claims the ticket; the dependency chain lets at most one command per
    // ticket be issued (a leader never executes a ticket its LS has claimed).
    if (!outcome.ok && call.attempt === 1 && leader.rejectedDirectly.size < rejectedDirectlyMax) {
      leader.rejectedDirectly.add(key)
      if (outcome.code === 'invalid-args' || outcome.code === 'unknown-function') return this.rejectCall(call, outcome.code, outcome.reason)
      // A rejection reports what LS held, like a read: a deposed leader's LS
      // may be stale, and LS may hold commands that are never issued. So it
      // waits until those are issued and a majority has confirmed this
      // ballot after the decision (Raft's ReadIndex, for rejections).
      leader.heldRejections.push({ call, code: outcome.code, reason: outcome.reason, round: leader.heartbeatRound + 1, frontier: m - 1 })
      leader.roundWanted = true
      return
    }
    const command: Command = {
      id: commandIdAt(leader.ballot, m),
      prec: leader.lastCommandId,
      payload: outcome.ok ? outcome.payload : null,
      ticket: call.ticket,
      result: outcome.ok ? outcome.result : null,
      ...(outcome.ok ? {} : { rejected: { code: outcome.code, reason: outcome.reason } }),
    }
    leader.lastCommandId = command.id
    leader.nextCommandNo = m + 1
    leader.pendingTickets.set(key, m)
    this.propose(leader, m, command)
  }

  private leaderLearned(leader: LeaderState, entry: IssuedEntry, voters: readonly ReplicaId[] | undefined): void {
    if (entry.instance >= leader.nextCommandNo) {
      // Issued beyond our LS by a later leader: our ballot is dead.
      this.count('stepDown.overtaken')
      this.becomeFollower()
      return
    }
    const inflight = leader.inflight.get(entry.instance)
    if (inflight === undefined) return
    leader.inflight.delete(entry.instance)
    if (inflight.command.id !== entry.command.id) {
      // Another leader issued something else here: our LS is wrong, and our
      // ballot is dead (acceptors promised a higher one).
      this.count('stepDown.overtaken')
      this.becomeFollower()
      return
    }
    // Step 5: Success to every member that cannot know the outcome yet. A
    // voter of Q that counts the leader's vote and its own as a majority
    // decides from them (onBeginBallot sends it the leader's Voted); a voter
    // that holds the command gets Success without it; everyone else with it.
    for (const to of this.quorum.members) {
      if (to === this.id) continue
      const votedHere = voters?.includes(to) ?? false
      if (!this.votedToAll && votedHere && voters!.includes(this.id) && leader.quorum.includes(to) && this.quorum.isQuorum([this.id, to])) continue
      this.sendSuccess(to, [entry], !votedHere)
    }
    // Learners (joiners beyond votersMax, or not yet added) are fed too.
    for (const to of this.learners(leader)) this.sendSuccess(to, [entry], true)
  }

  /** Joiners outside the membership that asked recently: the leader feeds them. */
  private *learners(leader: LeaderState): Iterable<ReplicaId> {
    for (const [id, join] of leader.joiners) if (!this.quorum.has(id) && this.tickCount - join.tick <= joinFreshTicks) yield id
  }

  private rejectCall(call: Call, code: RejectCode, reason: string): void {
    this.count(`rejected.${code}`)
    if (call.origin === this.id) {
      const pending = this.pendingCalls.get(ticketKey(call.ticket))
      if (pending === undefined || pending.call.attempt !== call.attempt) return
      // As for a remote origin (onCallRejected): a full queue is retried later.
      if (code === 'overloaded' && call.attempt > 1) return
      this.reply(call.ticket, { ok: false, code, reason }, -1)
      return
    }
    const key = `CallRejected|${call.origin}`
    const message = this.coalesce(key, 0, callsPerMessageMax, (): MessageOf<'CallRejected'> => ({ type: 'CallRejected', from: this.id, to: call.origin, rejections: [] }))
    message.rejections.push({ ticket: call.ticket, attempt: call.attempt, code, reason })
    this.outbox.added(key)
  }

  /** Answer a call made at this replica (once). */
  private reply(ticket: Ticket, outcome: CallOutcome, instance: Instance): void {
    const key = ticketKey(ticket)
    const pending = this.pendingCalls.get(key)
    if (pending === undefined) return
    this.pendingCalls.delete(key)
    this.readyReplies.push(
      outcome.ok
        ? { ticket: pending.call.ticket, ok: true, result: outcome.result, instance }
        : { ticket: pending.call.ticket, ok: false, code: outcome.code as RejectCode, reason: outcome.reason },
    )
  }

  // ------------------------------------------------------------- calls

  private onLocalCall(raw: unknown): StepResult {
    const local = parseLocalCall(raw)
    if (local === null) return this.drop('bad-call')
    // A client that may have sent this call before (through another replica)
    // says so: its rejections must then go through the log (executeCall).
    const call: Call = { ticket: local.ticket, name: local.name, args: local.args, origin: this.id, attempt: local.resubmit ? 2 : 1 }
    const key = ticketKey(call.ticket)
    if (this.pendingCalls.has(key)) return { ok: true } // the same call again: one answer
    let argsChars: number
    try {
      argsChars = JSON.stringify(call.args)?.length ?? 0
    } catch {
      // A cycle or a BigInt: a host that let it through gets an answer, not a thrown step.
      this.readyReplies.push({ ticket: call.ticket, ok: false, code: 'invalid-args', reason: 'the arguments are not JSON' })
      return { ok: true }
    }
    if (argsChars > callArgsCharsMax) {
      this.readyReplies.push({ ticket: call.ticket, ok: false, code: 'invalid-args', reason: `the arguments are ${argsChars} characters of JSON; at most ${callArgsCharsMax}` })
      return { ok: true }
    }
    const seen = this.sessions.lookup(call.ticket)
    if (seen.kind === 'done') {
      this.pendingCalls.set(key, { call, argsChars, sentTick: this.tickCount })
      this.reply(call.ticket, seen.outcome, seen.instance)
      return { ok: true }
    }
    if (seen.kind === 'stale' || this.pendingCalls.size >= pendingCallsMax) {
      const code: RejectCode = seen.kind === 'stale' ? 'stale-ticket' : 'overloaded'
      this.readyReplies.push({ ticket: call.ticket, ok: false, code, reason: `call refused: ${code}` })
      return { ok: true }
    }
    const pending: PendingCall = { call, argsChars, sentTick: this.tickCount }
    this.pendingCalls.set(key, pending)
    this.dispatchCall(pending)
    return { ok: true }
  }

  /** ExecuteFunction to the leader ([0055]); held here while none is known.
   *  Every send after the first is a new attempt. */
  private dispatchCall(pending: PendingCall): void {
    if (pending.sent) pending.call = { ...pending.call, attempt: pending.call.attempt + 1 }
    pending.sent = true
    pending.sentTick = this.tickCount
    const call = pending.call
    if (this.role.kind !== 'follower') return this.enqueueAtLeader(call)
    const leader = this.leaderHint
    const ballot = this.leaderBallot
    if (leader === null || leader === this.id || ballot === null) return
    // A call to a leader that said the room was idle: it answers at once if
    // alive, so the short election timeout runs again from now.
    if (this.leaderQuiet) {
      this.leaderQuiet = false
      this.electionElapsed = 0
    }
    const key = `ExecuteFunction|${leader}|${ballot.round}`
    const message = this.coalesce(key, 0, callsPerMessageMax, (): MessageOf<'ExecuteFunction'> => ({ type: 'ExecuteFunction', from: this.id, to: leader, ballot, calls: [] }))
    message.calls.push(call)
    this.outbox.added(key, pending.argsChars)
  }

  private onExecuteFunction(message: MessageOf<'ExecuteFunction'>): void {
    if (this.role.kind === 'follower' || !ballotEquals(this.role.ballot, message.ballot)) {
      this.count('dropped.call-not-leader')
      return
    }
    for (const call of message.calls) {
      if (call.origin !== message.from) this.count('dropped.call-origin')
      else this.enqueueAtLeader(call)
    }
  }

  /** The leader may postpone calls ([0070]): they wait for pipeline room or phase 1. */
  private enqueueAtLeader(call: Call): void {
    const role = this.role
    assert(role.kind !== 'follower', 'only a leader or candidate queues calls')
    if (role.queue.length >= leaderQueueMax) return this.rejectCall(call, 'overloaded', 'the leader queue is full')
    role.queue.push(call)
    if (role.kind === 'leader') this.processQueue(role)
  }

  private onCallRejected(message: MessageOf<'CallRejected'>): void {
    for (const { ticket, attempt, code, reason } of message.rejections) {
      const pending = this.pendingCalls.get(ticketKey(ticket))
      // Only the latest attempt's answer is final: an earlier one may have
      // been overtaken by a re-send that the leader executes.
      if (pending === undefined || pending.call.attempt !== attempt) continue
      // A full leader queue is not the call's fault: try again later.
      if (code === 'overloaded') continue
      this.reply(ticket, { ok: false, code, reason }, -1)
    }
  }

  // ------------------------------------------------------------- time

  private onTick(): void {
    this.tickCount++
    const role = this.role
    if (role.kind === 'leader') this.leaderTick(role)
    else if (++this.electionElapsed >= (this.leaderQuiet ? electionIdleFactor * this.electionTimeout : this.electionTimeout)) {
      // A replica being refreshed does not lead: it could not vote for its own proposals.
      if (this.quorum.has(this.id) && this.refreshing === null) this.campaign()
      else this.electionElapsed = 0
    }
    this.askMembership()
    if (++this.callRetryElapsed >= callRetryTicks) {
      this.callRetryElapsed = 0
      this.retryCalls()
    }
    this.maybeCatchUp()
    this.maybeCompact()
  }

  private leaderTick(leader: LeaderState): void {
    const slow = leader.idleSince !== null && this.tickCount - leader.idleSince >= heartbeatIdleAnnounceTicks && this.isIdle(leader)
    if (++leader.heartbeatElapsed >= (slow ? this.idleBeatTicks : heartbeatTicks)) this.sendHeartbeats(leader)
    if (++leader.membershipElapsed >= heartbeatTicks) {
      leader.membershipElapsed = 0
      this.manageMembership(leader)
    }
    if (++leader.retransmitElapsed >= retransmitTicks) {
      leader.retransmitElapsed = 0
      this.retransmit(leader)
    }
    // Check quorum: a leader cut off from a majority steps down, so that its
    // callers are sent to a leader that can make progress.
    if (++leader.quorumCheckElapsed >= electionTicksMax) {
      leader.quorumCheckElapsed = 0
      // Idle heartbeats are acked as seldom as they go out: allow as long as
      // the followers wait for them.
      const window = this.tickCount - leader.idleBeatTick <= electionIdleFactor * electionTicksMax ? electionIdleFactor * electionTicksMax : electionTicksMax
      const heard = [this.id]
      for (const [peer, tick] of leader.lastHeard) if (peer !== this.id && this.tickCount - tick <= window) heard.push(peer)
      if (!this.quorum.isQuorum(heard)) {
        this.count('stepDown.noQuorum')
        this.becomeFollower()
      }
    }
  }

  private sendHeartbeats(leader: LeaderState): void {
    leader.heartbeatElapsed = 0
    // A held rejection waits for a round acked by a majority: then every member gets this one.
    const everyone = leader.roundWanted
    leader.roundWanted = false
    const round = ++leader.heartbeatRound
    const clearUpTo = this.clearUpTo(leader)
    this.clearHint = Math.max(this.clearHint, clearUpTo)
    // A quiet room is checked too: with nothing in flight, checkpoint the prefix now and then.
    const latest = this.latestCheckpoint()
    if (leader.inflight.size === 0 && this.issuedUpTo > latest && this.tickCount - this.lastCheckpointTick >= digestIdleTicks) this.checkpoint()
    const at = this.latestCheckpoint()
    const checkpoint = at === 0 ? null : { instance: at, digest: this.digests.get(at)! }
    const idle = this.isIdle(leader)
    if (!idle) leader.idleSince = null
    else {
      leader.idleSince ??= this.tickCount
      leader.idleBeatTick = this.tickCount
    }
    // Seed 004 M5b (ours): who has been silent a while, so that a successor goes on counting.
    const silent: { id: ReplicaId; ticks: number }[] = []
    for (const member of this.quorum.members) {
      const ticks = member === this.id ? 0 : this.silentFor(leader, member)
      if (ticks >= this.silentReportTicks) silent.push({ id: member, ticks })
    }
    const beat = (to: ReplicaId) => {
      // While commands flow to a member, they reset its election timer as a
      // heartbeat does ([0054]: any message from the leader shows it alive);
      // a heartbeat per 2 ticks beside them was a quarter of a busy room's bytes.
      const lastBeat = leader.beatTick.get(to) ?? -Infinity
      const proposedSince = (leader.proposedTick.get(to) ?? -Infinity) > lastBeat
      if (!everyone && proposedSince && this.tickCount - lastBeat < heartbeatTicksBusyMax) return
      leader.beatTick.set(to, this.tickCount)
      this.send({ type: 'Heartbeat', from: this.id, to, ballot: leader.ballot, issuedUpTo: this.issuedUpTo, round, clearUpTo, checkpoint, ...(idle ? { idle: true as const } : {}), ...(silent.length > 0 ? { silent } : {}) }, 0)
    }
    for (const to of this.quorum.members) if (to !== this.id) beat(to)
    // Learners learn the leader from it too (their calls go to it), and its
    // checkpoints (their state is checked like the members'); they do not ack.
    for (const to of this.learners(leader)) beat(to)
    this.releaseRejections(leader)
  }

  /** Nothing to propose, queue, hold, reconfigure or checkpoint, for a while: the room may beat slowly. */
  private isIdle(leader: LeaderState): boolean {
    const checkpointDue = this.issuedUpTo > this.latestCheckpoint() && this.tickCount - this.lastCheckpointTick >= digestIdleTicks
    return this.tickCount - leader.busyTick >= heartbeatIdleAfterTicks && leader.inflight.size === 0 && leader.queue.length === 0 &&
      leader.heldRejections.length === 0 && !leader.roundWanted && leader.reconfigAt === null && leader.joiners.size === 0 && leader.leaving.size === 0 &&
      leader.responders.size === this.quorum.members.length && !checkpointDue
  }

  private onHeartbeatAck(message: MessageOf<'HeartbeatAck'>): void {
    const leader = this.role
    if (leader.kind !== 'leader' || !ballotEquals(message.ballot, leader.ballot)) return
    if (message.round > (leader.ackedRound.get(message.from) ?? 0)) leader.ackedRound.set(message.from, message.round)
    leader.ackedIssued.set(message.from, message.issuedUpTo)
    this.releaseRejections(leader)
  }

  /** The highest round a quorum (this replica included) has acknowledged. */
  private confirmedRound(leader: LeaderState): number {
    const acks: [ReplicaId, number][] = [[this.id, leader.heartbeatRound]]
    for (const [peer, round] of leader.ackedRound) if (peer !== this.id) acks.push([peer, round])
    acks.sort((a, b) => b[1] - a[1])
    let count = 0
    let prince = false
    for (const [peer, round] of acks) {
      count++
      prince ||= peer === this.quorum.crownPrince
      if (this.quorum.isQuorumCount(count, prince)) return round
    }
    return 0
  }

  private releaseRejections(leader: LeaderState): void {
    if (leader.heldRejections.length === 0) return
    const confirmed = this.confirmedRound(leader)
    const held = leader.heldRejections
    leader.heldRejections = []
    for (const r of held) {
      if (r.round <= confirmed && r.frontier <= this.issuedUpTo) this.rejectCall(r.call, r.code, r.reason)
      else leader.heldRejections.push(r)
    }
  }

  /** Unanswered NextBallot and BeginBallot go out again, BeginBallot to every
   *  responder that has not voted (Q is widened: any majority will do). */
  private retransmit(leader: LeaderState): void {
    for (const to of this.quorum.members) {
      if (!leader.responders.has(to)) {
        this.send({ type: 'NextBallot', from: this.id, to, ballot: leader.ballot, n: this.issuedUpTo + 1 }, 0)
      }
    }
    for (const [instance, inflight] of leader.inflight) {
      if (this.tickCount - inflight.sentTick < retransmitTicks) continue
      inflight.sentTick = this.tickCount
      const tally = this.tallies.get(instance)
      const voted = tally !== undefined && ballotEquals(tally.ballot, leader.ballot) ? tally.voters : undefined
      for (const to of leader.responders) {
        if (voted?.includes(to)) continue
        this.sendBeginBallot(to, leader.ballot, { instance, command: inflight.command })
      }
    }
  }

  private retryCalls(): void {
    for (const pending of [...this.pendingCalls.values()]) {
      if (this.tickCount - pending.sentTick < callRetryTicks) continue
      this.dispatchCall(pending)
    }
  }

  private onHeartbeat(message: MessageOf<'Heartbeat'>): void {
    const b = message.ballot
    this.noteBallot(b)
    // A learner (outside the membership) promises nothing to the members'
    // ballots: it follows the leader that feeds it, whatever it promised before.
    const learner = !this.quorum.has(this.id)
    if (!learner && ballotLess(b, this.nextBal)) {
      this.sendMyNextBal(message.from, b)
      return
    }
    if (this.role.kind !== 'follower' && ballotLess(this.role.ballot, b)) this.becomeFollower()
    this.setLeaderHint(message.from, b)
    this.silenceHint = message.silent === undefined ? null : { tick: this.tickCount, silent: message.silent }
    this.electionElapsed = 0
    this.leaderQuiet = message.idle === true
    this.issuedHint = Math.max(this.issuedHint, message.issuedUpTo)
    this.clearHint = Math.max(this.clearHint, message.clearUpTo)
    if (message.checkpoint !== null) this.reportDigest(message.from, b, message.checkpoint.instance, message.checkpoint.digest)
    if (this.quorum.has(this.id)) this.send({ type: 'HeartbeatAck', from: this.id, to: message.from, ballot: b, issuedUpTo: this.issuedUpTo, round: message.round }, 0)
  }

  // ------------------------------------------------ membership (seed 004, ours)

  /**
   * The members changed (a reconfiguration or a snapshot was applied). A
   * ballot belongs to the members it began under: a leader or candidate that
   * is still a member starts a new one, under the new members (its queue goes
   * with it); one that is not steps down.
   */
  private afterReconfiguration(): void {
    this.reconfigured = false
    if (this.role.kind === 'follower') return
    if (this.quorum.has(this.id)) this.campaign()
    else this.becomeFollower()
  }

  /** Outside the membership: ask to join (seed 004 FIG. 4); leaving: ask to be removed (FIG. 6). */
  private askMembership(): void {
    const member = this.quorum.has(this.id)
    // A member that cannot find a leader may have been removed without
    // hearing of it: it asks the room's other peers, like a joiner.
    const lost = member && !this.leaving && this.role.kind === 'candidate'
    // A leaving replica asks even if it does not see itself a member: one
    // restarted from a disk that missed its own addition (issued commands are
    // written lazily) is a member to the leader, which hears from it and so
    // never finds it silent (e2e: an adopted tab's replica kept a shrinking
    // room at five voters).
    if (!this.leaving && member && !lost) return
    if (++this.joinElapsed < joinRetryTicks) return
    this.joinElapsed = 0
    if (this.leaving) {
      // The leader removes itself in manageMembership.
      if (this.role.kind !== 'leader' && this.leaderHint !== null && this.leaderHint !== this.id) this.send({ type: 'LeaveRequest', from: this.id, to: this.leaderHint }, 0)
      return
    }
    // To every member and peer it knows: the leader adds it; the others say where the log is.
    for (const to of new Set(lost ? this.contacts.filter((id) => !this.quorum.has(id)) : [...this.quorum.members, ...this.contacts])) {
      if (to !== this.id) this.send({ type: 'JoinRequest', from: this.id, to, issuedUpTo: this.issuedUpTo, ...(this.learner ? { learner: true } : {}) }, 0)
    }
  }

  private onJoinRequest(message: MessageOf<'JoinRequest'>): void {
    const leader = this.role
    // A joiner further along than this replica (it may know members this one does not).
    this.issuedHint = Math.max(this.issuedHint, message.issuedUpTo)
    // Where the log is: the joiner catches up before it is added (and learns
    // the members, if the ones it asked are not the current ones). A member
    // asks too when it is lost: restarted from a disk whose log ends before
    // the membership that holds it, it knows neither its peers nor a leader
    // (simulator seed 7238 with adoptions).
    if (message.issuedUpTo < this.issuedUpTo) this.send({ type: 'CatchUpReply', from: this.id, to: message.from, entries: [], issuedUpTo: this.issuedUpTo }, 0)
    if (this.quorum.has(message.from)) return
    if (leader.kind === 'leader') leader.joiners.set(message.from, { tick: this.tickCount, issuedUpTo: message.issuedUpTo, learner: message.learner === true })
  }

  private onLeaveRequest(message: MessageOf<'LeaveRequest'>): void {
    if (this.role.kind === 'leader' && this.quorum.has(message.from)) this.role.leaving.add(message.from)
  }

  /**
   * The leader proposes the next membership: members silent for
   * memberSilentTicks (crashed or frozen tabs) and those leaving go, joiners
   * that caught up come, several at once (seed 004 M4, M5c). The change is a
   * command issued by a quorum of the current members: that is seed 004's
   * relative quorum (fewer than half stop; half go on only with the crown
   * prince). Only members heard from recently stay: every reachable
   * prospective member has shown it is there.
   */
  private manageMembership(leader: LeaderState): void {
    if (leader.reconfigAt !== null) return
    // A member nobody has said is silent counts as heard at the election:
    // a new leader waits out the limit before it judges it (it has heard
    // nobody yet). Joins and leaves go at once.
    const next: ReplicaId[] = []
    for (const member of this.quorum.members) {
      if (leader.leaving.has(member)) continue
      if (member === this.id || this.silentFor(leader, member) <= this.memberSilentTicks) next.push(member)
    }
    for (const [id, join] of leader.joiners) {
      if (this.tickCount - join.tick > joinFreshTicks) leader.joiners.delete(id)
      // A learner by choice stays one: fed while it keeps asking, never a voter.
      else if (!join.learner && join.issuedUpTo + joinLagMax >= this.issuedUpTo && next.length < this.votersMax && !next.includes(id)) next.push(id)
    }
    if (next.length === 0) return
    const current = this.quorum.members
    if (next.length === current.length && next.every((id) => current.includes(id))) return
    this.proposeReconfiguration(leader, next)
  }

  /**
   * Seed 004 M5b (ours): a new leader's lastHeard. The members the last
   * leader's recent heartbeat named silent stay silent since then, unless
   * they answered this ballot; anyone else counts as heard at the election.
   * Only a heartbeat from within a follower's longest wait counts: it is
   * the leader this replica replaces.
   */
  private silenceHeardBefore(candidate: CandidateState): Map<ReplicaId, number> {
    const heard = new Map<ReplicaId, number>()
    const hint = this.silenceHint
    this.silenceHint = null
    if (hint === null || this.tickCount - hint.tick > electionIdleFactor * electionTicksMax) return heard
    for (const { id, ticks } of hint.silent) if (id !== this.id && this.quorum.has(id) && !candidate.infos.has(id)) heard.set(id, hint.tick - ticks)
    return heard
  }

  private proposeReconfiguration(leader: LeaderState, members: ReplicaId[]): void {
    const m = leader.nextCommandNo
    const command: Command = {
      id: commandIdAt(leader.ballot, m),
      prec: leader.lastCommandId,
      payload: null,
      ticket: { client: reconfigurationClient, seq: m, acked: 0 },
      result: null,
      members,
    }
    leader.lastCommandId = command.id
    leader.nextCommandNo = m + 1
    leader.reconfigAt = m
    this.count('reconfigurations.proposed')
    this.propose(leader, m, command)
  }

  // ------------------------------------------------------------- helpers

  private becomeFollower(): void {
    this.role = { kind: 'follower' }
    if (this.leaderHint === this.id) {
      this.leaderHint = null
      this.leaderBallot = null
    }
    this.electionElapsed = 0
    this.leaderQuiet = false
    this.electionTimeout = this.randomElectionTimeout()
  }

  private setLeaderHint(leader: ReplicaId, ballot: Ballot): void {
    if (this.leaderHint === leader && this.leaderBallot !== null && ballotEquals(this.leaderBallot, ballot)) return
    this.leaderHint = leader
    this.leaderBallot = ballot
    // A call not answered before a leader change is re-sent to the new leader
    // ([0070]), or queued here if this replica is the one trying to lead.
    for (const pending of this.pendingCalls.values()) this.dispatchCall(pending)
  }

  private noteBallot(ballot: Ballot): void {
    this.highestBallotSeen = maxBallot(this.highestBallotSeen, ballot)
  }

  private randomElectionTimeout(): number {
    return randomInt(this.random, electionTicksMin, electionTicksMax)
  }

  private record(record: PersistRecord): void {
    this.records.push(record)
    this.recordSeq++
  }

  private send(message: Message, dep: number): void {
    this.noteProposed(message)
    this.outbox.push(message, dep)
  }

  /** A leader's BeginBallot or Success to a member stands in for its next heartbeat (sendHeartbeats). */
  private noteProposed(message: Message): void {
    if (this.role.kind === 'leader' && (message.type === 'BeginBallot' || message.type === 'Success')) {
      this.role.proposedTick.set(message.to, this.tickCount)
      this.role.busyTick = this.tickCount
    }
  }

  /** The open coalescing message under `key`, or a new one made by `create`. */
  private coalesce<M extends Message>(key: string, dep: number, entriesMax: number, create: () => M): M {
    const open = this.outbox.find(key, dep)
    if (open !== undefined) return open as M
    const message = create()
    this.noteProposed(message)
    this.outbox.start(key, message, dep, entriesMax)
    return message
  }

  private sendMyNextBal(to: ReplicaId, ballot: Ballot): void {
    this.send({ type: 'MyNextBal', from: this.id, to, ballot, nextBal: this.nextBal }, 0)
  }

  private sendBeginBallot(to: ReplicaId, ballot: Ballot, proposal: Proposal): void {
    // One leader has one ballot at a time; a stale open message of an older
    // ballot is closed by the next drain, so the key need not name the ballot.
    const key = `BeginBallot|${to}`
    const message = this.coalesce(key, 0, messageEntriesMax, (): MessageOf<'BeginBallot'> => ({ type: 'BeginBallot', from: this.id, to, ballot, proposals: [] }))
    if (!ballotEquals(message.ballot, ballot)) return this.sendBeginBallotFresh(to, ballot, proposal)
    message.proposals.push(proposal)
    this.outbox.added(key, commandChars(proposal.command))
  }

  private sendBeginBallotFresh(to: ReplicaId, ballot: Ballot, proposal: Proposal): void {
    this.outbox.push({ type: 'BeginBallot', from: this.id, to, ballot, proposals: [proposal] }, 0)
  }

  private sendVoted(to: ReplicaId, ballot: Ballot, instances: Instance[]): void {
    const key = `Voted|${to}|${ballot.round}|${ballot.replica}`
    for (const instance of instances) {
      const message = this.coalesce(key, this.recordSeq, messageEntriesMax, (): MessageOf<'Voted'> => ({ type: 'Voted', from: this.id, to, ballot, instances: [] }))
      message.instances.push(instance)
      this.outbox.added(key)
    }
  }

  /**
   * Success reports a command already chosen: a majority's votes for it are
   * durable (a replica's own vote counts only once persisted, and a vote is
   * deleted only in the write that makes its issued record durable). So it
   * does not wait for the sender's own issued record ([0057] step 5 has the
   * leader record first; nothing rests on that order, and waiting put a
   * write between a command's issue and the next command's vote).
   */
  private sendSuccess(to: ReplicaId, entries: IssuedEntry[], withCommand: boolean): void {
    const key = `Success|${to}`
    for (const e of entries) {
      const message = this.coalesce(key, 0, messageEntriesMax, (): MessageOf<'Success'> => ({ type: 'Success', from: this.id, to, entries: [] }))
      message.entries.push(
        withCommand
          ? { instance: e.instance, lockBallot: e.lockBallot, commandId: e.command.id, command: e.command }
          : { instance: e.instance, lockBallot: e.lockBallot, commandId: e.command.id },
      )
      this.outbox.added(key, withCommand ? commandChars(e.command) : 0)
    }
  }

  private ok(_: void): StepResult {
    return { ok: true }
  }

  private drop(reason: DropReason): StepResult {
    this.count(`dropped.${reason}`)
    return { ok: false, reason }
  }

  private count(name: string): void {
    this.counters[name] = (this.counters[name] ?? 0) + 1
  }
}

/** What a replica outside the membership may send (seed 004 fencing refuses the rest). */
const openToNonMembers: ReadonlySet<Message['type']> = new Set([
  'JoinRequest', 'LeaveRequest', 'CatchUpRequest', 'CatchUpReply', 'SnapshotRequest', 'SnapshotChunk', 'Success',
  // A tab may call while it joins: a call is not a ballot or a vote, and its ticket runs it at most once.
  'ExecuteFunction',
  // A learner's state is checked too (seed 000); its digest never counts toward a quorum.
  'DigestReport',
])

/**
 * Messages that carry many issued entries (BallotInfo's D, catch-up) stop at
 * about messageCharsBudget characters of JSON, far below what the transport
 * reassembles (8 MiB): counting entries alone lets a few large commands make
 * a message that is dropped on arrival — and a laggard or a candidate would
 * ask for it again forever. Sizes are measured once per command.
 */
class CharBudget {
  private used = 0

  /** Count `entry`; whether the message was already full before it. */
  full(entry: IssuedEntry): boolean {
    const full = this.used >= messageCharsBudget
    this.used += commandChars(entry.command)
    return full
  }
}

const commandCharsCache = new WeakMap<Command, number>()
function commandChars(command: Command): number {
  let chars = commandCharsCache.get(command)
  if (chars === undefined) commandCharsCache.set(command, (chars = JSON.stringify(command).length))
  return chars
}

/** The ticket of reconfiguration commands: they answer no call. */
const reconfigurationClient = '~membership'

const receivedCounter = Object.fromEntries(
  messageSchema.options.map((o) => [o.shape.type.value, `received.${o.shape.type.value}`]),
) as Record<Message['type'], string>

function outcomeOf(command: Command): CallOutcome {
  return command.rejected === undefined
    ? { ok: true, result: command.result }
    : { ok: false, code: command.rejected.code, reason: command.rejected.reason }
}
