import { it } from 'vitest'
import { sweep } from './sweep.ts'

// Seeds 0–599 (sweep-b.test.ts runs 600–1199), all faults on: crashes,
// restarts, partitions, loss, duplication, reordering, slow disks.
it('simulator sweep: seeds 0–599 keep every safety property, converge and are linearizable', () => sweep(0, 600))
