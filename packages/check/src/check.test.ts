import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { defineMachine, fn } from '@concord/machine'
import { check, Checker, failureKind, type CheckSpec, type FailureKind } from './check.ts'
import * as clockApply from '../../../examples/broken/clock-apply.ts'
import * as negativeStock from '../../../examples/broken/negative-stock.ts'
import * as staleReads from '../../../examples/broken/stale-reads.ts'
import * as throwingFunction from '../../../examples/broken/throwing-function.ts'
import * as warehouseCheck from '../../../apps/warehouse/src/machine.check.ts'

/** The broken example machines of issue 10, each with the failure it must be found for. */
const broken: [name: string, spec: CheckSpec, kind: FailureKind, detail: RegExp][] = [
  ['clock-apply (an apply that reads Date.now())', clockApply as CheckSpec, 'nondeterministic-apply', /lastAppliedAt/],
  ['throwing-function (throws instead of reject)', throwingFunction as CheckSpec, 'function-threw', /ship\(.*threw Error: cannot ship/],
  ['negative-stock (transfer trusts the caller\'s stale view)', negativeStock as CheckSpec, 'invariant', /"stock never negative" is false/],
]

describe('concord check finds the bugs in the broken examples', () => {
  for (const [name, spec, kind, detail] of broken) {
    it(`${name}: ${kind}, shrunk to a call sequence that replays the failure`, () => {
      const report = check(spec, { seeds: 50 })
      expect(report.failed).toBe(1)
      const failure = report.failures[0]!
      expect(failure.kind).toBe(kind)
      expect(failure.detail).toMatch(detail)
      const minimal = failure.minimal!
      expect(minimal.calls.length).toBeGreaterThanOrEqual(1)
      expect(minimal.calls.length).toBeLessThanOrEqual(3)
      // Far fewer calls than the run that failed.
      const original = new Checker(spec).run(new Checker(spec).configFor(failure.seed, {})).simulation.calls().length
      expect(minimal.calls.length).toBeLessThan(original)
      // Each bug shows without any fault: it is the app's, not the network's.
      expect(minimal.needsFaults).toBe(false)
      // The minimal case replays: same config and script, same kind of failure.
      const replay = check(spec, { script: { config: minimal.config, calls: minimal.script } })
      expect(replay.failures.map((f) => f.kind)).toEqual([kind])
      expect(replay.failures[0]!.minimal!.calls.map((c) => [c.client, c.name, c.args])).toEqual(minimal.calls.map((c) => [c.client, c.name, c.args]))
    })
  }

  it('a seed replays exactly: the same calls with the same outcomes', () => {
    const checker = new Checker(negativeStock as CheckSpec)
    const config = checker.configFor(7, {})
    const first = checker.run(config).simulation.calls()
    const again = checker.run(config).simulation.calls()
    expect(again).toEqual(first)
    // …and so does its recorded call script.
    const scripted = checker.run(config, checker.run(config).simulation.callScript()).simulation.calls()
    expect(scripted).toEqual(first)
  })
})

describe('concord check judges results against the functions run one after another', () => {
  it('a port that executes on stale state returns results no sequential order explains: not linearizable', () => {
    const report = check(staleReads as CheckSpec, { seeds: 100 })
    expect(report.failed).toBe(1)
    const failure = report.failures[0]!
    expect(failure.kind).toBe('not-linearizable')
    expect(failure.detail).toMatch(/no linearisation: c\d add/)
    expect(failure.minimal!.calls.length).toBeLessThanOrEqual(4)
  })
})

describe('concord check passes correct machines', () => {
  it('the warehouse app, 100 seeds (1,000 run in check-sweep.test.ts): invariants hold, every history linearizable', () => {
    const report = check(warehouseCheck as CheckSpec, { seeds: 100, start: 5000 })
    expect(report.failures).toEqual([])
    expect(report.seeds).toBe(100)
    expect(report.linearizable).toBe(100)
    expect(report.crashes).toBeGreaterThan(100)
    expect(report.commands).toBeGreaterThan(1000)
  })

  it('a function that reads the clock and Math.random is fine (the command carries what it wrote); its results are not judged against the model', () => {
    const stamped = defineMachine({
      name: 'stamped',
      functions: {
        touch: fn(z.object({ key: z.enum(['a', 'b']) }), (tx, { key }) => {
          tx.set(key, { at: Date.now(), luck: Math.random() })
          return Date.now()
        }),
      },
    })
    const report = check({ machine: stamped }, { seeds: 20 })
    expect(report.failures).toEqual([])
    expect(report.linearizabilitySkipped).toBe(20)
    expect(report.notes.join()).toMatch(/read the time or random numbers/)
  })

  it('a failing run is named by its most telling violation (the app\'s bugs before the protocol\'s)', () => {
    expect(failureKind([{ property: 'linearizability', detail: 'x', time: 1 }])).toBe('not-linearizable')
    expect(failureKind([{ property: 'agreement', detail: 'x', time: 1 }, { property: 'integrity', detail: 'y', time: 2 }])).toBe('invariant')
    expect(failureKind([])).toBeNull()
  })
})

describe('concord check refuses bad specs clearly', () => {
  const counter = defineMachine({ name: 'counter', functions: { add: fn(z.object({ by: z.number().int().min(1).max(5) }), (tx, { by }) => void tx.set('n', (tx.get<number>('n') ?? 0) + by)) } })

  it('an invariant that is not a function', () => {
    expect(() => check({ machine: counter, invariants: { nope: 3 as unknown as () => boolean } })).toThrow(/invariant "nope" must be a function/)
  })

  it('a machine that is neither a definition nor a factory', () => {
    expect(() => check({ machine: { name: 'x' } as unknown as CheckSpec['machine'] })).toThrow(/defineMachine definition/)
  })

  it('a workload that returns no call', () => {
    expect(() => check({ machine: counter, workload: () => 7 as unknown as { name: string; args: unknown } }, { seeds: 1 })).toThrow(/must return \{ name, args \}/)
  })

  it('an invariant that throws is reported as broken, with its error', () => {
    const report = check({ machine: counter, invariants: { 'n small': (s) => (s.n as number) < 1e9 || (() => { throw new Error('boom') })() } }, { seeds: 1, shrink: false })
    expect(report.failures).toEqual([])
    const throwing = check({ machine: counter, invariants: { bad: () => { throw new Error('boom') } } }, { seeds: 1, shrink: false })
    expect(throwing.failures[0]!.kind).toBe('invariant')
    expect(throwing.failures[0]!.detail).toMatch(/invariant "bad" threw Error: boom/)
  })
})
