import { type Random } from '@concord/core'
import { createMachine, type Functions, type Json, type MachineDefinition } from '@concord/machine'
import { configForSeed, Simulation, type Call, type CallRecord, type CallScript, type SimConfig, type SimMachine, type SimResult, type SimWorkload, type Violation } from '@concord/sim'
import { ArgumentsError, arbitraryFor } from './arbitrary.ts'
import { VirtualWorld } from './clock.ts'
import { MachineModel } from './model.ts'
import { shrink } from './shrink.ts'

/**
 * `concord check` (issue 10): an app's own machine, run on the real core in
 * the deterministic simulator under crashes, partitions, loss, duplication,
 * reordering and leader changes, seed after seed. It reports broken
 * invariants, an `apply` that is not deterministic (replicas' digests
 * differ), functions that throw instead of rejecting, and results that are
 * not linearizable — each with its seed, a shrunk call sequence and the
 * command that replays it.
 */

/** What a workload sees when it makes a client's next call. */
export interface WorkloadContext {
  /** The state of the replica the client talks to (it may lag behind the leader). */
  readonly state: Readonly<Record<string, Json>>
  readonly client: string
  /** A float in [0, 1) from the run's seeded source (never Math.random: the run must replay). */
  random(): number
  /** An integer in [min, max]. */
  int(min: number, max: number): number
  pick<T>(items: readonly T[]): T
  /** A call of `name` (or of a function picked at random) with arguments drawn from its schema. */
  fromSchema(name?: string): Call
}

/** A call a workload makes; its arguments are checked by the function's schema like any caller's. */
export interface WorkloadCall {
  name: string
  args: unknown
}

export type Workload = (context: WorkloadContext) => WorkloadCall
export type Invariants = Record<string, (state: Readonly<Record<string, Json>>) => boolean>

export interface CheckSpec<F extends Functions = Functions> {
  /** The app's machine, or (for a machine written against the core's
   *  MachinePort) a factory of replicas' machines, with the functions it
   *  implements: calls are drawn from their schemas, and results are judged
   *  against them run one after another (the reference). */
  machine: MachineDefinition<F> | { name: string; create(): SimMachine; functions?: Functions }
  invariants?: Invariants
  workload?: Workload
}

export interface CheckOptions {
  /** Seeds start..start+seeds−1 (default 0..99). */
  seeds?: number
  start?: number
  /** Run one seed only (replay). */
  seed?: number
  /** Replicas per run (default: 3 to 7, from the seed). */
  replicas?: number
  /** Calls each client makes (default 25; 2 to 5 clients, from the seed). */
  callsPerClient?: number
  /** Shrink the first failure to a minimal call sequence (default true). */
  shrink?: boolean
  /** Go on after the first failing seed (default: stop there). */
  keepGoing?: boolean
  /** Replay a call script (a shrunk failure) instead of generating calls. */
  script?: { config: SimConfig; calls: CallScript }
  onProgress?: (progress: { done: number; total: number; failed: number }) => void
}

export type FailureKind = 'function-threw' | 'nondeterministic-apply' | 'invariant' | 'not-linearizable' | 'protocol'

export interface CheckFailure {
  seed: number
  kind: FailureKind
  /** What broke, in words. */
  detail: string
  violations: Violation[]
  /** The shortest call sequence found that still fails this way (null: not shrunk). */
  minimal: MinimalCase | null
  /** The command that replays the seed. */
  replay: string
}

export interface MinimalCase {
  /** Whether it fails with the network and disks behaving (no crash, loss or partition). */
  needsFaults: boolean
  calls: CallRecord[]
  config: SimConfig
  script: CallScript
  /** Runs tried while shrinking. */
  runs: number
}

export interface CheckReport {
  machine: string
  /** Seeds run, and seeds asked for (a check stops at its first failure unless told to go on). */
  seeds: number
  seedsPlanned: number
  failed: number
  failures: CheckFailure[]
  calls: number
  commands: number
  crashes: number
  elections: number
  /** Seeds whose history was judged linearizable; seeds skipped because functions read time or chance. */
  linearizable: number
  linearizabilitySkipped: number
  /** Why a history was not judged (functions that depend on chance), if any. */
  notes: string[]
}

/** The kinds of failure, most telling first: the first one present names a failing run. */
const kindOrder: FailureKind[] = ['function-threw', 'nondeterministic-apply', 'invariant', 'not-linearizable', 'protocol']

function kindOf(violation: Violation): FailureKind {
  switch (violation.property) {
    case 'function-threw':
      return 'function-threw'
    case 'convergence':
      return 'nondeterministic-apply'
    case 'integrity':
      return 'invariant'
    case 'linearizability':
      return 'not-linearizable'
    default:
      return 'protocol'
  }
}

export function failureKind(violations: readonly Violation[]): FailureKind | null {
  const kinds = new Set(violations.map(kindOf))
  return kindOrder.find((kind) => kinds.has(kind)) ?? null
}

export const kindText: Record<FailureKind, string> = {
  'function-threw': 'a function threw instead of rejecting',
  'nondeterministic-apply': 'replicas that applied the same commands hold different states: apply is not deterministic',
  invariant: 'an invariant does not hold',
  'not-linearizable': 'call results are not linearizable',
  protocol: 'the protocol itself failed (a Concord bug: please report it with the replay command)',
}

/** One prepared check: the spec turned into a simulator workload. */
export class Checker {
  readonly name: string
  private readonly definition: MachineDefinition | null
  private readonly createReplicaMachine: () => SimMachine
  private readonly invariants: Invariants
  private readonly workload: Workload | null
  private readonly schemaCalls: Map<string, (random: Random) => Json>

  constructor(spec: CheckSpec) {
    const machine = spec.machine
    if (!('create' in machine)) {
      if (typeof machine.functions !== 'object' || machine.functions === null) throw new TypeError('machine must be a defineMachine definition or { name, create(), functions? }')
      this.definition = machine
      this.createReplicaMachine = () => createMachine(machine)
    } else {
      if (typeof machine.create !== 'function') throw new TypeError('machine.create must be a function that makes a replica\'s machine')
      // Its functions, if given, are the reference: the sequential model runs them.
      this.definition = machine.functions !== undefined ? { name: machine.name, version: 1, functions: machine.functions, upgrades: {} } : null
      this.createReplicaMachine = () => machine.create()
    }
    this.name = machine.name
    this.invariants = spec.invariants ?? {}
    for (const [name, predicate] of Object.entries(this.invariants)) {
      if (typeof predicate !== 'function') throw new TypeError(`invariant ${JSON.stringify(name)} must be a function of the state`)
    }
    this.workload = spec.workload ?? null
    this.schemaCalls = new Map(Object.entries(machine.functions ?? {}).map(([name, def]) => [name, arbitraryFor(def.args, `function ${name}`)]))
    if (this.workload === null && this.schemaCalls.size === 0) throw new ArgumentsError('a machine without a definition of its functions needs a workload that makes its calls')
  }

  /** Run one simulation: seeded config, optional script. */
  run(config: SimConfig, script?: CallScript): { result: SimResult; simulation: Simulation; model: MachineModel | null } {
    const world = new VirtualWorld(config.seed)
    const model = this.definition === null ? null : new MachineModel(this.definition, world)
    const workload: SimWorkload = {
      createMachine: this.createReplicaMachine,
      model,
      invariant: (state) => this.brokenInvariant(state),
      generate: (random, view, client) => this.nextCall(random, view, client),
    }
    const simulation = new Simulation(config, { workload, ...(script !== undefined ? { script } : {}), enter: (replica, time) => world.enter(replica, time) })
    const restore = world.install()
    let result: SimResult
    try {
      result = simulation.run()
    } finally {
      restore()
    }
    // A history of functions that read time or chance is not judged against the sequential model.
    if (model?.dependsOnChance === true) result = { ...result, violations: result.violations.filter((v) => v.property !== 'linearizability') }
    result = { ...result, ok: result.violations.length === 0 }
    return { result, simulation, model }
  }

  configFor(seed: number, options: CheckOptions): SimConfig {
    return configForSeed(seed, {
      corruptions: false,
      membership: false,
      ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
      ...(options.callsPerClient !== undefined ? { callsPerClient: options.callsPerClient } : {}),
    })
  }

  private brokenInvariant(state: Record<string, Json>): string | null {
    for (const [name, holds] of Object.entries(this.invariants)) {
      let ok: boolean
      try {
        ok = holds(state)
      } catch (error) {
        return `invariant "${name}" threw ${String(error)} on state ${preview(state)}`
      }
      if (!ok) return `"${name}" is false on state ${preview(state)}`
    }
    return null
  }

  private nextCall(random: Random, view: Readonly<Record<string, Json>>, client: string): Call {
    const int = (min: number, max: number) => min + Math.floor(random.next() * (max - min + 1))
    const fromSchema = (name?: string): Call => {
      const names = [...this.schemaCalls.keys()]
      const chosen = name ?? names[int(0, names.length - 1)]!
      const draw = this.schemaCalls.get(chosen)
      if (draw === undefined) throw new ArgumentsError(names.length === 0 ? 'fromSchema: the machine gives no functions to draw calls from' : `fromSchema: the machine has no function ${JSON.stringify(chosen)}`)
      return { name: chosen, args: draw(random) }
    }
    if (this.workload === null) return fromSchema()
    const call = this.workload({ state: view, client, random: () => random.next(), int, pick: (items) => items[int(0, items.length - 1)]!, fromSchema })
    if (typeof call?.name !== 'string') throw new TypeError(`the workload must return { name, args }: got ${preview(call as unknown as Json)}`)
    return call as Call
  }
}

const chanceNote = 'functions read the time or random numbers: their results were not judged against the sequential model (agreement, durability and at-most-once were still checked)'
const noModelNote = 'a machine written against MachinePort without its functions has no sequential model: results were not judged for linearizability (agreement, durability and at-most-once were still checked)'

/** Run the check over the seeds; stop at the first failure unless told to go on. */
export function check(spec: CheckSpec, options: CheckOptions = {}): CheckReport {
  const checker = new Checker(spec)
  const seeds = options.seed !== undefined ? [options.seed] : Array.from({ length: options.seeds ?? 100 }, (_, i) => (options.start ?? 0) + i)
  const planned = options.script !== undefined ? [options.script.config.seed] : seeds
  const report: CheckReport = { machine: checker.name, seeds: 0, seedsPlanned: planned.length, failed: 0, failures: [], calls: 0, commands: 0, crashes: 0, elections: 0, linearizable: 0, linearizabilitySkipped: 0, notes: [] }
  const shrunk = new Set<FailureKind>()
  for (const seed of planned) {
    const config = options.script?.config ?? checker.configFor(seed, options)
    const { result, model, simulation } = checker.run(config, options.script?.calls)
    report.seeds++
    report.calls += result.stats.calls
    report.commands += result.stats.commands
    report.crashes += result.stats.crashes
    report.elections += result.stats.elections
    const unjudged = model === null ? noModelNote : model.dependsOnChance ? chanceNote : null
    if (unjudged !== null) {
      report.linearizabilitySkipped++
      if (!report.notes.includes(unjudged)) report.notes.push(unjudged)
    } else if (result.stats.linearizability === true) report.linearizable++
    const kind = failureKind(result.violations)
    if (kind !== null) {
      report.failed++
      // The most telling of its violations: for diverged replicas, the one that shows their states (which keys differ) over a digest mismatch.
      const ofKind = result.violations.filter((v) => kindOf(v) === kind)
      const first = ofKind.find((v) => v.detail.includes(' differs from ')) ?? ofKind[0]!
      let minimal: MinimalCase | null = null
      if (options.script !== undefined) minimal = { needsFaults: config.chaosInterval !== Infinity, calls: simulation.calls(), config, script: options.script.calls, runs: 1 }
      else if (options.shrink !== false && !shrunk.has(kind)) minimal = shrink(checker, config, kind)
      shrunk.add(kind)
      report.failures.push({ seed, kind, detail: `${kindText[kind]}: ${first.detail}`, violations: result.violations, minimal, replay: `--seed ${seed}` })
    }
    options.onProgress?.({ done: report.seeds, total: planned.length, failed: report.failed })
    if (kind !== null && options.keepGoing !== true) break
  }
  return report
}

export function preview(value: Json | undefined, max = 200): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > max ? `${text.slice(0, max)}…` : text
}
