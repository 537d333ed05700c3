import { nullCommandId, ticketKey, type IssuedEntry, type Ticket } from '@concord/core'
import type { Json } from '@concord/machine'

/**
 * The simulator's safety checkers, fed online as replicas apply commands and
 * answer calls (DEVELOPERS.md non-negotiable 3; issue 3 §4):
 *  - agreement: no two replicas issue different commands at one instance;
 *  - dependency: every issued command's precedent is the command issued at
 *    m−1; each replica applies 1, 2, 3, … without gaps; no no-ops (every
 *    command answers a call some client made) and at most one command per ticket;
 *  - durability: a call acknowledged to its client is in the final log, with
 *    the result the client was given;
 *  - integrity: the app's invariant holds on every replica after every command;
 *  - convergence: once faults stop, every replica holds the same log and state.
 * Linearizability of client histories is checked separately (linearizability.ts).
 */
export type Property =
  | 'agreement'
  | 'dependency'
  | 'no-op'
  | 'at-most-once'
  | 'durability'
  | 'integrity'
  | 'convergence'
  | 'linearizability'
  | 'assertion'
  | 'liveness'
  | 'validation'
  | 'function-threw'
  /** A replica that joined as a learner by choice was made a voter. */
  | 'learner'

export interface Violation {
  property: Property
  detail: string
  time: number
}

interface Decided {
  id: string
  prec: string
  ticket: string
  outcome: Json
}

export class SafetyChecker {
  readonly violations: Violation[] = []
  private readonly decided = new Map<number, Decided>()
  private readonly ticketInstance = new Map<string, number>()
  private readonly called = new Set<string>()
  private readonly appliedUpTo = new Map<string, number>()
  /** Acknowledged calls: ticket → what the client was told. */
  private readonly acknowledged = new Map<string, { instance: number; outcome: Json; time: number }>()

  constructor(private readonly invariant: (state: Record<string, Json>) => string | null = () => null) {}

  get ok(): boolean {
    return this.violations.length === 0
  }

  /** Reconfiguration commands issued (seed 004). */
  reconfigurations = 0

  get logLength(): number {
    return this.decided.size
  }

  fail(property: Property, detail: string, time: number): void {
    if (this.violations.length < 100) this.violations.push({ property, detail, time })
  }

  noteCall(ticket: Ticket): void {
    this.called.add(ticketKey(ticket))
  }

  /** A replica restarted: it re-applies its log from instance 1. */
  noteRestart(replica: string): void {
    this.appliedUpTo.set(replica, 0)
  }

  /** A replica replaced its state by a snapshot at `anchor` (a restart, or a
   *  laggard's catch-up): it goes on from there. The snapshot's command must
   *  be the one decided there, and its state must keep the invariant. */
  onInstalled(replica: string, anchor: IssuedEntry, state: Record<string, Json>, time: number): void {
    const m = anchor.instance
    if (m === 0) {
      // Out of sync (seed 000): the replica starts over and applies from 1 again.
      this.appliedUpTo.set(replica, 0)
      return
    }
    const last = this.appliedUpTo.get(replica) ?? 0
    if (m <= last && last !== 0) this.fail('dependency', `${replica} installed a snapshot at ${m} after applying ${last}`, time)
    this.appliedUpTo.set(replica, m)
    const known = this.decided.get(m)
    if (known === undefined) this.fail('durability', `${replica} installed a snapshot at ${m}, where nothing was applied anywhere`, time)
    else if (known.id !== anchor.command.id) this.fail('agreement', `${replica} installed a snapshot at ${m} of ${anchor.command.id}, where ${known.id} was issued`, time)
    const broken = this.invariant(state)
    if (broken !== null) this.fail('integrity', `${replica} snapshot at ${m}: ${broken}`, time)
  }

  onIssued(replica: string, entry: IssuedEntry, state: () => Record<string, Json>, time: number): void {
    const m = entry.instance
    const { command } = entry
    const last = this.appliedUpTo.get(replica) ?? 0
    if (m !== last + 1) this.fail('dependency', `${replica} applied ${m} after ${last} (a gap or a repeat)`, time)
    this.appliedUpTo.set(replica, m)
    const key = ticketKey(command.ticket)
    const outcome = (command.rejected === undefined ? { ok: true, result: command.result } : { ok: false }) as Json
    const known = this.decided.get(m)
    if (known === undefined) {
      this.decided.set(m, { id: command.id, prec: command.prec, ticket: key, outcome })
      if (command.members !== undefined) this.reconfigurations++
      if (!this.called.has(key) && command.members === undefined) this.fail('no-op', `command ${command.id} at ${m} answers no call (ticket ${key})`, time)
      const other = this.ticketInstance.get(key)
      if (other !== undefined && other !== m) this.fail('at-most-once', `ticket ${key} issued at ${other} and at ${m}`, time)
      this.ticketInstance.set(key, m)
    } else if (known.id !== command.id) {
      this.fail('agreement', `${replica} issued ${command.id} at ${m}, another replica issued ${known.id}`, time)
    }
    const precedent = m === 1 ? nullCommandId : this.decided.get(m - 1)?.id
    if (command.prec !== precedent) this.fail('dependency', `${command.id} at ${m} has precedent ${command.prec}, issued at ${m - 1}: ${precedent}`, time)
    const broken = this.invariant(state())
    if (broken !== null) this.fail('integrity', `${replica} after ${m}: ${broken}`, time)
  }

  /** How the log answered a call, or null if no command answers it. */
  loggedOutcome(ticket: Ticket): { ok: true; result: Json } | { ok: false } | null {
    const m = this.ticketInstance.get(ticketKey(ticket))
    if (m === undefined) return null
    return this.decided.get(m)!.outcome as { ok: true; result: Json } | { ok: false }
  }

  /** A client was told its call ended (ok or rejected) at `instance` (−1: unknown instance). */
  onAcknowledged(ticket: Ticket, instance: number, outcome: Json, time: number): void {
    this.acknowledged.set(ticketKey(ticket), { instance, outcome, time })
  }

  /** After convergence: every acknowledged outcome is in the log, as told. */
  checkDurability(time: number): void {
    for (const [key, ack] of this.acknowledged) {
      const m = this.ticketInstance.get(key)
      if (m === undefined) {
        // A rejection of a first attempt is answered without the log.
        if ((ack.outcome as { ok: boolean }).ok) this.fail('durability', `acknowledged call ${key} is not in the log`, time)
        continue
      }
      const decided = this.decided.get(m)!
      if (ack.instance !== -1 && ack.instance !== m) this.fail('durability', `call ${key} acknowledged at ${ack.instance}, issued at ${m}`, time)
      if (JSON.stringify(decided.outcome) !== JSON.stringify(ack.outcome)) {
        this.fail('durability', `call ${key} told ${JSON.stringify(ack.outcome)}, log says ${JSON.stringify(decided.outcome)}`, time)
      }
    }
  }

  /** Once faults stop: every replica has the whole log and the same state. */
  checkConvergence(replicas: { id: string; issuedUpTo: number; state: Record<string, Json> }[], time: number): void {
    const first = replicas[0]
    if (first === undefined) return
    const expected = JSON.stringify(first.state)
    for (const r of replicas) {
      if (r.issuedUpTo !== this.decided.size) this.fail('convergence', `${r.id} applied ${r.issuedUpTo} of ${this.decided.size} commands`, time)
      if (JSON.stringify(r.state) !== expected) this.fail('convergence', `${r.id} state ${JSON.stringify(r.state)} differs from ${first.id}'s ${expected}`, time)
    }
  }
}
