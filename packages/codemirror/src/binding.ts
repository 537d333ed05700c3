import { Annotation, type Extension } from '@codemirror/state'
import { ViewPlugin, type EditorView, type ViewUpdate } from '@codemirror/view'
import type { Json } from '@concord/machine'
import type { Received } from './client.ts'
import { cursorsFrom, remoteCursors, setRemoteCursors, type CursorPresence, type TextUser } from './cursors.ts'
import { readText } from './machine.ts'
import { TextSession, type TextStore } from './session.ts'

/**
 * The CodeMirror 6 binding (the equivalent of y-codemirror): typing is
 * applied in the editor at once (optimistic) and sent as text commands, one
 * edit in flight at a time with later typing composed behind it; remote
 * edits are mapped over local ones (client.ts) and applied in the editor;
 * other tabs' cursors come over presence (cursors.ts).
 */
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

const fromRemote = Annotation.define<boolean>()

class TextSync {
  readonly session: TextSession
  private readonly stopPresence: () => void
  private destroyed = false

  constructor(private readonly view: EditorView, private readonly store: TextStore, key: string, private readonly options: TextBindingOptions) {
    this.session = new TextSession(store, key, (received, reported) => this.apply(received, reported))
    // The editor may start with other text: take the store's (not from inside the editor's own update).
    const { text } = readText(store.state, key)
    if (view.state.doc.toString() !== text) queueMicrotask(() => this.apply({ kind: 'reset', text, reason: 'initial text' }, false))
    this.stopPresence = store.onPresence?.(() => this.showCursors()) ?? (() => {})
    if (options.user !== undefined) queueMicrotask(() => this.shareCursor())
  }

  update(update: ViewUpdate): void {
    for (const tr of update.transactions) if (tr.docChanged && tr.annotation(fromRemote) !== true) this.session.local(tr.changes)
    if (update.selectionSet || update.docChanged) queueMicrotask(() => this.shareCursor())
  }

  destroy(): void {
    this.destroyed = true
    this.session.close()
    this.stopPresence()
    this.store.setPresence?.(null)
  }

  private apply(received: NonNullable<Received>, report: boolean): void {
    if (this.destroyed) return
    if (received.kind === 'changes') {
      this.view.dispatch({ changes: received.changes, annotations: fromRemote.of(true) })
    } else {
      this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: received.text }, annotations: fromRemote.of(true) })
      if (report) this.options.onReset?.(received.reason)
    }
  }

  private shareCursor(): void {
    const user = this.options.user
    if (this.destroyed || user === undefined || this.store.setPresence === undefined) return
    const { anchor, head } = this.view.state.selection.main
    const value: CursorPresence = { name: user.name, color: user.color, cursor: { key: this.session.client.key, anchor, head, v: this.session.client.version } }
    this.store.setPresence(value as unknown as Json)
  }

  private showCursors(): void {
    if (this.destroyed || this.store.presence === undefined) return
    this.view.dispatch({ effects: setRemoteCursors.of(cursorsFrom(this.store.presence, this.session.client, this.store.state)) })
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
  return sync === undefined ? null : { version: sync.session.client.version, pending: sync.session.client.pending }
}
