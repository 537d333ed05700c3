import { ChangeSet } from '@codemirror/state'
import type { Json } from '@concord/machine'
import { readText } from './machine.ts'

/**
 * The client side of the text protocol, apart from any editor (so that it
 * can be tested alone): the version a tab has seen, the one edit in flight
 * and the local edits composed behind it (the Jupiter client of ShareDB and
 * @codemirror/collab). Remote edits come from the document's log in the
 * replicated state, in issue order; each is mapped over the local edits not
 * yet issued, and those over it, exactly as the leader maps an edit over the
 * ones issued before it (machine.ts) — so every tab ends with the same text.
 */
export interface Sendable {
  id: string
  base: number
  changes: ChangeSet
}

export type Received =
  | { kind: 'changes'; changes: ChangeSet }
  | { kind: 'reset'; text: string; reason: string }
  | null

export class TextClient {
  /** The edit in flight, exactly as sent (a retry must send the same base and changes). */
  private inflight: Sendable | null = null
  /** The edit in flight carried over the remote edits received since it was sent: what the view holds of it. */
  private inflightMapped: ChangeSet | null = null
  private buffer: ChangeSet | null = null
  private sequence = 0

  constructor(readonly key: string, public version: number, private readonly clientId: string) {}

  get pending(): boolean {
    return this.inflight !== null || this.buffer !== null
  }

  /** A local edit, already applied in the editor. */
  local(changes: ChangeSet): void {
    this.buffer = this.buffer === null ? changes : this.buffer.compose(changes)
  }

  /**
   * The next edit to send, if none is in flight. Its id is `clientId:n`, n one more than the last edit's, or
   * `sequence` when given (a caller that numbers its edits itself: the trace replay names an edit by the last
   * transaction it carries); ids must stay unique, so `sequence` must grow.
   */
  takeSendable(sequence?: number): Sendable | null {
    if (this.inflight !== null || this.buffer === null) return null
    if (sequence !== undefined && (!Number.isSafeInteger(sequence) || sequence <= this.sequence)) throw new RangeError(`edit sequence ${sequence} does not grow (the last was ${this.sequence})`)
    this.sequence = sequence ?? this.sequence + 1
    this.inflight = Object.freeze({ id: `${this.clientId}:${this.sequence}`, base: this.version, changes: this.buffer })
    this.inflightMapped = this.buffer
    this.buffer = null
    return this.inflight
  }

  /** This tab's edits not yet issued (in flight, then typed behind it): what its editor holds beyond `version`. */
  unissued(): ChangeSet | null {
    if (this.inflightMapped === null) return this.buffer
    return this.buffer === null ? this.inflightMapped : this.inflightMapped.compose(this.buffer)
  }

  /** The edit in flight as first sent, to send again (same id: the leader applies it once; same base and changes: the leader carries it over what was issued since). */
  get inFlight(): Sendable | null {
    return this.inflight
  }

  /** What a new state means for the editor: remote changes to apply, or a reset. */
  receive(state: Readonly<Record<string, Json>>): Received {
    const { text, version, log } = readText(state, this.key)
    if (version <= this.version) return null
    const oldest = version - log.length
    if (this.version < oldest) return this.reset(text, version, 'this tab fell too far behind the document\'s log: its unsent edits were dropped')
    let incoming: ChangeSet | null = null
    for (const entry of log.slice(this.version - oldest)) {
      this.version = entry.v
      if (this.inflight !== null && entry.id === this.inflight.id) {
        // Ours, mapped by the leader exactly as we mapped it: already in the editor.
        this.inflight = null
        this.inflightMapped = null
        continue
      }
      let change = ChangeSet.fromJSON(entry.c)
      // It was issued first: its insertions go before ours at the same place.
      if (this.inflightMapped !== null) {
        const over = change.map(this.inflightMapped, true)
        this.inflightMapped = this.inflightMapped.map(change, false)
        change = over
      }
      if (this.buffer !== null) {
        const over = change.map(this.buffer, true)
        this.buffer = this.buffer.map(change, false)
        change = over
      }
      incoming = incoming === null ? change : incoming.compose(change)
    }
    return incoming === null ? null : { kind: 'changes', changes: incoming }
  }

  /** Drop local edits and take the state's text (an edit refused, or too far behind). */
  reset(text: string, version: number, reason: string): Received {
    this.inflight = null
    this.inflightMapped = null
    this.buffer = null
    this.version = version
    return { kind: 'reset', text, reason }
  }
}
