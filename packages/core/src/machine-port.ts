import type { Random } from './random.ts'
import type { Instance, RejectCode } from './types.ts'

/** What a function sees besides its arguments: the tick it runs at and the
 *  injected seeded random source (functions may be non-deterministic, [0055]). */
export interface ExecEnv {
  tick: number
  random: Random
}

export type ExecOutcome =
  | { ok: true; payload: unknown; result: unknown }
  | { ok: false; code: RejectCode; reason: string }

/**
 * The two-tier state machine as the core drives it (seed 002, [0055]–[0057],
 * [0071]): the machine state MS, changed only by issued commands in instance
 * order, and the leader state LS, where the leader executes functions.
 * `packages/machine` implements it; the core never looks inside a payload.
 */
export interface MachinePort {
  /** Apply an issued command to MS. Must be deterministic. */
  apply(instance: Instance, payload: unknown): void
  /** [0057] step 3: LS := MS (or an empty overlay over MS, [0071]). */
  leaderReset(): void
  /** Apply a command of the initial history H (or any proposal not made by
   *  `execute`) to LS. */
  leaderApply(instance: Instance, payload: unknown): void
  /** [0057] step 3'': execute a function on LS. On success LS includes its
   *  effects and the returned payload is the command's write-set. A rejected
   *  call must leave LS unchanged. */
  execute(instance: Instance, name: string, args: unknown, env: ExecEnv): ExecOutcome
  /** Check a payload that arrived from a peer; null if well-formed, else why not. */
  validatePayload(payload: unknown): string | null
  /** MS as JSON data (seed 001 snapshots). The core keeps and persists what
   *  it gets, so later applies must not change it (MachineInstance hands out
   *  a fresh object of frozen values). */
  snapshot(): unknown
  /** Check a snapshot's state that arrived from a peer; null if well-formed. */
  validateSnapshot(state: unknown): string | null
  /** Replace MS with a snapshot's state (validated); clears LS. */
  restore(state: unknown): void
  /** A digest of MS (seed 000): replicas in the same state have the same one. */
  digest(): string
}
