import { replayCommand, runSeed } from './simulation.ts'

export interface SweepSummary {
  seeds: number
  /** One line per failing seed, with its replay command. */
  failures: string[]
  commands: number
  /** Seeds whose client history the checker proved linearizable. */
  linearizable: number
}

/** Runs seeds [from, to) with every fault on. */
export function sweep(from: number, to: number): SweepSummary {
  const summary: SweepSummary = { seeds: to - from, failures: [], commands: 0, linearizable: 0 }
  for (let seed = from; seed < to; seed++) {
    const result = runSeed(seed)
    summary.commands += result.stats.commands
    if (result.stats.linearizability === true) summary.linearizable++
    if (!result.ok) {
      const v = result.violations[0]!
      summary.failures.push(`seed ${seed} [${v.property}] ${v.detail.slice(0, 300)} — replay: ${replayCommand(result.config)}`)
    }
  }
  return summary
}
