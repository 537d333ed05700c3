import { z } from 'zod'
import {
  ballotInfoMissingRangesMax,
  callsPerMessageMax,
  clientIdLengthMax,
  commandIdLengthMax,
  digestLengthMax,
  functionNameLengthMax,
  membersMax,
  messageEntriesMax,
  reasonLengthMax,
  replicaIdLengthMax,
  sessionResultsMax,
  sessionsMax,
  snapshotCharsMax,
  snapshotChunkCharsMax,
} from './constants.ts'

/**
 * Wire and storage types of the core. The zod schemas are the single source
 * of truth: every inbound message is parsed against them before the core
 * looks at it (non-negotiable 5), and the TypeScript types are inferred.
 */

export type ReplicaId = string
export type CommandId = string
/** Instance (command number) 0 holds the null command, issued by definition ([0055]). */
export type Instance = number

const replicaIdSchema = z.string().min(1).max(replicaIdLengthMax)
const instanceSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)

export const ballotSchema = z.object({
  round: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  replica: z.string().max(replicaIdLengthMax),
})
export type Ballot = z.infer<typeof ballotSchema>

/** A call's ticket (seed 003, ours): the caller's id and sequence number, plus
 *  `acked`: every seq below it has been answered to the caller, so the
 *  replicated ticket table may forget those results. */
export const ticketSchema = z.strictObject({
  client: z.string().min(1).max(clientIdLengthMax),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  acked: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
})
export type Ticket = z.infer<typeof ticketSchema>

/**
 * A command ([0055]): the deterministic result of one function execution.
 * `prec` names the command whose effects the function saw (its precedent);
 * `payload` is the write-set, opaque to the core and validated by the machine;
 * `ticket` and `result` let every replica answer the caller and deduplicate.
 */
export const commandShape = z.strictObject({
  id: z.string().min(1).max(commandIdLengthMax),
  prec: z.string().min(1).max(commandIdLengthMax),
  payload: z.unknown(),
  ticket: ticketSchema,
  result: z.unknown(),
  /** A logged rejection (ours): a re-sent call that the function rejected.
   *  It claims the ticket so that no earlier attempt can take effect after
   *  the caller heard "rejected". Its payload is null and changes nothing. */
  rejected: z.strictObject({ code: z.string().max(64), reason: z.string().max(reasonLengthMax) }).optional(),
  /** A reconfiguration (seed 004, ours): the members from the next instance
   *  on. Issued by a quorum of the previous members, which is seed 004's
   *  relative-quorum rule. Its payload is null; it answers no call. */
  members: z.array(z.string().min(1).max(replicaIdLengthMax)).min(1).max(membersMax).optional(),
})
export type Command = z.infer<typeof commandShape>

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isText = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const commandKeys = new Set(['id', 'prec', 'payload', 'ticket', 'result', 'rejected', 'members'])

/**
 * `commandShape`'s check, without zod's parsed copy: commands are most of
 * what crosses the wire, and every replica checks every one (types.test.ts
 * keeps the two equal on random inputs). Commands are then kept as they
 * arrived, so the check is strict: no unknown keys.
 */
export function isCommand(v: unknown): v is Command {
  if (!isRecord(v)) return false
  for (const key in v) if (!commandKeys.has(key)) return false
  if (!isText(v.id, 1, commandIdLengthMax) || !isText(v.prec, 1, commandIdLengthMax)) return false
  if (!('payload' in v) || !('result' in v)) return false // zod 4: an unknown() key must be present
  const t = v.ticket
  if (!isRecord(t) || !isText(t.client, 1, clientIdLengthMax) || !isCount(t.seq) || !isCount(t.acked)) return false
  for (const key in t) if (key !== 'client' && key !== 'seq' && key !== 'acked') return false
  const members = v.members
  if (members !== undefined) {
    if (!Array.isArray(members) || members.length < 1 || members.length > membersMax) return false
    for (const id of members) if (!isText(id, 1, replicaIdLengthMax)) return false
  }
  const r = v.rejected
  if (r === undefined) return true
  if (!isRecord(r) || !isText(r.code, 0, 64) || !isText(r.reason, 0, reasonLengthMax)) return false
  for (const key in r) if (key !== 'code' && key !== 'reason') return false
  return true
}

/** Commands inside messages: checked by `isCommand`, kept without a copy. */
export const commandSchema = z.custom<Command>(isCommand, 'malformed command')

/** The id of the null command at instance 0 ([0055]). */
export const nullCommandId: CommandId = '0'

/** A call of an app function, as it travels to the leader (ExecuteFunction). */
export const callSchema = z.object({
  ticket: ticketSchema,
  origin: replicaIdSchema,
  /** 1 for the first send; more when re-sent (after a leader change, a timeout,
   *  or by a client through another replica). */
  attempt: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  name: z.string().min(1).max(functionNameLengthMax),
  args: z.unknown(),
})
export type Call = z.infer<typeof callSchema>

/** An issued command with the ballot in which a majority voted for it (see
 *  `lockBallot` in replica.ts: the chain of lock ballots never decreases). */
export const issuedEntrySchema = z.object({
  instance: instanceSchema,
  lockBallot: ballotSchema,
  command: commandSchema,
})
export type IssuedEntry = z.infer<typeof issuedEntrySchema>

export const voteSchema = z.object({
  instance: instanceSchema,
  ballot: ballotSchema,
  command: commandSchema,
})
/** prevVote(q, m) ([0056]): q's vote in the highest ballot for instance m in which it voted. */
export type Vote = z.infer<typeof voteSchema>

const proposalSchema = z.object({ instance: instanceSchema, command: commandSchema })
export type Proposal = z.infer<typeof proposalSchema>

/** How a call ended, as the log recorded it (kept in the ticket table). */
const outcomeSchema = z.union([
  z.strictObject({ ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ ok: z.literal(false), code: z.string().max(64), reason: z.string().max(reasonLengthMax) }),
])

/** The replicated ticket table as data (sessions.ts): per client, in the
 *  table's own order, [client, acked, lastInstance, [seq, instance, outcome][]]. */
export const sessionsDataSchema = z
  .array(
    z.tuple([
      z.string().min(1).max(clientIdLengthMax),
      z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      z.array(z.tuple([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.number().int().min(1).max(Number.MAX_SAFE_INTEGER), outcomeSchema])).max(sessionResultsMax),
    ]),
  )
  .max(sessionsMax)
export type SessionsData = z.infer<typeof sessionsDataSchema>

/**
 * A snapshot (seed 001, ours; [0068] "stable storage"): the machine state MS
 * and the ticket table after applying every command up to `anchor.instance`,
 * and the issued entry there, which the next command names as its precedent.
 * Behind it the log is cleared.
 */
export interface Snapshot {
  anchor: IssuedEntry
  state: unknown
  sessions: SessionsData
  /** The members after `anchor` (seed 004, ours). */
  members: ReplicaId[]
}

/** A snapshot's body as it crosses the wire, in chunks of one JSON text. */
export const snapshotBodySchema = z.strictObject({
  state: z.unknown(),
  sessions: sessionsDataSchema,
  members: z.array(replicaIdSchema).min(1).max(membersMax),
})

const rangeSchema = z.tuple([instanceSchema, instanceSchema]).refine(([a, b]) => a <= b, 'range start after end')

const header = { from: replicaIdSchema, to: replicaIdSchema }

export const messageSchema = z.discriminatedUnion('type', [
  /** [0057] step 1: a new leader's ballot b, starting at instance n. */
  z.object({ type: z.literal('NextBallot'), ...header, ballot: ballotSchema, n: instanceSchema }),
  /** [0057] step 2: D issued (≥ n), V votes (≥ n, not known issued), X missing (< n). */
  z.object({
    type: z.literal('BallotInfo'),
    ...header,
    ballot: ballotSchema,
    n: instanceSchema,
    issued: z.array(issuedEntrySchema).max(messageEntriesMax),
    /** D was cut at ballotInfoIssuedMax: the sender knows more issued commands. */
    truncated: z.boolean(),
    votes: z.array(voteSchema).max(messageEntriesMax),
    missing: z.array(rangeSchema).max(ballotInfoMissingRangesMax),
  }),
  /** [0057] step 2/[0062]: the sender promised `nextBal`, above `ballot`. */
  z.object({ type: z.literal('MyNextBal'), ...header, ballot: ballotSchema, nextBal: ballotSchema }),
  /** [0057] step 3'(d)/3'': proposals of ballot b, one command per instance. */
  z.object({
    type: z.literal('BeginBallot'),
    ...header,
    ballot: ballotSchema,
    proposals: z.array(proposalSchema).min(1).max(messageEntriesMax),
  }),
  /** [0057] step 4, sent to all replicas ([0066]). In a ballot the leader
   *  proposes one command per instance, so (instance, ballot) names it. */
  z.object({
    type: z.literal('Voted'),
    ...header,
    ballot: ballotSchema,
    instances: z.array(instanceSchema).min(1).max(messageEntriesMax),
  }),
  /** [0057] step 5/6: issued commands. `command` is left out for a receiver
   *  known to hold it already (it voted for it). */
  z.object({
    type: z.literal('Success'),
    ...header,
    entries: z
      .array(
        z.object({
          instance: instanceSchema,
          lockBallot: ballotSchema,
          commandId: z.string().min(1).max(commandIdLengthMax),
          command: commandSchema.optional(),
        }),
      )
      .min(1)
      .max(messageEntriesMax),
  }),
  /** [0055] ExecuteFunction(f), batched. */
  /** `ballot`: the leader's ballot the sender addresses; a copy that arrives
   *  under another ballot is refused (see `rejectedDirectly` in replica.ts). */
  z.object({
    type: z.literal('ExecuteFunction'),
    ...header,
    ballot: ballotSchema,
    calls: z.array(callSchema).min(1).max(callsPerMessageMax),
  }),
  /** A failed function call sends nothing to anyone but its caller ([0078]). */
  z.object({
    type: z.literal('CallRejected'),
    ...header,
    rejections: z
      .array(
        z.object({
          ticket: ticketSchema,
          attempt: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
          code: z.string().max(64),
          reason: z.string().max(reasonLengthMax),
        }),
      )
      .min(1)
      .max(callsPerMessageMax),
  }),
  /** [0054] failure detection; `issuedUpTo` lets laggards notice a gap. */
  /** `round` numbers the leader's heartbeats; an ack of round r by a majority
   *  proves the ballot was still the highest promised after r was sent. */
  /** `clearUpTo` (seed 001 claims 1–4, ours): every live member has applied up
   *  to here, so each may clear its log below it, behind a snapshot. */
  z.object({
    type: z.literal('Heartbeat'),
    ...header,
    ballot: ballotSchema,
    issuedUpTo: z.number().int().min(0),
    round: z.number().int().min(0),
    clearUpTo: z.number().int().min(0),
    /** Seed 000 (ours): the digest of the leader's MS at its latest checkpoint. */
    checkpoint: z.object({ instance: instanceSchema, digest: z.string().max(digestLengthMax) }).nullable(),
    /** Ours: the room is idle; the next heartbeat may be heartbeatTicksIdle away (constants.ts). */
    idle: z.literal(true).optional(),
    /** Ours (seed 004 M5b): members this leader has not heard from for a
     *  while, and for how many ticks. A follower elected next goes on
     *  counting their silence rather than starting it over. */
    silent: z.array(z.object({ id: replicaIdSchema, ticks: z.number().int().min(0) })).min(1).max(membersMax).optional(),
  }),
  /** Seed 004 FIG. 4/6 (ours): a replica asks the leader to add it, or to remove it (a graceful leave). */
  /** Seed 004 FIG. 4; `learner`: fed the log, never made a voter (ReplicaConfig.learner). */
  z.object({ type: z.literal('JoinRequest'), ...header, issuedUpTo: z.number().int().min(0), learner: z.boolean().optional() }),
  z.object({ type: z.literal('LeaveRequest'), ...header }),
  /** Seed 000 claims 9–10 (ours): a replica's digest of MS at a checkpoint, to the leader. */
  z.object({ type: z.literal('DigestReport'), ...header, instance: instanceSchema, digest: z.string().max(digestLengthMax) }),
  /** Seed 000 claims 3, 13–14 (ours): the leader, backed by a majority with its
   *  digest, tells a replica that disagreed to refresh its state from a peer. */
  z.object({ type: z.literal('Resync'), ...header, ballot: ballotSchema, instance: instanceSchema, digest: z.string().max(digestLengthMax) }),
  z.object({ type: z.literal('HeartbeatAck'), ...header, ballot: ballotSchema, issuedUpTo: z.number().int().min(0), round: z.number().int().min(0) }),
  /** [0067] catch-up from any peer. */
  z.object({ type: z.literal('CatchUpRequest'), ...header, range: rangeSchema }),
  z.object({
    type: z.literal('CatchUpReply'),
    ...header,
    entries: z.array(issuedEntrySchema).max(messageEntriesMax),
    issuedUpTo: z.number().int().min(0),
  }),
  /** A laggard whose missing commands were cleared asks for the snapshot, a
   *  chunk at a time: `instance` 0 means "your latest". */
  z.object({
    type: z.literal('SnapshotRequest'),
    ...header,
    instance: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    offset: z.number().int().min(0).max(snapshotCharsMax),
  }),
  /** One chunk of a snapshot's JSON body (snapshotBodySchema) at `anchor.instance`. */
  z.object({
    type: z.literal('SnapshotChunk'),
    ...header,
    anchor: issuedEntrySchema,
    offset: z.number().int().min(0).max(snapshotCharsMax),
    total: z.number().int().min(1).max(snapshotCharsMax),
    data: z.string().max(snapshotChunkCharsMax),
  }),
])
export type Message = z.infer<typeof messageSchema>
export type MessageType = Message['type']
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>

/**
 * What the core asks its host to make durable, in order, atomically per
 * `Ready` (seed 002 [0064], [0068]). The host may drop the vote kept for an
 * instance once an `issued` record for that instance is durable, and may
 * write issued records after the votes and promises that follow them
 * (splitIssued says when and why).
 */
export type PersistRecord =
  | { kind: 'lastTried'; ballot: Ballot }
  | { kind: 'nextBal'; ballot: Ballot }
  | { kind: 'vote'; vote: Vote }
  | { kind: 'issued'; entry: IssuedEntry }
  /** Replaces the stored snapshot (there is one at most). */
  | { kind: 'snapshot'; snapshot: Snapshot }
  /** Seed 001's start-of-log pointer: issued entries and votes below
   *  `before` may be deleted (a snapshot at or above it is durable). */
  | { kind: 'clear'; before: Instance }
  /** Out of sync (seed 000): the issued log and the snapshot are dropped, to
   *  be fetched again from a healthy peer; promises and votes stay. */
  | { kind: 'discard' }

/** What a replica reloads from stable storage after a restart. */
export interface StableState {
  lastTried: Ballot
  nextBal: Ballot
  votes: Vote[]
  issued: IssuedEntry[]
  snapshot?: Snapshot | undefined
}

export const snapshotSchema = z.strictObject({ anchor: issuedEntrySchema, ...snapshotBodySchema.shape })

/**
 * What stable storage hands back is input like any other (issue 9 §1): a
 * host checks it with this before the core sees it, so a damaged or foreign
 * record stops the replica with a clear error instead of a wrong vote.
 */
export const stableStateSchema = z.strictObject({
  lastTried: ballotSchema,
  nextBal: ballotSchema,
  votes: z.array(voteSchema),
  issued: z.array(issuedEntrySchema),
  snapshot: snapshotSchema.optional(),
})

/** Something a host should show (store.status, the inspector's event list). */
export type ReplicaEvent = {
  type: 'out-of-sync'
  /** 'refreshing': this replica disagreed with a majority and refreshes;
   *  'resync-sent': (leader) told a replica to refresh; 'leader-out-of-sync':
   *  (leader) a majority disagrees with it: it steps down and refreshes;
   *  'diverged': no digest has a majority — the app's apply is likely not
   *  deterministic. */
  kind: 'refreshing' | 'resync-sent' | 'leader-out-of-sync' | 'diverged'
  instance: Instance
  /** Digests at `instance` by replica, as far as known here. */
  digests: Record<ReplicaId, string>
  /** The command issued at `instance` (the last of the commands since the previous checkpoint). */
  command: CommandId | null
}

export type CallReply =
  | { ticket: Ticket; ok: true; result: unknown; instance: Instance }
  | { ticket: Ticket; ok: false; code: RejectCode; reason: string }

/** Why a call was not executed. `rejected`, `invalid-args`, `unknown-function`
 *  and `function-threw` come from the app's function; the rest from the core. */
export type RejectCode =
  | 'rejected'
  | 'invalid-args'
  | 'unknown-function'
  | 'function-threw'
  | 'overloaded'
  | 'too-many-outstanding'
  | 'stale-ticket'
  | 'too-large'
