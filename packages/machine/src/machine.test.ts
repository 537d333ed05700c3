import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createRandom } from '@concord/core'
import { createMachine, defineMachine, fn, MachineDefinitionError, reject } from './index.ts'

const env = { tick: 7, random: createRandom(3) }

const shop = defineMachine({
  name: 'shop',
  functions: {
    stock: fn(z.object({ item: z.string(), n: z.number().int().positive() }), (tx, { item, n }) => {
      tx.set(item, (tx.get<number>(item) ?? 0) + n)
      return tx.get<number>(item) ?? 0
    }),
    sell: fn(z.object({ item: z.string() }), (tx, { item }) => {
      const have = tx.get<number>(item) ?? 0
      tx.set(item, have - 1) // written before the check: must not leak into LS
      if (have < 1) throw reject(`no ${item} left`)
    }),
    edit: fn(z.object({ at: z.number().int(), cut: z.number().int(), text: z.string() }), (tx, { at, cut, text }) => {
      tx.splice('doc', at, cut, text)
    }),
    queue: fn(z.object({}), (tx) => {
      tx.insert('list', 0, 'a')
      tx.insert('list', 1, 'b')
      tx.insert('list', 2, 'c')
      tx.move('list', 0, 2)
      tx.remove('list', 0)
      return tx.get('list') ?? null
    }),
    broken: fn(z.object({}), () => {
      throw new TypeError('oops')
    }),
    mutate: fn(z.object({}), (tx) => {
      const list = tx.get<string[]>('list') ?? []
      ;(list as string[]).push('sneaky')
    }),
    roll: fn(z.object({}), (_tx, _args, ctx) => ({ tick: ctx.tick, r: ctx.random() < 1 })),
  },
})

describe('defineMachine', () => {
  it('rejects bad definitions with a clear error', () => {
    expect(() => defineMachine({ name: 'Bad Name', functions: {} })).toThrow(MachineDefinitionError)
    expect(() => defineMachine({ name: 'ok', version: 0, functions: {} })).toThrow(/version/)
    expect(() => defineMachine({ name: 'ok', functions: { f: (() => 1) as never } })).toThrow(/fn\(schema, run\)/)
  })
})

describe('functions run on LS and return commands', () => {
  it('a call returns its write-set and result; LS sees it before MS does', () => {
    const m = createMachine(shop)
    const out = m.execute(1, 'stock', { item: 'apples', n: 3 }, env)
    expect(out).toEqual({ ok: true, payload: [{ op: 'set', key: 'apples', value: 3 }], result: 3 })
    expect(m.get('apples')).toBeUndefined() // MS changes only when the command is issued
    expect(m.execute(2, 'stock', { item: 'apples', n: 2 }, env)).toMatchObject({ result: 5 })
    m.apply(1, (out as { payload: unknown }).payload)
    expect(m.get('apples')).toBe(3)
  })

  it('typed failures: unknown function, invalid args, rejection, a throw, with LS unchanged', () => {
    const m = createMachine(shop)
    expect(m.execute(1, 'nope', {}, env)).toMatchObject({ ok: false, code: 'unknown-function' })
    expect(m.execute(1, 'toString', {}, env)).toMatchObject({ ok: false, code: 'unknown-function' })
    expect(m.execute(1, 'stock', { item: 'x', n: -1 }, env)).toMatchObject({ ok: false, code: 'invalid-args' })
    expect(m.execute(1, 'sell', { item: 'pears' }, env)).toEqual({ ok: false, code: 'rejected', reason: 'no pears left' })
    expect(m.execute(1, 'broken', {}, env)).toMatchObject({ ok: false, code: 'function-threw', reason: 'TypeError: oops' })
    // The rejected sell wrote pears = −1 before rejecting: LS must not keep it.
    expect(m.execute(2, 'stock', { item: 'pears', n: 1 }, env)).toMatchObject({ ok: true, result: 1 })
  })

  it('text and list ops', () => {
    const m = createMachine(shop)
    const a = m.execute(1, 'edit', { at: 0, cut: 0, text: 'hello world' }, env)
    const b = m.execute(2, 'edit', { at: 5, cut: 6, text: '!' }, env)
    expect(m.execute(3, 'edit', { at: 99, cut: 0, text: 'x' }, env)).toMatchObject({ ok: false, code: 'function-threw' })
    const c = m.execute(3, 'queue', {}, env)
    expect(c).toMatchObject({ ok: true, result: ['c', 'a'] })
    for (const [i, out] of [a, b, c].entries()) m.apply(i + 1, (out as { payload: unknown }).payload)
    expect(m.snapshot()).toEqual({ doc: 'hello!', list: ['c', 'a'] })
  })

  it('state read through tx is frozen: a function cannot change it behind tx', () => {
    const m = createMachine(shop)
    m.apply(1, (m.execute(1, 'queue', {}, env) as { payload: unknown }).payload)
    expect(m.execute(2, 'mutate', {}, env)).toMatchObject({ ok: false, code: 'function-threw' })
    expect(m.snapshot()).toEqual({ list: ['c', 'a'] })
  })

  it('non-determinism comes from the injected context', () => {
    const m = createMachine(shop)
    expect(m.execute(1, 'roll', {}, env)).toMatchObject({ ok: true, result: { tick: 7, r: true } })
  })

  it('apply is deterministic: the same commands give the same state on two replicas', () => {
    const leader = createMachine(shop)
    const follower = createMachine(shop)
    const payloads: unknown[] = []
    const calls: [string, object][] = [['stock', { item: 'a', n: 2 }], ['edit', { at: 0, cut: 0, text: 'abc' }], ['sell', { item: 'a' }], ['queue', {}], ['edit', { at: 1, cut: 1, text: 'XY' }]]
    calls.forEach(([name, args], i) => {
      const out = leader.execute(i + 1, name, args, env)
      if (out.ok) payloads.push(out.payload)
    })
    payloads.forEach((p, i) => {
      leader.apply(i + 1, JSON.parse(JSON.stringify(p)))
      follower.apply(i + 1, JSON.parse(JSON.stringify(p)))
    })
    expect(follower.snapshot()).toEqual(leader.snapshot())
    expect(leader.snapshot()).toEqual({ a: 1, doc: 'aXYc', list: ['c', 'a'] })
  })

  it('validates write-sets that come from peers', () => {
    const m = createMachine(shop)
    expect(m.validatePayload([{ op: 'set', key: 'a', value: 1 }])).toBeNull()
    expect(m.validatePayload([{ op: 'set', key: 'a', value: () => 1 }])).not.toBeNull()
    expect(m.validatePayload([{ op: 'splice', key: 'a', index: -1, remove: 0, insert: '' }])).not.toBeNull()
    expect(m.validatePayload({ op: 'set' })).not.toBeNull()
  })

  it('a new leader state starts as MS and takes H on top ([0057] step 3)', () => {
    const m = createMachine(shop)
    m.apply(1, [{ op: 'set', key: 'n', value: 1 }])
    m.execute(2, 'stock', { item: 'n', n: 10 }, env)
    m.leaderReset()
    m.leaderApply(2, [{ op: 'set', key: 'n', value: 5 }])
    expect(m.execute(3, 'stock', { item: 'n', n: 1 }, env)).toMatchObject({ result: 6 })
  })
})

describe('state digest (seed 000)', () => {
  const kv = defineMachine({
    name: 'kv',
    functions: {
      put: fn(z.object({ k: z.string(), v: z.number() }), (tx, { k, v }) => tx.set(k, v)),
      drop: fn(z.object({ k: z.string() }), (tx, { k }) => tx.delete(k)),
    },
  })
  const run = (m: ReturnType<typeof createMachine>, instance: number, name: string, args: unknown) => {
    const out = m.execute(instance, name, args, { tick: 0, random: createRandom(1) })
    if (!out.ok) throw new Error(out.reason)
    m.apply(instance, out.payload)
  }

  it('is equal for equal states, whatever the order of writes, and differs when one value differs', () => {
    const a = createMachine(kv)
    const b = createMachine(kv)
    expect(a.digest()).toBe(b.digest())
    run(a, 1, 'put', { k: 'x', v: 1 })
    run(a, 2, 'put', { k: 'y', v: 2 })
    run(b, 1, 'put', { k: 'y', v: 2 })
    run(b, 2, 'put', { k: 'x', v: 1 })
    expect(a.digest()).toBe(b.digest())
    run(b, 3, 'put', { k: 'x', v: 3 })
    expect(a.digest()).not.toBe(b.digest())
    run(b, 4, 'put', { k: 'x', v: 1 })
    expect(a.digest()).toBe(b.digest())
    run(a, 3, 'drop', { k: 'y' })
    expect(a.digest()).not.toBe(b.digest())
    const c = createMachine(kv)
    c.load(a.snapshot())
    expect(c.digest()).toBe(a.digest())
  })
})
