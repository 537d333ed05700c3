import { messageCharsBudget } from './constants.ts'
import type { Message } from './types.ts'

/**
 * Outgoing messages with the durability they depend on. A message carries
 * `dep`, the sequence number of the last record that must be durable before
 * it may leave (etcd's "save to stable storage BEFORE Messages are sent");
 * `drain` releases only those whose records are durable.
 *
 * Messages of one kind to one peer are coalesced until the next `drain`
 * (one Voted for a batch of instances, one BeginBallot for a batch of
 * proposals): that is the group commit of the network side. Callers find the
 * open message for a key, or open one, then add entries to it. A message is
 * closed at its entry limit or when its entries reach messageCharsBudget
 * characters, whichever comes first: a pipeline of large commands must not
 * make a message the transport cannot carry.
 */
interface Item {
  message: Message
  dep: number
  entries: number
  entriesMax: number
  chars: number
  key: string | null
}

export class Outbox {
  private items: Item[] = []
  private readonly open = new Map<string, Item>()

  push(message: Message, dep: number): void {
    this.items.push({ message, dep, entries: 1, entriesMax: 1, chars: 0, key: null })
  }

  /** The open message under `key` with room for one more entry, if any. Raises its dep. */
  find(key: string, dep: number): Message | undefined {
    const item = this.open.get(key)
    if (item === undefined) return undefined
    if (item.dep < dep) item.dep = dep
    return item.message
  }

  /** Open a new coalescing message under `key`. */
  start(key: string, message: Message, dep: number, entriesMax: number): void {
    const item: Item = { message, dep, entries: 0, entriesMax, chars: 0, key }
    this.items.push(item)
    this.open.set(key, item)
  }

  /** Count one entry (of about `chars` characters of JSON) added to the open
   *  message under `key`; close it when full. */
  added(key: string, chars = 0): void {
    const item = this.open.get(key)
    if (item === undefined) return
    item.chars += chars
    if (++item.entries >= item.entriesMax || item.chars >= messageCharsBudget) this.open.delete(key)
  }

  /** Messages whose records are durable, in the order they were made. */
  drain(persistedSeq: number): Message[] {
    this.open.clear()
    if (this.items.length === 0) return []
    const ready: Message[] = []
    let held: Item[] | null = null
    for (const item of this.items) {
      if (item.dep <= persistedSeq) ready.push(item.message)
      else (held ??= []).push(item)
    }
    this.items = held ?? []
    return ready
  }

  get length(): number {
    return this.items.length
  }

  /** Whether any message waits for a record beyond `persistedSeq`. */
  hasHeld(persistedSeq: number): boolean {
    for (const item of this.items) if (item.dep > persistedSeq) return true
    return false
  }

  /** Whether `drain(persistedSeq)` would release anything. */
  hasReleasable(persistedSeq: number): boolean {
    for (const item of this.items) if (item.dep <= persistedSeq) return true
    return false
  }
}
