import { replayCommand, runSeed, type SimConfig } from './simulation.ts'

export interface SweepSummary {
  seeds: number
  /** One line per failing seed, with its replay command. */
  failures: string[]
  commands: number
  /** Seeds whose client history the checker proved linearizable. */
  linearizable: number
  /** Snapshots sent to laggards; states corrupted and repaired by refreshes. */
  transfers: number
  corruptions: number
  refreshes: number
  reconfigurations: number
  learnerApplied: number
  /** Replicas frozen, and members the room removed while they were frozen. */
  freezes: number
  removedWhileFrozen: number
}

/** Runs seeds [from, to) with every fault on. */
/**
 * A sweep file's time limit: bounded by its seeds, not by time; on two cores
 * shared with other tests a thousand seeds took up to 270 s (180 s alone),
 * past vitest's default limit here.
 */
export const sweepTimeoutMs = 600_000

export function sweep(from: number, to: number, overrides: Partial<SimConfig> = {}): SweepSummary {
  const summary: SweepSummary = { seeds: to - from, failures: [], commands: 0, linearizable: 0, transfers: 0, corruptions: 0, refreshes: 0, reconfigurations: 0, learnerApplied: 0, freezes: 0, removedWhileFrozen: 0 }
  for (let seed = from; seed < to; seed++) {
    const result = runSeed(seed, overrides)
    summary.commands += result.stats.commands
    summary.transfers += result.stats.transfers
    summary.corruptions += result.stats.corruptions
    summary.refreshes += result.stats.refreshes
    summary.reconfigurations += result.stats.reconfigurations
    summary.learnerApplied += result.stats.learnerApplied
    summary.freezes += result.stats.freezes
    summary.removedWhileFrozen += result.stats.removedWhileFrozen
    if (result.stats.linearizability === true) summary.linearizable++
    if (!result.ok) {
      const v = result.violations[0]!
      summary.failures.push(`seed ${seed} [${v.property}] ${v.detail.slice(0, 300)} — replay: ${replayCommand(result.config)}${overrides.corruptions === true ? ' --corrupt' : ''}${overrides.membership === true ? ' --membership' : ''}${overrides.freezes === false ? ' --no-freezes' : ''}${overrides.leaderFreezes === true ? ' --freeze-leader' : ''}`)
    }
  }
  return summary
}
