import { expect } from 'vitest'
import { replayCommand, runSeed } from './simulation.ts'

/** Runs seeds [from, to) and fails with every failing seed's replay command. */
export function sweep(from: number, to: number): void {
  const failures: string[] = []
  let commands = 0
  let linearizable = 0
  for (let seed = from; seed < to; seed++) {
    const result = runSeed(seed)
    commands += result.stats.commands
    if (result.stats.linearizability === true) linearizable++
    if (!result.ok) {
      const v = result.violations[0]!
      failures.push(`seed ${seed} [${v.property}] ${v.detail.slice(0, 300)} — replay: ${replayCommand(result.config)}`)
    }
  }
  expect(failures).toEqual([])
  // The sweep did real work: commands were issued and histories were checked.
  expect(commands).toBeGreaterThan((to - from) * 10)
  expect(linearizable).toBe(to - from)
}
