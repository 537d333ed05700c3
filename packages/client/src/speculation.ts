import type { Functions, Json, MachineInstance } from '@concord/machine'

/**
 * Optimistic calls (issue 6 §1, as Replicache does it): a call made with
 * `{ optimistic: true }` runs at once on this tab's own state and shows its
 * writes there before the leader has even seen it. The view is always
 * rebuilt, never patched: the state this replica has applied (MS, the
 * authoritative one) with every call still in flight run over it again, in
 * the order they were made. So when a command of another tab is issued
 * meanwhile, the speculative calls are rebased over it; when the leader
 * issues our call, its authoritative command is in MS and the speculation
 * is dropped; when the leader rejects it, it is dropped too and the view
 * rolls back.
 *
 * A speculation ends once its command is in MS (its reply names the
 * instance, and MS has applied up to there: the two arrive by different
 * routes), or once the call failed. One that fails to run here (the
 * local state says no) is not shown; the call still goes to the leader,
 * whose state is the latest.
 */

/** Optimistic calls a tab may have in flight; beyond it, calls are not shown speculatively (they still run). */
export const speculationsMax = 1_024

/** The instance speculative writes are made at: after anything MS can have applied. */
const speculativeInstance = Number.MAX_SAFE_INTEGER

interface Speculation {
  readonly id: number
  readonly name: string
  readonly args: Json
  /** The instance of its issued command, once the leader answered. */
  issuedAt: number | null
}

export class Speculations {
  private readonly inFlight: Speculation[] = []
  private nextId = 1

  /** How many calls are shown speculatively now. */
  get size(): number {
    return this.inFlight.length
  }

  /** Start showing a call: its id, or null if it is not shown (too many in flight). */
  add(name: string, args: Json): number | null {
    if (this.inFlight.length >= speculationsMax) return null
    const id = this.nextId++
    this.inFlight.push({ id, name, args, issuedAt: null })
    return id
  }

  /** The leader issued it at `instance`: shown until MS has applied that far. True if that is already so (it ended). */
  issued(id: number, instance: number, appliedUpTo: number): boolean {
    const speculation = this.inFlight.find((s) => s.id === id)
    if (speculation === undefined) return false
    speculation.issuedAt = instance
    return this.settle(appliedUpTo)
  }

  /** The call failed (rejected, timed out, closed): its writes disappear from the view. */
  drop(id: number): void {
    const index = this.inFlight.findIndex((s) => s.id === id)
    if (index >= 0) this.inFlight.splice(index, 1)
  }

  /** MS has applied up to `appliedUpTo`: the speculations whose commands it holds end. */
  settle(appliedUpTo: number): boolean {
    const before = this.inFlight.length
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const issuedAt = this.inFlight[i]!.issuedAt
      if (issuedAt !== null && issuedAt <= appliedUpTo) this.inFlight.splice(i, 1)
    }
    return this.inFlight.length < before
  }

  /**
   * The optimistic view: MS with every speculation run over it in order (in
   * the machine's leader overlay, which the main thread's mirror has no
   * other use for). A speculation the current state refuses adds nothing.
   */
  view<F extends Functions>(machine: MachineInstance<F>, random: () => number): Record<string, Json> {
    machine.leaderReset()
    for (const s of this.inFlight) {
      machine.execute(speculativeInstance, s.name, s.args, { tick: 0, random: { next: random } })
    }
    const view = machine.leaderSnapshot()
    machine.leaderReset()
    return view
  }
}
