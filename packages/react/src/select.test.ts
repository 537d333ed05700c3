import { describe, expect, it } from 'vitest'
import { selectWith } from './select.ts'

describe('useStore: a selection stays the same value while nothing it reads changed', () => {
  it('runs the selector only for a new state or a new selector', () => {
    let runs = 0
    const select = (s: { a: number[] }) => (runs++, s.a)
    const selected = selectWith<{ a: number[] }, number[]>()
    const state = { a: [1] }
    expect(selected(state, select)).toBe(state.a)
    selected(state, select)
    expect(runs).toBe(1)
    selected({ a: [2] }, select)
    expect(runs).toBe(2)
  })

  it('returns the previous selection when it is equal by isEqual, a new one when not', () => {
    const sameItems = (x: number[], y: number[]) => x.length === y.length && x.every((v, i) => v === y[i])
    const selected = selectWith<{ a: number[] }, number[]>(sameItems)
    const pick = (s: { a: number[] }) => s.a.slice()
    const first = selected({ a: [1, 2] }, pick)
    expect(selected({ a: [1, 2] }, pick)).toBe(first)
    const changed = selected({ a: [1, 3] }, pick)
    expect(changed).not.toBe(first)
    expect(changed).toEqual([1, 3])
  })
})
