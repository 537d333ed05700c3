import { isJson, type Json } from '@concord/machine'
import { ValidationError } from './errors.ts'

/**
 * Presence (issue 6 §1, issue 10 §3): what each tab shows the others right
 * now — a cursor, a selection, a name — sent over the data channels, never
 * through the log (it is ephemeral: nobody needs it after a reload, and it
 * changes at typing speed). Each tab's latest value goes to every open link,
 * at most every `presenceIntervalMs`, and again to a link that (re)opens; a
 * peer's value is dropped when its link closes.
 *
 * On the wire a presence message is `P` + JSON, beside the core's messages
 * (JSON objects): the main thread keeps it, the worker never sees it.
 */
export const presencePrefix = 'P'
/** The largest presence value, as JSON characters. */
export const presenceCharsMax = 2_048
/** Sends are coalesced: at most one per this interval. */
export const presenceIntervalMs = 50

export interface PresenceLink {
  send(to: string, message: string): void
  connectedPeers(): string[]
}

export class Presence {
  private mine: Json | null = null
  private readonly others = new Map<string, Json>()
  private readonly listeners = new Set<(presence: ReadonlyMap<string, Json>) => void>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private lastSent = -Infinity
  private known = new Set<string>()
  /** Presence messages dropped: not JSON, too large. */
  dropped = 0

  constructor(private readonly link: PresenceLink) {}

  get peers(): ReadonlyMap<string, Json> {
    return new Map(this.others)
  }

  set(value: Json | null): void {
    if (value !== null && !isJson(value)) throw new ValidationError('presence must be JSON (or null)', ['presence'])
    const text = JSON.stringify(value)
    if (text.length > presenceCharsMax) throw new ValidationError(`presence is ${text.length} characters of JSON; at most ${presenceCharsMax}`, ['presence'])
    this.mine = value
    this.schedule()
  }

  subscribe(listener: (presence: ReadonlyMap<string, Json>) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** A message from a peer: true if it was presence (handled here). */
  receive(from: string, message: string): boolean {
    if (!message.startsWith(presencePrefix)) return false
    let value: unknown
    try {
      if (message.length > presenceCharsMax + presencePrefix.length) throw new RangeError('too large')
      value = JSON.parse(message.slice(presencePrefix.length))
      if (!isJson(value)) throw new TypeError('not JSON')
    } catch {
      this.dropped++
      return true
    }
    if (value === null) this.others.delete(from)
    else this.others.set(from, value)
    this.publish()
    return true
  }

  /** The open links changed: greet new peers with our value, forget peers gone. */
  onPeers(connected: readonly string[]): void {
    const now = new Set(connected)
    let changed = false
    for (const peer of [...this.others.keys()]) {
      if (!now.has(peer)) changed = this.others.delete(peer) || changed
    }
    if (this.mine !== null) for (const peer of now) if (!this.known.has(peer)) this.link.send(peer, presencePrefix + JSON.stringify(this.mine))
    this.known = now
    if (changed) this.publish()
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.listeners.clear()
  }

  private schedule(): void {
    if (this.timer !== null) return
    const wait = Math.max(0, this.lastSent + presenceIntervalMs - performance.now())
    this.timer = setTimeout(() => {
      this.timer = null
      this.lastSent = performance.now()
      const message = presencePrefix + JSON.stringify(this.mine)
      for (const peer of this.link.connectedPeers()) this.link.send(peer, message)
    }, wait)
  }

  private publish(): void {
    const peers = this.peers
    for (const listener of this.listeners) listener(peers)
  }
}
