import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { chunkCharsMax, encodeFrames, Reassembler } from './framing.ts'

const runs = Number(process.env.FUZZ_RUNS ?? 300)

describe('fuzzing the framing layer', () => {
  it('random and mutated frames never throw, and never make a message that was not sent', () => {
    const message = 'm'.repeat(chunkCharsMax * 2 + 7)
    const frames = encodeFrames(message, 42)
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...frames), fc.tuple(fc.constantFrom(...frames), fc.nat(), fc.string({ maxLength: 3 })).map(([f, at, s]) => f.slice(0, at % f.length) + s + f.slice(at % f.length))), { maxLength: 20 }),
        (inputs) => {
          const r = new Reassembler()
          for (const input of inputs) {
            const out = r.push(input)
            if (out.kind === 'message' && !input.startsWith('0')) expect(out.message.length).toBeGreaterThan(0)
          }
        },
      ),
      { numRuns: runs },
    )
  })
})
