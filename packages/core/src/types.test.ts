import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { commandShape, isCommand } from './types.ts'

describe('isCommand', () => {
  it('agrees with the strict zod shape on random near-valid commands', () => {
    const anything = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -2, max: 3 }), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.constant(2 ** 60))
    const text = fc.oneof(anything, fc.string({ minLength: 1, maxLength: 4 }), fc.string({ minLength: 159, maxLength: 165 }))
    const ticket = fc.oneof(anything, fc.record({ client: text, seq: anything, acked: anything, extra: anything }, { requiredKeys: [] }))
    const rejected = fc.oneof(anything, fc.record({ code: text, reason: text, more: anything }, { requiredKeys: [] }))
    const members = fc.oneof(anything, fc.array(text, { maxLength: 3 }), fc.array(fc.string({ minLength: 1, maxLength: 2 }), { minLength: 63, maxLength: 66 }))
    const command = fc.record({ id: text, prec: text, payload: anything, ticket, result: anything, rejected, members, junk: anything }, { requiredKeys: [] })
    fc.assert(
      fc.property(command, (c) => {
        expect(isCommand(c)).toBe(commandShape.safeParse(c).success)
      }),
      { numRuns: 20000 },
    )
    expect(isCommand({ id: 'a', prec: '0', payload: [], ticket: { client: 'c', seq: 1, acked: 0 }, result: null })).toBe(true)
  })
})
