import type { ExecEnv, ExecOutcome, Instance } from '@concord/core'
import { createMachine } from '@concord/machine'
import type { ReplicaMachine } from '@concord/check'
import { warehouse } from '../../apps/warehouse/src/machine.ts'

/**
 * Deliberately broken (issue 10): a machine written against the core's
 * MachinePort (not defineMachine, whose apply is the library's and is
 * deterministic by construction) whose `apply` stamps the state with the
 * time each replica applied the last command. Every replica reads its own
 * clock, so replicas that applied the same commands hold different states.
 * (Reading the clock in a *function* is fine: functions run on the leader
 * only and the command carries what they wrote.)
 *   npx concord check examples/broken/clock-apply.ts
 */
class StampedWarehouse implements ReplicaMachine {
  private readonly inner = createMachine(warehouse)

  apply(instance: Instance, payload: unknown): void {
    this.inner.apply(instance, payload)
    // The bug: a value that depends on where and when apply runs.
    this.inner.apply(instance, [{ op: 'set', key: 'lastAppliedAt', value: Date.now() }])
  }

  execute(instance: Instance, name: string, args: unknown, env: ExecEnv): ExecOutcome {
    return this.inner.execute(instance, name, args, env)
  }

  leaderReset(): void {
    this.inner.leaderReset()
  }

  leaderApply(instance: Instance, payload: unknown): void {
    this.inner.leaderApply(instance, payload)
  }

  validatePayload(payload: unknown): string | null {
    return this.inner.validatePayload(payload)
  }

  snapshot(): ReturnType<ReplicaMachine['snapshot']> {
    return this.inner.snapshot()
  }

  validateSnapshot(state: unknown): string | null {
    return this.inner.validateSnapshot(state)
  }

  restore(state: unknown): void {
    this.inner.restore(state)
  }

  digest(): string {
    return this.inner.digest()
  }
}

/** Calls are drawn from the warehouse functions' schemas. */
export const machine = { name: 'stamped-warehouse', create: (): ReplicaMachine => new StampedWarehouse(), functions: warehouse.functions }
