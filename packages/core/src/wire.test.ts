import { describe, expect, it } from 'vitest'
import { membersMax } from './constants.ts'
import { createRandom, randomInt } from './random.ts'
import { messageSchema, type Ballot, type Command, type Message } from './types.ts'
import { commandIdAt, decodeMessage, encodeMessage } from './wire.ts'

const ballot: Ballot = { round: 4, replica: 't-6b995ea3' }
const command = (instance: number, b: Ballot = ballot, prec = commandIdAt(b, instance - 1)): Command => ({
  id: commandIdAt(b, instance),
  prec,
  payload: [{ op: 'splice', key: 'doc', index: 907, remove: 0, insert: 'b' }],
  ticket: { client: 't-0af9e226/2mbdnyipkw', seq: 495, acked: 495 },
  result: 998,
})

/** Lossless: the same message, keys in the same order (stored bytes do not change). */
function roundTrip(message: Message): string {
  const wire = encodeMessage(message)
  expect(JSON.stringify(decodeMessage(wire))).toBe(JSON.stringify(message))
  expect(messageSchema.safeParse(decodeMessage(wire)).success).toBe(true)
  return wire
}

describe('the wire form of messages', () => {
  it('leaves out the ids a receiver derives, and puts them back', () => {
    const begin: Message = { type: 'BeginBallot', from: 'a', to: 'b', ballot, proposals: [{ instance: 1003, command: command(1003) }, { instance: 1004, command: command(1004) }] }
    const wire = roundTrip(begin)
    expect(wire).not.toContain('"id"')
    expect(wire).not.toContain('"prec"')
    const success: Message = { type: 'Success', from: 'a', to: 'b', entries: [{ instance: 1003, lockBallot: ballot, commandId: commandIdAt(ballot, 1003), command: command(1003) }, { instance: 1004, lockBallot: ballot, commandId: commandIdAt(ballot, 1004) }] }
    const successWire = roundTrip(success)
    expect(successWire.match(/4\.1003\./g)).toBeNull() // the first entry's ids all derived
    expect(successWire.match(/4\.1004\./g)?.length).toBe(1) // the second has no command: its commandId stays
    roundTrip({ type: 'CatchUpReply', from: 'a', to: 'b', entries: [{ instance: 7, lockBallot: ballot, command: command(7) }], issuedUpTo: 7 })
  })

  it('keeps what it cannot derive: a command of an earlier ballot, the first of a ballot, the first instance', () => {
    const older: Ballot = { round: 3, replica: 'x' }
    const begin: Message = { type: 'BeginBallot', from: 'a', to: 'b', ballot, proposals: [{ instance: 5, command: command(5, older) }, { instance: 6, command: command(6, ballot, commandIdAt(older, 5)) }, { instance: 1, command: command(1, ballot, '0') }] }
    const wire = roundTrip(begin)
    expect(wire).toContain(`"id":"${commandIdAt(older, 5)}"`)
    expect(wire).toContain(`"prec":"${commandIdAt(older, 5)}"`)
    expect(wire).toContain('"prec":"0"')
  })

  it('decodes a frame that keeps every id as it always did, and trusts nothing it cannot derive', () => {
    const begin: Message = { type: 'BeginBallot', from: 'a', to: 'b', ballot, proposals: [{ instance: 9, command: command(9) }] }
    expect(decodeMessage(JSON.stringify(begin))).toEqual(begin)
    // A first instance without its precedent, a ballot that is not one: the ids stay missing and validation refuses.
    const { prec: _p, ...noPrec } = command(1, ballot, '0')
    expect(messageSchema.safeParse(decodeMessage(JSON.stringify({ ...begin, proposals: [{ instance: 1, command: noPrec }] }))).success).toBe(false)
    const { id: _i, ...noId } = command(9)
    expect(messageSchema.safeParse(decodeMessage(JSON.stringify({ ...begin, ballot: 'junk', proposals: [{ instance: 9, command: noId }] }))).success).toBe(false)
    for (const junk of ['null', '[]', '{"type":"Success","entries":7}', '{"type":"BeginBallot","proposals":[null,1,{"command":[]}]}']) expect(() => decodeMessage(junk)).not.toThrow()
    expect(() => decodeMessage('{')).toThrow(SyntaxError)
  })

  it('carries a heartbeat\'s silent members, and refuses a list that is empty, too long or counts back', () => {
    const beat = { type: 'Heartbeat', from: 'a', to: 'b', ballot, issuedUpTo: 7, round: 3, clearUpTo: 5, checkpoint: null } as const
    roundTrip({ ...beat, silent: [{ id: 'c', ticks: 250 }] })
    expect(messageSchema.safeParse({ ...beat, silent: [] }).success).toBe(false)
    expect(messageSchema.safeParse({ ...beat, silent: [{ id: 'c', ticks: -1 }] }).success).toBe(false)
    expect(messageSchema.safeParse({ ...beat, silent: Array.from({ length: membersMax + 1 }, (_, i) => ({ id: `m${i}`, ticks: 300 })) }).success).toBe(false)
  })

  it('round-trips random proposals and issued entries (ids derivable or not)', () => {
    const random = createRandom(7)
    for (let k = 0; k < 500; k++) {
      const b: Ballot = { round: randomInt(random, 1, 4), replica: ['a', 'b'][randomInt(random, 0, 2)]! }
      const instance = randomInt(random, 1, 6)
      const made: Ballot = random.next() < 0.7 ? b : { round: randomInt(random, 1, 4), replica: 'c' }
      const c = command(instance, made, random.next() < 0.7 ? commandIdAt(made, instance - 1) : commandIdAt(b, randomInt(random, 0, 6)))
      roundTrip({ type: 'BeginBallot', from: 'a', to: 'b', ballot: b, proposals: [{ instance, command: c }] })
      const withCommand = random.next() < 0.5
      roundTrip({ type: 'Success', from: 'a', to: 'b', entries: [{ instance, lockBallot: b, commandId: random.next() < 0.9 ? c.id : 'other', ...(withCommand ? { command: c } : {}) }] })
    }
  })
})
