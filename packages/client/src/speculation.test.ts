import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createMachine, defineMachine, fn, reject } from '@concord/machine'
import { Speculations, speculationsMax } from './speculation.ts'

const stock = defineMachine({
  name: 'stock',
  functions: {
    add: fn(z.object({ v: z.number().int() }), (tx, { v }) => {
      tx.set('n', (tx.get<number>('n') ?? 0) + v)
    }),
    take: fn(z.object({ v: z.number().int() }), (tx, { v }) => {
      const have = tx.get<number>('n') ?? 0
      if (have < v) throw reject(`only ${have}`)
      tx.set('n', have - v)
    }),
  },
})
const set = (n: number) => [{ op: 'set', key: 'n', value: n }]
const noRandom = () => 0

describe('optimistic calls: MS with the calls in flight run over it', () => {
  it('shows a call at once, rebases it over a command issued meanwhile, ends it once MS holds its command', () => {
    const mirror = createMachine(stock)
    mirror.apply(1, set(10))
    const speculations = new Speculations()
    const id = speculations.add('add', { v: 5 })!
    expect(speculations.view(mirror, noRandom)).toEqual({ n: 15 })
    // Another tab's command is issued first: ours runs over it.
    mirror.apply(2, set(100))
    expect(speculations.view(mirror, noRandom)).toEqual({ n: 105 })
    // The leader issued ours at 3; MS has not applied it yet: still shown.
    expect(speculations.issued(id, 3, 2)).toBe(false)
    expect(speculations.view(mirror, noRandom)).toEqual({ n: 105 })
    mirror.apply(3, set(105))
    expect(speculations.settle(3)).toBe(true)
    expect(speculations.size).toBe(0)
    expect(speculations.view(mirror, noRandom)).toEqual({ n: 105 })
  })

  it('rolls back a dropped call and leaves MS untouched by any view', () => {
    const mirror = createMachine(stock)
    mirror.apply(1, set(3))
    const speculations = new Speculations()
    const first = speculations.add('take', { v: 2 })!
    speculations.add('add', { v: 1 })
    expect(speculations.view(mirror, noRandom)).toEqual({ n: 2 })
    speculations.drop(first)
    expect(speculations.view(mirror, noRandom)).toEqual({ n: 4 })
    expect(mirror.snapshot()).toEqual({ n: 3 })
  })

  it('shows nothing for a call the local state refuses, and runs the later ones', () => {
    const mirror = createMachine(stock)
    mirror.apply(1, set(1))
    const speculations = new Speculations()
    speculations.add('take', { v: 5 })
    speculations.add('add', { v: 2 })
    expect(speculations.view(mirror, noRandom)).toEqual({ n: 3 })
  })

  it('an answer for an instance MS already holds ends the speculation at once', () => {
    const mirror = createMachine(stock)
    const speculations = new Speculations()
    const id = speculations.add('add', { v: 1 })!
    mirror.apply(7, set(1))
    expect(speculations.issued(id, 7, 7)).toBe(true)
    expect(speculations.size).toBe(0)
  })

  it(`shows at most ${speculationsMax} calls in flight`, () => {
    const speculations = new Speculations()
    for (let i = 0; i < speculationsMax; i++) expect(speculations.add('add', { v: 1 })).not.toBeNull()
    expect(speculations.add('add', { v: 1 })).toBeNull()
    expect(speculations.size).toBe(speculationsMax)
  })
})
