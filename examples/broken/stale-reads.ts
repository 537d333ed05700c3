import { z } from 'zod'
import type { ExecEnv, ExecOutcome, Instance } from '@concord/core'
import { createMachine, defineMachine, fn, MachineInstance } from '@concord/machine'

/**
 * Deliberately broken: a machine written against the core's MachinePort
 * whose `execute` runs functions on the applied state (MS) instead of the
 * leader's latest state (LS, which includes the commands proposed but not
 * yet applied — [0071]). With calls in flight two adds read the same n and
 * return results that no order of the calls explains. Its `functions` are
 * the reference the check judges results against.
 *   npx concord check examples/broken/stale-reads.ts
 */
const counter = defineMachine({
  name: 'counter',
  functions: {
    add: fn(z.object({ by: z.number().int().min(1).max(5) }), (tx, { by }) => {
      const n = (tx.get<number>('n') ?? 0) + by
      tx.set('n', n)
      return n
    }),
  },
})

class StaleReads extends MachineInstance {
  override execute(instance: Instance, name: string, args: unknown, env: ExecEnv): ExecOutcome {
    // The bug: a copy of what is applied, not the leader state.
    const applied = createMachine(this.definition)
    applied.load(this.snapshot())
    return applied.execute(instance, name, args, env)
  }
}

export const machine = { name: 'stale-counter', create: () => new StaleReads(counter), functions: counter.functions }
