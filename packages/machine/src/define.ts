import type { z } from 'zod'
import type { Json } from './json.ts'

/**
 * defineMachine (DESIGN.md §7): the app's functions, each with a zod schema
 * for its arguments. A function runs only on the leader, against the latest
 * state (the leader state LS), may be non-deterministic and may reject; what
 * it writes through `tx` becomes the command every replica applies.
 */

/** What a function reads and writes. Values are JSON; what `get` returns is frozen. */
export interface Tx {
  get<T extends Json = Json>(key: string): T | undefined
  has(key: string): boolean
  set(key: string, value: Json): void
  delete(key: string): void
  /** Text: replace `remove` UTF-16 code units at `index` by `insert`. */
  splice(key: string, index: number, remove: number, insert: string): void
  /** Lists: insert `value` at `index`. */
  insert(key: string, index: number, value: Json): void
  /** Lists: remove the item at `index`. */
  remove(key: string, index: number): void
  /** Lists: move the item at `from` to `to`. */
  move(key: string, from: number, to: number): void
}

/** Non-determinism a function may use, injected by the host (seeded in the simulator). */
export interface FnContext {
  /** The leader's tick when it ran the function. */
  tick: number
  /** A float in [0, 1) from the replica's seeded source. */
  random(): number
}

/** Thrown (via `throw reject(reason)`) to refuse a call: nothing is sent to anyone. */
export class Rejection extends Error {
  override name = 'Rejection'
  constructor(readonly reason: string) {
    super(reason)
  }
}

export function reject(reason: string): Rejection {
  return new Rejection(reason)
}

export interface FunctionDef<A extends z.ZodType = z.ZodType, R extends Json | void = Json | void> {
  readonly args: A
  readonly run: (tx: Tx, args: z.output<A>, ctx: FnContext) => R
}

export function fn<A extends z.ZodType, R extends Json | void>(
  args: A,
  run: (tx: Tx, args: z.output<A>, ctx: FnContext) => R,
): FunctionDef<A, R> {
  return { args, run }
}

export type Functions = Record<string, FunctionDef>

/**
 * A step of an app upgrade: it turns state of version `v - 1` into state of
 * version `v` (rename keys, fill new ones). It runs once per room, on the
 * leader, as part of a command every replica applies: the log carries the
 * upgrade, so a replica that catches up later gets it like any other write.
 */
export type Upgrade = (tx: Tx) => void

export interface MachineDefinition<F extends Functions = Functions> {
  readonly name: string
  /** Bumped when functions or state layout change incompatibly. */
  readonly version: number
  readonly functions: F
  /** Upgrade steps by the version they lead to (2 … version); a missing step changes nothing but the version. */
  readonly upgrades: Readonly<Record<number, Upgrade>>
}

export class MachineDefinitionError extends Error {
  override name = 'MachineDefinitionError'
}

export const machineNamePattern = /^[a-z][a-z0-9-]{0,63}$/

export function defineMachine<F extends Functions>(definition: {
  name: string
  version?: number
  functions: F
  upgrades?: Record<number, Upgrade>
}): MachineDefinition<F> {
  if (!machineNamePattern.test(definition.name)) {
    throw new MachineDefinitionError(`machine name must match ${machineNamePattern}: got ${JSON.stringify(definition.name)}`)
  }
  const version = definition.version ?? 1
  if (!Number.isInteger(version) || version < 1) throw new MachineDefinitionError(`version must be a positive integer: got ${version}`)
  for (const [name, def] of Object.entries(definition.functions)) {
    if (typeof def?.run !== 'function' || typeof def.args?.safeParse !== 'function') {
      throw new MachineDefinitionError(`function ${name} must be made with fn(schema, run)`)
    }
  }
  const upgrades = definition.upgrades ?? {}
  for (const [to, step] of Object.entries(upgrades)) {
    const target = Number(to)
    if (!Number.isInteger(target) || target < 2 || target > version) throw new MachineDefinitionError(`upgrades are keyed by the version they lead to, 2…${version}: got ${JSON.stringify(to)}`)
    if (typeof step !== 'function') throw new MachineDefinitionError(`upgrade to version ${to} must be a function (tx) => void`)
  }
  return Object.freeze({ name: definition.name, version, functions: definition.functions, upgrades: Object.freeze({ ...upgrades }) })
}

/** The argument type of function `K` of a machine definition. */
export type ArgsOf<F extends Functions, K extends keyof F> = z.input<F[K]['args']>
/** The result type of function `K`. */
export type ResultOf<F extends Functions, K extends keyof F> = ReturnType<F[K]['run']>
