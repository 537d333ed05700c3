import { describe, expect, it } from 'vitest'
import { check, type CheckSpec } from '@concord/check'
import { createMachine } from '@concord/machine'
import * as gameCheck from './machine.check.ts'
import { game, type Players } from './machine.ts'

const seeded = (values: number[]) => ({ next: () => values.shift() ?? 0 })

describe('the game: rules enforced by the leader', () => {
  it('refuses a move onto another player and off the board; the coin scores and moves', () => {
    const m = createMachine(game)
    let n = 0
    const run = (name: string, args: unknown, random: number[] = []) => {
      const out = m.execute(++n, name, args, { tick: 0, random: seeded(random) })
      if (out.ok) m.apply(n, out.payload)
      return out
    }
    // The first free cell for ann (0,0) and, after her, the coin at (1,0).
    expect(run('join', { id: 'a', name: 'ann' }, [0, 0])).toMatchObject({ ok: true })
    expect(m.get('coin')).toEqual({ x: 1, y: 0 })
    expect(run('join', { id: 'b', name: 'bob' }, [0])).toMatchObject({ ok: true })
    const players = m.get('players') as Players
    expect(players['b']).toMatchObject({ x: 2, y: 0 })
    expect(run('move', { id: 'a', dir: 'up' })).toMatchObject({ ok: false, reason: 'the edge of the board' })
    expect(run('move', { id: 'a', dir: 'right' }, [0.5])).toMatchObject({ ok: true, result: { x: 1, y: 0, score: 1, scored: true } })
    expect(run('move', { id: 'a', dir: 'right' })).toMatchObject({ ok: false, reason: 'bob is there' })
    expect(m.get('coin')).not.toEqual({ x: 1, y: 0 })
    expect(run('move', { id: 'zed', dir: 'left' })).toMatchObject({ ok: false, reason: 'you are not in the game' })
  })

  it('keeps its invariants under the simulator over 100 seeds (concord check)', () => {
    const report = check(gameCheck as CheckSpec, { seeds: 100 })
    expect(report.failures).toEqual([])
    expect(report.seeds).toBe(100)
    // Its functions draw random cells: histories are checked for invariants and determinism of apply, not linearizability (the checker says so).
    expect(report.linearizabilitySkipped).toBe(100)
    expect(report.commands).toBeGreaterThan(100)
  })
})
