import { ChangeSet, Text } from '@codemirror/state'
import type { z } from 'zod'
import type { Json } from '@concord/machine'
import { TextClient, type Received } from './client.ts'
import { readText, type editArgs } from './machine.ts'

/**
 * A tab's live connection to one collaborative text, without any editor:
 * local edits go to `local`, are sent as text commands (one in flight, later
 * ones composed behind it), and remote edits come back through `onRemote`,
 * already mapped over this tab's unissued edits (client.ts). The CodeMirror
 * binding is this plus a view; `openText` is this plus a plain text.
 */
export interface TextStore {
  readonly state: Readonly<Record<string, Json>>
  subscribe(listener: (state: Readonly<Record<string, Json>>) => void): () => void
  call(name: 'edit', args: z.input<typeof editArgs>): Promise<unknown>
  /** Presence (optional): with it, editors show each other's cursors. */
  setPresence?(value: Json | null): void
  readonly presence?: ReadonlyMap<string, Json>
  onPresence?(listener: (presence: ReadonlyMap<string, Json>) => void): () => void
}

/** An edit that failed for a passing reason (no leader, a timeout) is sent again after this long, under the same id. */
export const textRetryMs = 500

export class TextSession {
  readonly client: TextClient
  private readonly unsubscribe: () => void
  private closed = false
  private retry: ReturnType<typeof setTimeout> | undefined
  private flushQueued = false

  /** `onRemote` gets remote edits (or a reset, with `reported` false for the first sync). */
  constructor(private readonly store: TextStore, key: string, private readonly onRemote: (received: NonNullable<Received>, reported: boolean) => void) {
    this.client = new TextClient(key, readText(store.state, key).version, randomId())
    this.unsubscribe = store.subscribe((state) => this.receive(state))
  }

  /** A local edit, already applied where the user sees it. */
  local(changes: ChangeSet): void {
    this.client.local(changes)
    if (!this.flushQueued) {
      this.flushQueued = true
      queueMicrotask(() => {
        this.flushQueued = false
        this.flush()
      })
    }
  }

  close(): void {
    this.closed = true
    clearTimeout(this.retry)
    this.unsubscribe()
  }

  private flush(): void {
    if (!this.closed && this.client.takeSendable() !== null) this.send()
  }

  private send(): void {
    const inflight = this.client.inFlight
    if (inflight === null || this.closed) return
    const { key } = this.client
    this.store.call('edit', { key, base: inflight.base, changes: inflight.changes.toJSON() as z.input<typeof editArgs>['changes'], id: inflight.id }).then(
      // The log says where it landed; the reply may come before or after the state that holds it.
      () => this.receive(this.store.state),
      (error: unknown) => {
        if (this.client.inFlight !== inflight || this.closed) return
        const name = error instanceof Error ? error.name : ''
        if (name === 'RejectedError' || name === 'ValidationError') {
          const { text, version } = readText(this.store.state, key)
          this.onRemote(this.client.reset(text, version, `an edit was refused: ${error instanceof Error ? error.message : String(error)}`)!, true)
        } else {
          this.retry = setTimeout(() => this.send(), textRetryMs)
        }
      },
    )
  }

  private receive(state: Readonly<Record<string, Json>>): void {
    if (this.closed) return
    const received = this.client.receive(state)
    if (received !== null) this.onRemote(received, true)
    this.flush()
  }
}

/** A collaborative text without an editor (tests, benchmarks, a textarea of your own). */
export interface OpenText {
  readonly text: string
  readonly version: number
  /** Local edits not yet issued. */
  readonly pending: boolean
  /** Replace `from`..`to` (UTF-16 code units) by `insert`, locally at once. */
  replace(from: number, to: number, insert: string): void
  /** Called after every change, local or remote. */
  onChange(listener: () => void): () => void
  close(): void
}

export function openText(store: TextStore, options: { key?: string; onReset?: (reason: string) => void } = {}): OpenText {
  const key = options.key ?? 'doc'
  let doc = Text.of(readText(store.state, key).text.split('\n'))
  const listeners = new Set<() => void>()
  const changed = () => {
    for (const listener of listeners) listener()
  }
  const session = new TextSession(store, key, (received, reported) => {
    if (received.kind === 'changes') doc = received.changes.apply(doc)
    else {
      doc = Text.of(received.text.split('\n'))
      if (reported) options.onReset?.(received.reason)
    }
    changed()
  })
  return {
    get text() {
      return doc.toString()
    },
    get version() {
      return session.client.version
    },
    get pending() {
      return session.client.pending
    },
    replace(from, to, insert) {
      const changes = ChangeSet.of({ from, to, insert }, doc.length)
      doc = changes.apply(doc)
      session.local(changes)
      changed()
    },
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close: () => session.close(),
  }
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
