import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { deflatedFrameBytesMax, FrameDeflater, FrameInflater, inflatedFrameBytesMax } from './deflate.ts'
import { chunkCharsMax, encodeFrames, Reassembler } from './framing.ts'

/** A BeginBallot of a one-character text edit, as the core sends them, and its Voted. */
const ballot = (i: number) => JSON.stringify({
  type: 'BeginBallot', from: 't-41e4a0a1', to: 't-729e7a2c', ballot: { round: 14, replica: 't-41e4a0a1' },
  proposals: [{ instance: 1000 + i, command: { id: `14.${1000 + i}.t-41e4a0a1`, prec: `14.${999 + i}.t-41e4a0a1`, payload: [{ op: 'splice', key: 'doc', at: 1234 + i, remove: 0, insert: 'é' }, { op: 'set', key: 'doc#v', value: 500 + i }], ticket: { client: 't-41e4a0a1/k3j4h5', seq: i + 1, acked: i }, result: 500 + i } }],
})
const voted = (i: number) => JSON.stringify({ type: 'Voted', from: 't-729e7a2c', to: 't-41e4a0a1', ballot: { round: 14, replica: 't-41e4a0a1' }, instances: [1000 + i] })

describe('per-link frame compression', () => {
  it('round-trips a stream of frames of any size and script, chunked ones included, each whole on arrival', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 40 }), fc.integer({ min: 0, max: 2 * chunkCharsMax })), { minLength: 1, maxLength: 8 }), (specs) => {
        const deflater = new FrameDeflater()
        const inflater = new FrameInflater()
        const reassembler = new Reassembler()
        specs.forEach(([seed, extra], id) => {
          const message = seed + '字'.repeat(extra)
          const frames = encodeFrames(message, id)
          const out = frames.map((frame) => {
            const back = inflater.inflate(deflater.deflate(frame))
            expect(back).toBe(frame) // nothing held back for a later frame
            return reassembler.push(back!)
          })
          expect(out.at(-1)).toEqual({ kind: 'message', message })
        })
        expect(inflater.broken).toBeNull()
      }),
      { numRuns: 40 },
    )
  })

  it('makes a stream of consensus messages several times smaller', () => {
    const deflater = new FrameDeflater()
    const inflater = new FrameInflater()
    let plain = 0
    let sent = 0
    for (let i = 0; i < 500; i++) {
      for (const frame of [`0${ballot(i)}`, `0${voted(i)}`]) {
        const bytes = deflater.deflate(frame)
        plain += new TextEncoder().encode(frame).length
        sent += bytes.length
        expect(inflater.inflate(bytes)).toBe(frame)
      }
    }
    expect(plain / sent).toBeGreaterThan(5)
  })

  it('refuses a damaged stream, an oversized frame and a frame that inflates too far, for good', () => {
    const deflater = new FrameDeflater()
    const damaged = new FrameInflater()
    expect(damaged.inflate(deflater.deflate('0hello'))).toBe('0hello')
    const next = deflater.deflate(`0${ballot(1)}`)
    for (let i = 0; i < next.length; i += 3) next[i] = next[i]! ^ 0x5a
    const garbled = damaged.inflate(next)
    if (garbled === null) expect(damaged.broken).not.toBeNull()
    else expect(garbled).not.toBe(`0${ballot(1)}`)

    const big = new FrameInflater()
    expect(big.inflate(new Uint8Array(deflatedFrameBytesMax + 1))).toBeNull()
    expect(big.broken).toMatch(/compressed frame/)
    expect(big.inflate(new FrameDeflater().deflate('0x'))).toBeNull()

    const bomb = new FrameInflater()
    const compressed = new FrameDeflater().deflate('a'.repeat(inflatedFrameBytesMax + 1))
    expect(compressed.length).toBeLessThan(2000)
    expect(bomb.inflate(compressed)).toBeNull()
    expect(bomb.broken).toMatch(/inflates to more than/)
  })
})
