import { Annotation, type Extension } from '@codemirror/state'
import { ViewPlugin, type EditorView, type ViewUpdate } from '@codemirror/view'
import type { z } from 'zod'
import type { Json } from '@concord/machine'
import { TextClient, type Received } from './client.ts'
import { cursorsFrom, remoteCursors, setRemoteCursors, type CursorPresence, type TextUser } from './cursors.ts'
import { readText, type editArgs } from './machine.ts'

/**
 * The CodeMirror 6 binding (the equivalent of y-codemirror): typing is
 * applied in the editor at once (optimistic) and sent as text commands, one
 * edit in flight at a time with later typing composed behind it; remote
 * edits are mapped over local ones (client.ts) and applied in the editor.
 */
export interface TextStore {
  readonly state: Readonly<Record<string, Json>>
  subscribe(listener: (state: Readonly<Record<string, Json>>) => void): () => void
  call(name: 'edit', args: z.input<typeof editArgs>): Promise<unknown>
  /** Presence (optional): with it, the tabs see each other's cursors. */
  setPresence?(value: Json | null): void
  readonly presence?: ReadonlyMap<string, Json>
  onPresence?(listener: (presence: ReadonlyMap<string, Json>) => void): () => void
}

export interface TextBindingOptions {
  /** The state key of the document (default 'doc'). */
  key?: string
  /** Local edits were dropped (the leader refused them, or the tab fell out of the log): tell the user. */
  onReset?: (reason: string) => void
  /** Who this tab is, shown at its cursor in the other tabs (default: no cursor shared). */
  user?: TextUser
}

/** Where a binding is: the version it has seen, and whether local edits wait to be issued. */
export interface TextSyncState {
  version: number
  pending: boolean
}

/** An edit that failed for a passing reason (no leader, a timeout) is sent again after this long, under the same id. */
export const textRetryMs = 500

const fromRemote = Annotation.define<boolean>()

class TextSync {
  readonly client: TextClient
  private readonly unsubscribe: () => void
  private destroyed = false
  private retry: ReturnType<typeof setTimeout> | undefined

  constructor(private readonly view: EditorView, private readonly store: TextStore, key: string, private readonly options: TextBindingOptions) {
    const { text, version } = readText(store.state, key)
    this.client = new TextClient(key, version, randomId())
    // The editor may start with other text: take the store's (not from inside the editor's own update).
    if (view.state.doc.toString() !== text) queueMicrotask(() => this.apply({ kind: 'reset', text, reason: 'initial text' }, false))
    const stopState = store.subscribe((state) => this.receive(state))
    const stopPresence = store.onPresence?.(() => this.showCursors()) ?? (() => {})
    this.unsubscribe = () => {
      stopState()
      stopPresence()
      store.setPresence?.(null)
    }
    if (options.user !== undefined) queueMicrotask(() => this.shareCursor())
  }

  update(update: ViewUpdate): void {
    for (const tr of update.transactions) if (tr.docChanged && tr.annotation(fromRemote) !== true) this.client.local(tr.changes)
    if (this.client.pending) queueMicrotask(() => this.flush())
    if (update.selectionSet || update.docChanged) queueMicrotask(() => this.shareCursor())
  }

  destroy(): void {
    this.destroyed = true
    clearTimeout(this.retry)
    this.unsubscribe()
  }

  private shareCursor(): void {
    const user = this.options.user
    if (this.destroyed || user === undefined || this.store.setPresence === undefined) return
    const { anchor, head } = this.view.state.selection.main
    const value: CursorPresence = { name: user.name, color: user.color, cursor: { key: this.client.key, anchor, head, v: this.client.version } }
    this.store.setPresence(value as unknown as Json)
  }

  private showCursors(): void {
    if (this.destroyed || this.store.presence === undefined) return
    this.view.dispatch({ effects: setRemoteCursors.of(cursorsFrom(this.store.presence, this.client, this.store.state)) })
  }

  private flush(): void {
    if (this.destroyed) return
    const sendable = this.client.takeSendable()
    if (sendable !== null) this.send()
  }

  private send(): void {
    const inflight = this.client.inFlight
    if (inflight === null || this.destroyed) return
    const { key } = this.client
    this.store.call('edit', { key, base: inflight.base, changes: inflight.changes.toJSON() as z.input<typeof editArgs>['changes'], id: inflight.id }).then(
      // The log says where it landed; the reply may come before or after the state that holds it.
      () => this.receive(this.store.state),
      (error: unknown) => {
        if (this.client.inFlight !== inflight || this.destroyed) return
        const name = error instanceof Error ? error.name : ''
        if (name === 'RejectedError' || name === 'ValidationError') {
          const { text, version } = readText(this.store.state, key)
          this.apply(this.client.reset(text, version, `an edit was refused: ${error instanceof Error ? error.message : String(error)}`), true)
        } else {
          this.retry = setTimeout(() => this.send(), textRetryMs)
        }
      },
    )
  }

  private receive(state: Readonly<Record<string, Json>>): void {
    if (this.destroyed) return
    this.apply(this.client.receive(state), true)
    this.flush()
  }


  private apply(received: Received, report: boolean): void {
    if (received === null || this.destroyed) return
    if (received.kind === 'changes') {
      this.view.dispatch({ changes: received.changes, annotations: fromRemote.of(true) })
    } else {
      this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: received.text }, annotations: fromRemote.of(true) })
      if (report) this.options.onReset?.(received.reason)
    }
  }
}

const plugins = new WeakMap<EditorView, TextSync>()

/** The extension: `new EditorView({ doc: textOf(store), extensions: [concordText(store)] })`. */
export function concordText(store: TextStore, options: TextBindingOptions = {}): Extension {
  const key = options.key ?? 'doc'
  const plugin = ViewPlugin.define((view) => {
    const sync = new TextSync(view, store, key, options)
    plugins.set(view, sync)
    return sync
  })
  return [plugin, remoteCursors]
}

/** The document's text in a store's state (to start an editor with). */
export function textOf(store: Pick<TextStore, 'state'>, key = 'doc'): string {
  return readText(store.state, key).text
}

/** The binding's progress in a view (tests, "saving…" indicators). */
export function textSyncState(view: EditorView): TextSyncState | null {
  const sync = plugins.get(view)
  return sync === undefined ? null : { version: sync.client.version, pending: sync.client.pending }
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
