import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { chunkCharsMax, encodeFrames, partialMessagesMax, Reassembler } from './framing.ts'

describe('framing', () => {
  it('round-trips messages of any size, in chunks no longer than the limit', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), fc.integer({ min: 0, max: 3 * chunkCharsMax }), (seed, extra) => {
        const message = seed + 'é'.repeat(extra)
        const frames = encodeFrames(message, 7)
        expect(frames.every((f) => f.length <= chunkCharsMax + 40)).toBe(true)
        const r = new Reassembler()
        const out = frames.map((f) => r.push(f))
        expect(out.at(-1)).toEqual({ kind: 'message', message })
        expect(out.slice(0, -1).every((o) => o.kind === 'partial')).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  it('reassembles interleaved messages and chunks out of order', () => {
    const a = 'a'.repeat(chunkCharsMax * 2 + 5)
    const b = 'b'.repeat(chunkCharsMax + 1)
    const fa = encodeFrames(a, 1)
    const fb = encodeFrames(b, 2)
    const r = new Reassembler()
    const got = [fa[2]!, fb[1]!, fa[0]!, fb[0]!, fa[1]!].map((f) => r.push(f)).filter((o) => o.kind === 'message')
    expect(got).toEqual([{ kind: 'message', message: b }, { kind: 'message', message: a }])
  })

  it('drops what is malformed or out of bounds, and bounds the messages in progress', () => {
    const r = new Reassembler()
    expect(r.push('x')).toMatchObject({ kind: 'dropped' })
    expect(r.push('1abc;zz')).toMatchObject({ kind: 'dropped' })
    expect(r.push('11,5,3;zz')).toMatchObject({ kind: 'dropped' })
    expect(r.push('11,0,999999;zz')).toMatchObject({ kind: 'dropped' })
    for (let id = 0; id < partialMessagesMax + 5; id++) r.push(`1${id},0,2;x`)
    // The oldest partial messages were forgotten: completing one of them yields nothing.
    expect(r.push('10,1,2;y')).toEqual({ kind: 'partial' })
    expect(r.push(`1${partialMessagesMax + 4},1,2;y`)).toEqual({ kind: 'message', message: 'xy' })
  })
})
