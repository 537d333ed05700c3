import { expect, it } from 'vitest'
import { sweep } from './sweep.ts'

// Seed 004 under every other fault: spare replicas join, members leave
// gracefully, crashed ones are removed after their silence and rejoin when
// they return. Every safety property, convergence and linearizability hold.
it('simulator sweep with membership churn: seeds 0–399', () => {
  const summary = sweep(0, 400, { membership: true })
  expect(summary.failures).toEqual([])
  expect(summary.linearizable).toBe(summary.seeds)
  expect(summary.reconfigurations).toBeGreaterThan(300)
})
