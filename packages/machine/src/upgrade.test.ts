import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createRandom, type ExecOutcome } from '@concord/core'
import { createMachine, defineMachine, fn, MachineDefinitionError, upgradeFunction, versionKey, type MachineInstance } from './index.ts'

const env = { tick: 1, random: createRandom(1) }

/** Version 1 keeps a count under 'n'. */
const v1 = defineMachine({
  name: 'tally',
  functions: {
    add: fn(z.object({ by: z.number() }), (tx, { by }) => {
      tx.set('n', (tx.get<number>('n') ?? 0) + by)
      return tx.get<number>('n') ?? 0
    }),
  },
})

/** Version 3: the count moved to 'count' (step 2), and a 'unit' appeared (step 3). */
const steps: number[] = []
const v3 = defineMachine({
  name: 'tally',
  version: 3,
  upgrades: {
    2: (tx) => {
      steps.push(2)
      tx.set('count', tx.get<number>('n') ?? 0)
      tx.delete('n')
    },
    3: (tx) => {
      steps.push(3)
      tx.set('unit', 'apples')
    },
  },
  functions: {
    add: fn(z.object({ by: z.number() }), (tx, { by }) => {
      tx.set('count', (tx.get<number>('count') ?? 0) + by)
      return `${tx.get<number>('count')} ${tx.get<string>('unit')}`
    }),
    stamp: fn(z.object({}), (tx) => tx.set(versionKey, 99)),
  },
})

let instance = 0
/** Execute on the leader and apply the command to MS, as the core would. */
function run(machine: MachineInstance, name: string, args: unknown): ExecOutcome {
  const outcome = machine.execute(++instance, name, args, env)
  if (outcome.ok) machine.apply(instance, outcome.payload)
  return outcome
}

function stateOfV1(): Record<string, unknown> {
  const old = createMachine(v1)
  run(old, 'add', { by: 5 })
  expect(old.stateVersion()).toBe(1)
  return old.snapshot()
}

describe('app upgrades (machine versions), carried by the log', () => {
  it('a new room of a newer machine is stamped with its version by its first command; no step runs', () => {
    steps.length = 0
    const fresh = createMachine(v3)
    expect(fresh.stateVersion()).toBeNull()
    expect(fresh.needsUpgrade()).toBe(false)
    expect(run(fresh, 'add', { by: 1 })).toMatchObject({ ok: true, result: '1 undefined' })
    expect(fresh.snapshot()).toEqual({ count: 1, [versionKey]: 3 })
    expect(steps).toEqual([])
  })

  it('a machine of version 1 never stamps: its state stays the app\'s own keys', () => {
    const plain = createMachine(v1)
    run(plain, 'add', { by: 1 })
    expect(plain.snapshot()).toEqual({ n: 1 })
  })

  it('state of version 1 is upgraded step by step, in the same command, before the first function of version 3 sees it', () => {
    steps.length = 0
    const upgraded = createMachine(v3)
    upgraded.restore(stateOfV1())
    expect(upgraded.needsUpgrade()).toBe(true)
    expect(run(upgraded, 'add', { by: 2 })).toMatchObject({ ok: true, result: '7 apples' })
    expect(steps).toEqual([2, 3])
    expect(upgraded.snapshot()).toEqual({ count: 7, unit: 'apples', [versionKey]: 3 })
    expect(upgraded.needsUpgrade()).toBe(false)
    run(upgraded, 'add', { by: 1 })
    expect(steps).toEqual([2, 3]) // once
  })

  it('the upgrade function does it without a call of the app, once; a second time is refused', () => {
    steps.length = 0
    const upgraded = createMachine(v3)
    upgraded.restore(stateOfV1())
    expect(run(upgraded, upgradeFunction, null)).toMatchObject({ ok: true })
    expect(upgraded.snapshot()).toEqual({ count: 5, unit: 'apples', [versionKey]: 3 })
    expect(run(upgraded, upgradeFunction, null)).toMatchObject({ ok: false, code: 'rejected', reason: 'the state is already of version 3' })
    expect(steps).toEqual([2, 3])
  })

  it('an older machine refuses to run functions on newer state, saying so', () => {
    const newer = createMachine(v3)
    run(newer, 'add', { by: 1 })
    const older = createMachine(v1)
    older.restore(newer.snapshot())
    expect(older.stateVersion()).toBe(3)
    const outcome = run(older, 'add', { by: 1 })
    expect(outcome).toMatchObject({ ok: false, code: 'rejected' })
    expect((outcome as { reason: string }).reason).toMatch(/state is of tally version 3; this replica runs version 1, an older one/)
  })

  it('a step that throws fails the call with the reason and leaves the state as it was', () => {
    const faulty = defineMachine({ name: 'tally', version: 2, upgrades: { 2: () => { throw new Error('no luck') } }, functions: v1.functions })
    const machine = createMachine(faulty)
    machine.restore(stateOfV1())
    const outcome = run(machine, 'add', { by: 1 })
    expect(outcome).toMatchObject({ ok: false, code: 'function-threw' })
    expect((outcome as { reason: string }).reason).toContain('upgrade of tally from version 1 to 2 threw: Error: no luck')
    expect(machine.snapshot()).toEqual({ n: 5 })
  })

  it('the app\'s functions cannot write Concord\'s keys', () => {
    const machine = createMachine(v3)
    const outcome = run(machine, 'stamp', {})
    expect(outcome).toMatchObject({ ok: false, code: 'function-threw' })
    expect((outcome as { reason: string }).reason).toContain("keys starting with @concord/ are Concord's own")
  })

  it('defineMachine checks the upgrade steps', () => {
    expect(() => defineMachine({ name: 'x', version: 2, upgrades: { 3: () => {} }, functions: {} })).toThrow(MachineDefinitionError)
    expect(() => defineMachine({ name: 'x', version: 2, upgrades: { 1: () => {} }, functions: {} })).toThrow(/keyed by the version they lead to, 2…2/)
  })
})
