import { describe, expect, it } from 'vitest'
import type { PersistRecord } from '@concord/core'
import { durabilityOf } from './storage.ts'

const ballot = { round: 1, replica: 'a' }
const command = { id: 'x', prec: '0', payload: [], ticket: { client: 'c', seq: 1, acked: 0 }, result: null }
const issued: PersistRecord = { kind: 'issued', entry: { instance: 1, lockBallot: ballot, command } }

describe('durabilityOf', () => {
  it('is strict whenever a promise or a vote is in the batch, relaxed for issued commands only', () => {
    expect(durabilityOf([issued, issued])).toBe('relaxed')
    expect(durabilityOf([issued, { kind: 'vote', vote: { instance: 2, ballot, command } }])).toBe('strict')
    expect(durabilityOf([{ kind: 'nextBal', ballot }])).toBe('strict')
    expect(durabilityOf([{ kind: 'lastTried', ballot }, issued])).toBe('strict')
  })
})
