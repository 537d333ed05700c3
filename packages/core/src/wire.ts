import type { Ballot, Command, CommandId, Instance, Message } from './types.ts'

/**
 * A message's wire form: its JSON, less the command ids a receiver can work
 * out for itself.
 *
 * A command proposed in ballot b at instance m is named `b.round.m.b.replica`
 * (`commandIdAt`), and the next one proposed in that ballot names it as its
 * precedent ([0055]: "prec"). A Success entry carrying its command names it
 * twice (`commandId`, `command.id`). On a busy link these ids were a tenth
 * of the bytes after deflate: each differs from the last one in a digit or
 * two, in the middle of what would otherwise be one long match.
 *
 * A field is left out only when it equals its derivation, and put back
 * before the message is validated, so the codec is lossless — a frame that
 * keeps every id decodes as it always did — and keys come back in their
 * order (nothing compares commands by their JSON, but stored bytes stay as
 * they were). Decoding trusts nothing: a field it cannot derive stays
 * missing, and validation refuses the message.
 */

/** The id a leader gives the command it proposes at `instance` in `ballot`. */
export function commandIdAt(ballot: Ballot, instance: Instance): CommandId {
  return `${ballot.round}.${instance}.${ballot.replica}`
}

export function encodeMessage(message: Message): string {
  switch (message.type) {
    case 'BeginBallot':
      return JSON.stringify({ ...message, proposals: message.proposals.map((p) => ({ ...p, command: omitIds(p.command, message.ballot, p.instance) })) })
    case 'Success':
      return JSON.stringify({
        ...message,
        entries: message.entries.map(({ commandId, command, ...entry }) =>
          command === undefined ? { ...entry, commandId } : { ...entry, ...(command.id === commandId ? {} : { commandId }), command: omitIds(command, entry.lockBallot, entry.instance) },
        ),
      })
    case 'CatchUpReply':
      return JSON.stringify({ ...message, entries: message.entries.map((e) => ({ ...e, command: omitIds(e.command, e.lockBallot, e.instance) })) })
    default:
      return JSON.stringify(message)
  }
}

/** The message a frame carries, ids put back; not yet validated. Throws a SyntaxError on text that is not JSON, as JSON.parse does. */
export function decodeMessage(frame: string): unknown {
  const message: unknown = JSON.parse(frame)
  if (!isRecord(message)) return message
  switch (message.type) {
    case 'BeginBallot':
      return mapEntries(message, 'proposals', (p) => ({ ...p, command: restoreIds(p.command, message.ballot, p.instance) }))
    case 'Success':
      return mapEntries(message, 'entries', ({ instance, lockBallot, commandId, command, ...rest }) => {
        const restored = command === undefined ? undefined : restoreIds(command, lockBallot, instance)
        const id = commandId ?? (isRecord(restored) ? restored.id : undefined)
        return { instance, lockBallot, commandId: id, ...(command === undefined ? {} : { command: restored }), ...rest }
      })
    case 'CatchUpReply':
      return mapEntries(message, 'entries', (e) => ({ ...e, command: restoreIds(e.command, e.lockBallot, e.instance) }))
    default:
      return message
  }
}

function omitIds(command: Command, ballot: Ballot, instance: Instance): Omit<Command, 'id' | 'prec'> & { id?: CommandId; prec?: CommandId } {
  const { id, prec, ...rest } = command
  const ownId = id === commandIdAt(ballot, instance)
  const ownPrec = instance > 1 && prec === commandIdAt(ballot, instance - 1)
  if (!ownId && !ownPrec) return command
  return { ...(ownId ? {} : { id }), ...(ownPrec ? {} : { prec }), ...rest }
}

function restoreIds(command: unknown, ballot: unknown, instance: unknown): unknown {
  if (!isRecord(command) || ('id' in command && 'prec' in command)) return command
  if (!isBallot(ballot) || typeof instance !== 'number' || !Number.isSafeInteger(instance) || instance < 1) return command
  // Key order as the leader made it: id, prec, then the rest. The first
  // instance's precedent is never left out (it is the null command's id).
  const prec = command.prec ?? (instance > 1 ? commandIdAt(ballot, instance - 1) : undefined)
  return { id: command.id ?? commandIdAt(ballot, instance), ...(prec === undefined ? {} : { prec }), ...command }
}

function mapEntries(message: Record<string, unknown>, key: string, f: (entry: Record<string, unknown>) => Record<string, unknown>): Record<string, unknown> {
  const entries = message[key]
  if (!Array.isArray(entries)) return message
  return { ...message, [key]: entries.map((e: unknown) => (isRecord(e) ? f(e) : e)) }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isBallot = (v: unknown): v is Ballot => isRecord(v) && typeof v.round === 'number' && typeof v.replica === 'string'
