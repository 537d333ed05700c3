import { expect, it } from 'vitest'
import { sweep, sweepTimeoutMs } from './sweep.ts'

// Seed 004 under every other fault: spare replicas join, members leave
// gracefully, crashed ones are removed after their silence and rejoin when
// they return; some spares join as learners by choice; tabs freeze, some
// long enough to be removed, and must rejoin once thawed. Every safety
// property, convergence and linearizability hold.
it('simulator sweep with membership churn: seeds 0–399', () => {
  const summary = sweep(0, 400, { membership: true })
  expect(summary.failures).toEqual([])
  expect(summary.linearizable).toBe(summary.seeds)
  expect(summary.reconfigurations).toBeGreaterThan(300)
  // A third of the runs have a spare that joins as a learner by choice: it is fed, never made a voter (the 'learner' property).
  expect(summary.learnerApplied).toBeGreaterThan(500)
  expect(summary.freezes).toBeGreaterThan(summary.seeds / 2)
  console.log(`membership sweep: ${summary.reconfigurations} reconfigurations, ${summary.learnerApplied} commands applied by learners by choice, ${summary.freezes} freezes (${summary.removedWhileFrozen} members removed while frozen)`)
}, sweepTimeoutMs)
