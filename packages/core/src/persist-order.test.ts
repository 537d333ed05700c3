import { describe, expect, it } from 'vitest'
import { splitIssued } from './persist-order.ts'
import type { IssuedEntry, PersistRecord, Vote } from './types.ts'

const ballot = { round: 1, replica: 'a' }
const command = { id: 'c', prec: '', payload: null, ticket: { client: 'x', seq: 1, acked: 1 }, result: null } as unknown as Vote['command']
const vote = (instance: number): PersistRecord => ({ kind: 'vote', vote: { instance, ballot, command } })
const issued = (instance: number): PersistRecord => ({ kind: 'issued', entry: { instance, command } as unknown as IssuedEntry })

describe('splitIssued (the persistence contract\'s freedom to write issued records late)', () => {
  it('puts the votes and promises first, in order, and the issued records after them, in order', () => {
    const records = [issued(4), issued(5), { kind: 'nextBal', ballot } as PersistRecord, vote(6), vote(7)]
    expect(splitIssued(records)).toEqual({ first: [records[2], records[3], records[4]], issued: [records[0], records[1]] })
  })

  it('does not split a batch with nothing to put first, or no issued record', () => {
    expect(splitIssued([issued(1), issued(2)])).toBeNull()
    expect(splitIssued([vote(1), vote(2)])).toBeNull()
    expect(splitIssued([])).toBeNull()
  })

  it('never splits a batch with an issued reconfiguration: the votes after it were cast under its members', () => {
    const reconfiguration: PersistRecord = { kind: 'issued', entry: { instance: 3, command: { ...command, members: ['a'] } } as unknown as IssuedEntry }
    expect(splitIssued([issued(2), reconfiguration, vote(4)])).toBeNull()
  })

  it('never moves an issued record past a snapshot, a clear or a discard', () => {
    for (const barrier of [{ kind: 'clear', before: 3 }, { kind: 'discard' }, { kind: 'snapshot', snapshot: {} }] as PersistRecord[]) {
      expect(splitIssued([issued(1), vote(2), barrier])).toBeNull()
      expect(splitIssued([barrier, issued(1), vote(2)])).toBeNull()
    }
  })
})
