import { expect, it } from 'vitest'
import { sweep, sweepTimeoutMs } from './sweep.ts'

// Seed 000 under every other fault: now and then one replica's machine state
// is corrupted (while the cluster is level and in agreement, as the seed
// assumes: at most one inconsistent node). Convergence of every run — the
// same state on every replica once faults stop — is the proof of repair; a
// corrupted leader answers from a wrong state, so linearizability is skipped.
it('simulator sweep with corrupted states: seeds 0–399 detect, refresh and converge', () => {
  const summary = sweep(0, 400, { corruptions: true })
  expect(summary.failures).toEqual([])
  expect(summary.corruptions).toBeGreaterThan(30)
  expect(summary.refreshes).toBeGreaterThan(15)
  expect(summary.transfers).toBeGreaterThan(summary.refreshes) // refreshes fetch a snapshot
}, sweepTimeoutMs)
