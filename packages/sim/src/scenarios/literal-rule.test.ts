import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildMutant, mutants, removeMutant } from '../mutants.ts'
import { literalRuleScenario } from './literal-rule.ts'

describe("the seed's literal issue rule is unsafe; the lock-ballot rule is not", () => {
  it('with the lock-ballot rule, R3 does not issue the stale majority d next to e', () => {
    const outcome = literalRuleScenario()
    // The literal rule's premises hold on R3: a majority for d in 2.R1, and d's precedent x issued at 1.
    expect(outcome.r3VotedD).toBe(true)
    expect(outcome.r3KnowsX).toBe(true)
    expect(outcome.r1At2).toBeDefined()
    expect(outcome.r1At2).not.toBe(outcome.dId)
    expect(outcome.r3At2).toBeUndefined()
  })

  it('with the literal rule (mutant), the same run issues two commands at instance 2', () => {
    const mutant = mutants.find((m) => m.name === 'seed-literal-issue-rule')!
    const simEntry = buildMutant(mutant)
    const script = join(dirname(simEntry), 'scenarios', 'literal-rule-cli.ts')
    const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx')
    const run = spawnSync(tsx, [script], { encoding: 'utf8' })
    removeMutant(simEntry)
    const outcome = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { r1At2?: string; r3At2?: string; dId?: string; error?: string }
    // R3 issues d while R1 issued e: agreement is broken (the core's own
    // dependency assertions may catch it first).
    if (outcome.error === undefined) {
      expect(outcome.r3At2).toBe(outcome.dId)
      expect(outcome.r1At2).not.toBe(outcome.dId)
    } else {
      expect(outcome.error).toMatch(/agreement|dependency/)
    }
  })
})
