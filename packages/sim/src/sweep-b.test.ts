import { it } from 'vitest'
import { sweep } from './sweep.ts'

it('simulator sweep: seeds 600–1199 keep every safety property, converge and are linearizable', () => sweep(600, 1200))
