import { describe, expect, it } from 'vitest'
import type { Command, IssuedEntry, Ticket } from '@concord/core'
import { SafetyChecker } from './checkers.ts'

/** The checkers can fail: logs that break each property are caught. */
const ballot = { round: 1, replica: 'r0' }
const ticket = (seq: number): Ticket => ({ client: 'c', seq, acked: 0 })
const command = (id: string, prec: string, seq: number, result: unknown = null): Command => ({ id, prec, payload: [], ticket: ticket(seq), result })
const entry = (instance: number, cmd: Command): IssuedEntry => ({ instance, lockBallot: ballot, command: cmd })
const stock = (s: Record<string, unknown>) => (Object.values(s).some((v) => (v as number) < 0) ? 'stock negative' : null)

function checker(calls = [1, 2, 3]) {
  const c = new SafetyChecker(stock)
  for (const seq of calls) c.noteCall(ticket(seq))
  return c
}
const state = (s: Record<string, number> = {}) => () => s

describe('safety checkers', () => {
  it('accept a correct log', () => {
    const c = checker()
    c.onIssued('r0', entry(1, command('a', '0', 1)), state(), 0)
    c.onIssued('r1', entry(1, command('a', '0', 1)), state(), 0)
    c.onIssued('r0', entry(2, command('b', 'a', 2)), state(), 0)
    c.onAcknowledged(ticket(2), 2, { ok: true, result: null }, 0)
    c.checkDurability(1)
    c.checkConvergence([{ id: 'r0', issuedUpTo: 2, state: {} }], 1)
    expect(c.violations).toEqual([])
  })

  it('catch two commands issued at one instance (agreement)', () => {
    const c = checker()
    c.onIssued('r0', entry(1, command('a', '0', 1)), state(), 0)
    c.onIssued('r1', entry(1, command('x', '0', 2)), state(), 0)
    expect(c.violations.map((v) => v.property)).toContain('agreement')
  })

  it('catch a command whose precedent is not the command issued before it (dependency)', () => {
    const c = checker()
    c.onIssued('r0', entry(1, command('a', '0', 1)), state(), 0)
    c.onIssued('r0', entry(2, command('b', 'zzz', 2)), state(), 0)
    expect(c.violations.map((v) => v.property)).toEqual(['dependency'])
  })

  it('catch a gap in what a replica applies (dependency)', () => {
    const c = checker()
    c.onIssued('r0', entry(1, command('a', '0', 1)), state(), 0)
    c.onIssued('r0', entry(3, command('c', 'b', 3)), state(), 0)
    expect(c.violations.map((v) => v.property)).toContain('dependency')
  })

  it('catch a command that answers no call (no-op)', () => {
    const c = checker([1])
    c.onIssued('r0', entry(1, command('noop', '0', 99)), state(), 0)
    expect(c.violations.map((v) => v.property)).toEqual(['no-op'])
  })

  it('catch one ticket issued twice (at-most-once)', () => {
    const c = checker()
    c.onIssued('r0', entry(1, command('a', '0', 1)), state(), 0)
    c.onIssued('r0', entry(2, command('b', 'a', 1)), state(), 0)
    expect(c.violations.map((v) => v.property)).toEqual(['at-most-once'])
  })

  it('catch an acknowledged call missing from the log, or acknowledged with another result (durability)', () => {
    const c = checker()
    c.onIssued('r0', entry(1, command('a', '0', 1, 5)), state(), 0)
    c.onAcknowledged(ticket(2), 2, { ok: true, result: null }, 0)
    c.onAcknowledged(ticket(1), 1, { ok: true, result: 6 }, 0)
    c.checkDurability(1)
    expect(c.violations.map((v) => v.property)).toEqual(['durability', 'durability'])
  })

  it('catch a broken app invariant on a replica (integrity)', () => {
    const c = checker()
    c.onIssued('r2', entry(1, command('a', '0', 1)), state({ A: -5 }), 0)
    expect(c.violations.map((v) => v.property)).toEqual(['integrity'])
  })

  it('catch replicas that end with different logs or states (convergence)', () => {
    const c = checker()
    c.onIssued('r0', entry(1, command('a', '0', 1)), state(), 0)
    c.checkConvergence([{ id: 'r0', issuedUpTo: 1, state: { A: 1 } }, { id: 'r1', issuedUpTo: 0, state: { A: 2 } }], 1)
    expect(c.violations.map((v) => v.property)).toEqual(['convergence', 'convergence'])
  })
})
