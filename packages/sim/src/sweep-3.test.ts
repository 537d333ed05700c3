import { it } from 'vitest'
import { sweep } from './sweep.ts'

// One of four sweep files (seeds 0–3999 in all, split so the two CI cores
// share them), every fault on: crashes (aimed at the leader too), restarts,
// partitions, loss, duplication, reordering, slow disks.
it('simulator sweep: seeds 3000–3999 keep every safety property, converge and are linearizable', () => sweep(3000, 4000))
