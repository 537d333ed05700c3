import { expect, it } from 'vitest'
import { sweep, sweepTimeoutMs } from './sweep.ts'

// One of four sweep files (seeds 0–3999 in all, split so the two CI cores
// share them), every fault on: crashes (aimed at the leader too), restarts,
// partitions, loss, duplication, reordering, slow disks, dueling leaders,
// frozen tabs (the leader's often; thawed, they must catch up).
it('simulator sweep: seeds 2000–2999 keep every safety property, converge and are linearizable', () => {
  const summary = sweep(2000, 3000)
  expect(summary.failures).toEqual([])
  expect(summary.linearizable).toBe(summary.seeds)
  expect(summary.commands).toBeGreaterThan(summary.seeds * 10) // the runs did real work
}, sweepTimeoutMs)
