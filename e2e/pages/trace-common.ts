export { dataChannelBytesSent } from './channel-bytes.ts'
/**
 * What both trace pages (Concord and Yjs) share: the trace format, typing it
 * with a clock per keystroke, and the wire and disk figures of the tab, read
 * the same way for both systems.
 */
export type Trace = { endContent: string; txns: { patches: [position: number, remove: number, insert: string][] }[] }

/** Milliseconds on a clock all tabs of the browser share. */
export const now = () => performance.timeOrigin + performance.now()

/** Type every transaction of the trace with `apply`, yielding now and then so the system can send; returns each transaction's time.
 *  With `pace`, typing stops after every `pace.every` transactions until `pace.wait(typed)` resolves. */
export async function typeTrace(trace: Trace, apply: (patches: Trace['txns'][number]['patches']) => void, yieldEvery = 200, pace?: { every: number; wait: (typed: number) => Promise<void> }): Promise<{ times: Float64Array; ms: number }> {
  const times = new Float64Array(trace.txns.length)
  const started = performance.now()
  for (let i = 0; i < trace.txns.length; i++) {
    times[i] = now()
    apply(trace.txns[i]!.patches)
    if (pace !== undefined && (i + 1) % pace.every === 0) await pace.wait(i + 1)
    else if ((i + 1) % yieldEvery === 0) await new Promise((resolve) => setTimeout(resolve, 0))
  }
  return { times, ms: performance.now() - started }
}

/** What this origin (this tab's context) holds on disk, as Chromium's quota manager counts it (compressed, and lagging). */
export async function diskBytes(): Promise<number> {
  return (await navigator.storage.estimate()).usage ?? 0
}

/** The bytes the system asked IndexedDB to keep, as it holds them now: every
 *  value (and key) of every database of this origin — binary values (and
 *  binary parts of values) by their length, the rest as JSON. The same
 *  measure for both systems. */
export async function storedBytes(): Promise<number> {
  // Binary parts (at any depth: a record may hold bytes beside other fields) count by their length.
  const binaryLength = (value: unknown): number | null => (value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? value.byteLength : null)
  const size = (value: unknown): number => binaryLength(value) ?? new TextEncoder().encode(JSON.stringify(value, (_key, v: unknown) => {
    const length = binaryLength(v)
    return length === null ? v : 'x'.repeat(length)
  }) ?? '').length
  let bytes = 0
  for (const { name } of await indexedDB.databases()) {
    if (name === undefined) continue
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
    for (const storeName of db.objectStoreNames) {
      const store = db.transaction(storeName, 'readonly').objectStore(storeName)
      const [keys, values] = await Promise.all([store.getAllKeys(), store.getAll()].map((request) => new Promise<unknown[]>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result as unknown[])
        request.onerror = () => reject(request.error)
      })))
      for (const key of keys!) bytes += size(key)
      for (const value of values!) bytes += size(value)
    }
    db.close()
  }
  return bytes
}

/**
 * What a driving loop waits on (the trace-author pages): `until(ready)` resolves once `ready()` holds, re-checked
 * at every `wake()`; the first `fail(reason)` makes every wait, current or later, throw it.
 */
export class Waiter {
  private failure: string | null = null
  private resume: () => void = () => {}

  wake(): void {
    this.resume()
  }

  fail(reason: unknown): void {
    this.failure ??= reason instanceof Error ? reason.message : String(reason)
    this.resume()
  }

  async until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.failure !== null) throw new Error(this.failure)
      await new Promise<void>((resolve) => (this.resume = resolve))
    }
    if (this.failure !== null) throw new Error(this.failure)
  }
}
