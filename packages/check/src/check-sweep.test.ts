import { describe, expect, it } from 'vitest'
import { check, type CheckSpec } from './check.ts'
import { sweepTimeoutMs } from '@concord/sim'
import * as warehouseCheck from '../../../apps/warehouse/src/machine.check.ts'

/** Issue 10's acceptance: the correct warehouse machine passes 1,000 seeds. */
describe('concord check: the warehouse app over 1,000 seeds', () => {
  it('seeds 0–999: no failure, every history linearizable', () => {
    const report = check(warehouseCheck as CheckSpec, { seeds: 1000 })
    expect(report.failures).toEqual([])
    expect(report.seeds).toBe(1000)
    expect(report.linearizable).toBe(1000)
  }, sweepTimeoutMs)
})
