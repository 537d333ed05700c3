import type { ExecEnv } from '@concord/core'
import { createMachine, type Json, type MachineDefinition } from '@concord/machine'
import type { Model } from '@concord/sim'
import type { VirtualWorld } from './clock.ts'

/**
 * The sequential specification of an app's machine is the machine itself:
 * a call's result in a linearizable history is what its function returns
 * when the calls run one after another in some order that respects real
 * time. That holds only for functions that depend on nothing but the state
 * and their arguments; a function that reads the time or a random number
 * (allowed: it runs on the leader only) makes `dependsOnChance` true, and the
 * history is then not judged against this model.
 */
export class MachineModel implements Model<Record<string, Json>> {
  dependsOnChance = false
  private readonly machine

  constructor(definition: MachineDefinition, private readonly world: VirtualWorld) {
    this.machine = createMachine(definition)
  }

  init(): Record<string, Json> {
    return {}
  }

  step(state: Record<string, Json>, name: string, args: Json): { state: Record<string, Json>; output: { ok: true; result: Json } | { ok: false; reason: string } } {
    const model = this
    const env: ExecEnv = {
      get tick() {
        model.dependsOnChance = true
        return 0
      },
      random: {
        next() {
          model.dependsOnChance = true
          return 0
        },
      },
    }
    this.machine.load(state)
    const reads = this.world.reads
    const outcome = this.machine.execute(1, name, args, env)
    if (this.world.reads !== reads) this.dependsOnChance = true
    if (!outcome.ok) return { state, output: { ok: false, reason: outcome.reason } }
    this.machine.apply(1, outcome.payload)
    return { state: this.machine.snapshot(), output: { ok: true, result: outcome.result as Json } }
  }

  key(state: Record<string, Json>): string {
    return JSON.stringify(state)
  }
}
