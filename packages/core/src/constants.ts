/**
 * Every protocol limit is a named constant, qualifier last (TigerBeetle style).
 * Counts are in entries, times in ticks. Hosts choose how long a tick is
 * (the worker uses 10 ms, the simulator counts abstract ticks).
 */

/** Default pipeline depth α (seed 002 claim 5, "a predetermined number"). */
export const pipelineDepthDefault = 32
/** Largest α a replica accepts in its configuration. */
export const pipelineDepthMax = 1024

/** The leader sends a Heartbeat every this many ticks ([0054]). */
export const heartbeatTicks = 2
/** A member the leader has sent proposals or issued commands since its last
 *  heartbeat (they show the leader alive as well) skips its heartbeat, but
 *  gets one at least this often: only its acks tell the leader the member's
 *  applied prefix (log clearing) and acknowledge rounds. Well below
 *  electionTicksMin, so that timers running at different speeds in two tabs
 *  do not start an election, and below electionTicksMax, so that a member
 *  that only receives Success is still heard by the quorum check. */
export const heartbeatTicksBusyMax = 6
/** A follower that has not heard its leader for a timeout drawn from
 *  [electionTicksMin, electionTicksMax) tries to lead ([0054]). */
export const electionTicksMin = 10
export const electionTicksMax = 20
/** An idle room beats slowly (ours): a leader with nothing to propose,
 *  queue, hold or reconfigure for heartbeatIdleAfterTicks marks its
 *  heartbeats idle; once it has done so for heartbeatIdleAnnounceTicks (a
 *  few beats, so that one lost beat does not start an election) it beats
 *  every heartbeatTicksIdle only. A follower whose last word from the leader
 *  was an idle heartbeat waits electionIdleFactor times its election timeout
 *  (well above heartbeatTicksIdle), until it hears anything else from the
 *  leader or sends it a call: then the short timeout runs again, so a call
 *  made in a quiet room still fails over in 10-20 ticks. Why: an idle room of
 *  3 tabs sent 33 KB/s of heartbeats and acks at one beat per 2 ticks. */
export const heartbeatIdleAfterTicks = 20
export const heartbeatIdleAnnounceTicks = 3 * heartbeatTicks
export const heartbeatTicksIdle = 20
export const electionIdleFactor = 6
/** Unanswered NextBallot / BeginBallot are re-sent after this many ticks. */
export const retransmitTicks = 4
/** A forwarded call with no answer is re-sent to the leader after this many ticks. */
export const callRetryTicks = 8
/** A catch-up request with no answer may be re-sent (to another peer) after this many ticks. */
export const catchUpRetryTicks = 4

/** Members of one room. */
export const membersMax = 64
/** Length limits of identifiers carried on the wire. */
export const replicaIdLengthMax = 64
export const clientIdLengthMax = 128
export const commandIdLengthMax = 160
export const functionNameLengthMax = 128
export const reasonLengthMax = 1024

/** Entries carried by one BeginBallot / Success / CatchUpReply message. */
export const messageEntriesMax = 4096
/** Issued commands a BallotInfo reports in D; beyond it the reply says
 *  "truncated" and the leader catches up before it completes phase 1. */
export const ballotInfoIssuedMax = 1024
/** Missing-instance ranges a BallotInfo reports in X. */
export const ballotInfoMissingRangesMax = 64
/** Entries one CatchUpReply carries. */
export const catchUpEntriesMax = 512
/** Calls one ExecuteFunction / CallRejected message carries. */
export const callsPerMessageMax = 256

/** An inbound message may not name an instance further than this beyond
 *  what the replica has issued: bounds the memory a peer can make us use. */
export const instanceAheadMax = 1 << 16

/** Calls waiting at a replica for the leader's answer. */
export const pendingCallsMax = 4096
/** Calls queued at the leader while the pipeline is full or phase 1 runs. */
export const leaderQueueMax = 8192
/** Clients whose results the replicated ticket table keeps (seed 003, ours). */
export const sessionsMax = 4096
/** Tickets a leader remembers having rejected directly in its ballot; when
 *  full, it logs rejections instead (they then claim the ticket). */
export const rejectedDirectlyMax = 4096
/** Unacknowledged calls per client; results kept per client. */
export const sessionResultsMax = 256

/** A replica snapshots its machine state every this many applied commands
 *  at most (seed 001, ours): the log behind a snapshot can then be cleared. */
export const snapshotEveryDefault = 4096
/** …and sooner once the commands applied since the last snapshot weigh as
 *  much as that snapshot's state (in characters of JSON, at least
 *  snapshotLogCharsMin), after at least snapshotCommandsMin of them: stored
 *  bytes stay within about twice the state's, whatever the commands' size
 *  (a text room's commands are large next to its text). */
export const snapshotCommandsMin = 64
export const snapshotLogCharsMin = 64 * 1024
/** A member silent this long no longer holds log clearing back (until
 *  membership removes it); when it returns it gets the snapshot. */
export const clearSilentTicksDefault = 500
/** Characters of a snapshot's JSON body per SnapshotChunk. */
export const snapshotChunkCharsDefault = 256 * 1024
export const snapshotChunkCharsMax = 1024 * 1024
/** SnapshotChunks sent per SnapshotRequest: a window, so that a transfer
 *  costs a round trip per window rather than per chunk (ours). */
export const snapshotWindowChunks = 4
/** The largest snapshot body a replica sends or accepts (characters). */
export const snapshotCharsMax = 64 * 1024 * 1024
/** A snapshot transfer with no chunk for this many ticks is asked again;
 *  after ten times as long it is abandoned. */
export const snapshotRetryTicks = 20

/** Out-of-sync detection (seed 000, ours): every replica digests MS after
 *  each instance that is a multiple of this, and the leader compares. */
export const digestEveryDefault = 64
/** A leader with nothing in flight makes a checkpoint of the issued prefix
 *  after this many ticks without one, so quiet rooms are checked too. */
export const digestIdleTicks = 50
/** Checkpoint digests a replica keeps (its own, and the leader's tallies). */
export const checkpointsKept = 8
/** Length of a digest on the wire. */
export const digestLengthMax = 64

/** Membership (seed 004, ours): a member silent this long is removed by the
 *  leader (a crashed or frozen tab); the default for ReplicaConfig. */
export const memberSilentTicksDefault = 1000
/** A replica outside the membership asks to join (or a leaving one to leave) this often. */
export const joinRetryTicks = 10
/** A join request is considered for this long after it arrived. */
export const joinFreshTicks = 40
/** A joiner is added once it has caught up to within this many instances of the leader. */
export const joinLagMax = 64
/** Peers of the room a host may name as contacts for a join. */
export const contactsMax = 256
/** Voting members a leader lets a room grow to; later joiners are learners
 *  (fed the issued commands, able to call), promoted when a voter goes. */
export const votersMaxDefault = 5
/** Messages of many issued entries (D, catch-up) stop at about this many
 *  characters of JSON (the transport reassembles at most 8 MiB). */
export const messageCharsBudget = 2 * 1024 * 1024
/** The largest command (its write-set and result as JSON) a function may
 *  make: a larger one is refused as 'too-large', so that every command fits
 *  in a message (messageCharsBudget) and is never stuck in the log. */
export const commandCharsMax = 1024 * 1024
/** The largest arguments of a call, as JSON; larger ones are 'invalid-args'. */
export const callArgsCharsMax = 1024 * 1024
