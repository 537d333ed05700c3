import { messageEntriesMax } from './constants.ts'
import type { Message } from './types.ts'

/**
 * Outgoing messages with the durability they depend on. A message carries
 * `dep`, the sequence number of the last record that must be durable before
 * it may leave (etcd's "save to stable storage BEFORE Messages are sent");
 * `drain` releases only those whose records are durable.
 *
 * Messages of one kind to one peer are coalesced until the next `drain`
 * (one Voted for a batch of instances, one BeginBallot for a batch of
 * proposals): that is the group commit of the network side.
 */
interface Item {
  message: Message
  dep: number
  entries: number
}

export class Outbox {
  private items: Item[] = []
  private readonly open = new Map<string, Item>()

  push(message: Message, dep: number): void {
    this.items.push({ message, dep, entries: 1 })
  }

  /** Add to the open message under `key`, or create one. `add` returns how
   *  many entries it added; a message is closed at messageEntriesMax. */
  merge<M extends Message>(
    key: string,
    dep: number,
    create: () => M,
    add: (message: M) => number,
    entriesMax = messageEntriesMax,
  ): void {
    let item = this.open.get(key)
    if (item === undefined) {
      item = { message: create(), dep, entries: 0 }
      this.items.push(item)
      this.open.set(key, item)
    }
    item.dep = Math.max(item.dep, dep)
    item.entries += add(item.message as M)
    if (item.entries >= entriesMax) this.open.delete(key)
  }

  /** Messages whose records are durable, in the order they were made. */
  drain(persistedSeq: number): Message[] {
    this.open.clear()
    if (this.items.length === 0) return []
    const ready: Message[] = []
    const held: Item[] = []
    for (const item of this.items) {
      if (item.dep <= persistedSeq) ready.push(item.message)
      else held.push(item)
    }
    this.items = held
    return ready
  }

  get length(): number {
    return this.items.length
  }

  clear(): void {
    this.items = []
    this.open.clear()
  }
}
