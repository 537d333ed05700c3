import { createRandom, Replica, type CallReply, type PersistRecord } from '@concord/core'
import { createMachine, defineMachine, fn } from '@concord/machine'
import { databaseName, IdbStorage } from '@concord/storage-idb'
import { z } from 'zod'

/**
 * A one-replica room in a page, on real IndexedDB: the smallest host loop
 * (ticks from a timer, Ready → one strict transaction → persisted → send to
 * itself). The e2e tests drive it through `window.solo`.
 */
const counter = defineMachine({
  name: 'counter',
  functions: {
    add: fn(z.object({ by: z.number().int().min(1) }), (tx, { by }) => {
      const n = (tx.get<number>('n') ?? 0) + by
      tx.set('n', n)
      return n
    }),
  },
})

const params = new URLSearchParams(location.search)
const id = params.get('replica') ?? 'solo'
const room = params.get('room') ?? 'e2e'

// Record the options of every IndexedDB transaction, so the test can see them.
const transactions: { mode: string; durability: string | undefined }[] = []
const original = IDBDatabase.prototype.transaction
IDBDatabase.prototype.transaction = function (this: IDBDatabase, stores: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) {
  transactions.push({ mode: mode ?? 'readonly', durability: options?.durability })
  return original.call(this, stores, mode, options)
} as typeof original

const storage = await IdbStorage.open(databaseName('e2e', room, id))
const stable = await storage.load()
const machine = createMachine(counter)
const replica = new Replica({ id, members: [id], machine, random: createRandom(Date.now() & 0xffff), stable })
const waiting = new Map<number, (reply: CallReply) => void>()
// A client id per page load: ticket sequences restart with the page.
const client = `${id}-${crypto.randomUUID()}`
let seq = 0
let writes = 0
let recordsWritten = 0
let pumping = false

async function pump(): Promise<void> {
  if (pumping) return
  pumping = true
  try {
    for (let guard = 0; guard < 1000 && replica.hasReady(); guard++) {
      const ready = replica.ready()
      if (ready.persist.length > 0) {
        await storage.write(ready.persist as PersistRecord[])
        writes++
        recordsWritten += ready.persist.length
        replica.step({ type: 'persisted', seq: ready.persistSeq })
      }
      for (const message of ready.send) replica.step({ type: 'loopback', message })
      for (const reply of ready.replies) waiting.get(reply.ticket.seq)?.(reply)
    }
  } finally {
    pumping = false
  }
}

setInterval(() => {
  replica.step({ type: 'tick' })
  void pump()
}, 10)

const solo = {
  async call(by: number): Promise<CallReply> {
    const ticket = { client, seq: ++seq, acked: seq - 1 }
    const reply = new Promise<CallReply>((resolve) => waiting.set(ticket.seq, resolve))
    replica.step({ type: 'call', call: { ticket, name: 'add', args: { by } } })
    void pump()
    return reply
  },
  state: () => machine.snapshot(),
  status: () => replica.status(),
  transactions: () => transactions,
  writes: () => writes,
  recordsWritten: () => recordsWritten,
  restoredIssued: stable.issued.length,
}
Object.assign(window, { solo })
document.getElementById('status')!.textContent = `replica ${id} ready; restored ${stable.issued.length} issued commands`
