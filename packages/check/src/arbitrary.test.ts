import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { createRandom } from '@concord/core'
import { ArgumentsError, arbitraryFor } from './arbitrary.ts'
import { VirtualWorld, virtualEpochMs } from './clock.ts'

describe('arguments drawn from zod schemas', () => {
  const schemas: [string, z.ZodType][] = [
    ['enum and bounded ints', z.object({ x: z.enum(['A', 'B', 'C']), v: z.number().int().positive().max(1_000_000) })],
    ['optional, default, nullable, literal', z.object({ s: z.string().max(5).optional(), d: z.string().default('q'), n: z.number().nullable(), k: z.literal('go') })],
    ['arrays, tuples, unions', z.object({ l: z.array(z.union([z.literal(1), z.boolean()])).min(1).max(3), t: z.tuple([z.string(), z.number().int()]) })],
    ['records and nested objects', z.object({ r: z.record(z.string(), z.number().int().min(0)), o: z.object({ deep: z.object({ flag: z.boolean() }) }) })],
    ['text edits', z.object({ index: z.number().int().min(0), remove: z.number().int().min(0), insert: z.string().max(64) })],
    ['exclusive bounds, multiples', z.object({ a: z.number().gt(10).lt(20), b: z.number().int().multipleOf(5).min(0).max(50) })],
    ['an empty object', z.object({})],
  ]
  for (const [name, schema] of schemas) {
    it(`${name}: 500 draws, every one valid, the same for the same seed`, () => {
      const draw = arbitraryFor(schema, name)
      const a = createRandom(1)
      const b = createRandom(1)
      const seen = new Set<string>()
      for (let i = 0; i < 500; i++) {
        const value = draw(a)
        expect(schema.safeParse(value).success).toBe(true)
        expect(draw(b)).toEqual(value)
        seen.add(JSON.stringify(value))
      }
      // Varied, but from few values: calls must collide.
      if (name !== 'an empty object') expect(seen.size).toBeGreaterThan(5)
    })
  }

  it('keeps values small so that calls collide (most ints near the bottom of the range)', () => {
    const draw = arbitraryFor(z.number().int().min(1).max(1_000_000), 'v')
    const random = createRandom(3)
    const values = Array.from({ length: 1000 }, () => draw(random) as number)
    expect(values.filter((v) => v <= 101).length).toBeGreaterThan(800)
    expect(values).toContain(1)
    expect(values).toContain(1_000_000)
  })

  it('a refinement no draw can meet is a clear error naming the function', () => {
    const draw = arbitraryFor(z.string().refine((s) => s === 'exactly this'), 'function secret')
    expect(() => draw(createRandom(1))).toThrow(ArgumentsError)
    expect(() => draw(createRandom(1))).toThrow(/function secret: 32 values drawn from its schema were all refused/)
  })
})

describe('the virtual world: each replica its own clock and random source', () => {
  it('skews replicas\' clocks, follows simulated time, replays from the seed and restores the globals', () => {
    const realNow = Date.now
    const realRandom = Math.random
    const world = new VirtualWorld(42)
    const restore = world.install()
    let seen: unknown[]
    try {
      world.enter('r0', 100)
      const r0 = [Date.now(), new Date().getTime(), Math.random()]
      world.enter('r1', 100)
      const r1 = [Date.now(), Math.random()]
      world.enter('r0', 250)
      const later = Date.now()
      expect(r0[0]).toBe(virtualEpochMs + 100 + 1000)
      expect(r0[1]).toBe(r0[0])
      expect(r1[0]).toBe(virtualEpochMs + 100 + 2000)
      expect(r1[1]).not.toBe(r0[2])
      expect(later - (r0[0] as number)).toBe(150)
      expect(new Date(0).getTime()).toBe(0)
      expect(world.reads).toBe(6)
      seen = [r0, r1]
    } finally {
      restore()
    }
    expect(Date.now).toBe(realNow)
    expect(Math.random).toBe(realRandom)
    expect(Math.abs(Date.now() - realNow.call(Date))).toBeLessThan(1000)
    // The same seed gives the same draws.
    const again = new VirtualWorld(42)
    const undo = again.install()
    try {
      again.enter('r0', 100)
      const r0 = [Date.now(), new Date().getTime(), Math.random()]
      again.enter('r1', 100)
      expect([r0, [Date.now(), Math.random()]]).toEqual(seen)
    } finally {
      undo()
    }
  })
})
