import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { checkWriteSet } from './ops.ts'
import { writeSetSchema } from './ops-schema.ts'

describe('checkWriteSet', () => {
  it('agrees with the zod schema on random near-valid write-sets', () => {
    const field = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 3 }), fc.integer({ min: -2, max: 5 }), fc.double(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.constant(() => 1))
    const op = fc.record(
      {
        op: fc.constantFrom('set', 'delete', 'splice', 'insert', 'remove', 'move', 'bogus'),
        key: fc.oneof(fc.string({ minLength: 0, maxLength: 4 }), fc.integer(), fc.string({ minLength: 257, maxLength: 260 })),
        value: field,
        index: field,
        remove: field,
        insert: field,
        from: field,
        to: field,
      },
      { requiredKeys: ['op'] },
    )
    fc.assert(
      fc.property(fc.oneof(fc.array(op, { maxLength: 4 }), field), (payload) => {
        expect(checkWriteSet(payload) === null).toBe(writeSetSchema.safeParse(payload).success)
      }),
      { numRuns: 5000 },
    )
  })
})
