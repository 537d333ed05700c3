import { EditorView } from '@codemirror/view'
import { openStore } from '@concord/client'
import { concordText, textOf, textSyncState } from '@concord/codemirror'
import { devToken } from './dev-token.ts'
import { textMachine } from './machines.ts'

/** A tab of a collaborative text, driven by the e2e tests through `window.editor`. */
const params = new URLSearchParams(location.search)
const signaling = params.get('signaling') ?? 'ws://127.0.0.1:8797'
const room = params.get('room') ?? 'e2e-editor'

const store = await openStore({
  machine: textMachine,
  worker: new Worker(new URL('./editor.worker.ts', import.meta.url), { type: 'module' }),
  room,
  signaling,
  token: devToken(signaling, room),
})

const resets: string[] = []
const view = new EditorView({
  doc: textOf(store),
  extensions: [concordText(store, { onReset: (reason) => resets.push(reason), user: { name: store.replicaId, color: '#d03050' } })],
  parent: document.getElementById('editor')!,
})

type Trace = { endContent: string; txns: { patches: [position: number, remove: number, insert: string][] }[] }

const api = {
  text: () => view.state.doc.toString(),
  sync: () => textSyncState(view),
  resets: () => resets,
  /** The doc in the store's state (what is issued and applied here), beside the editor's text. */
  storeText: () => (store.state.doc as string | undefined) ?? '',
  /** Type `text` at `at` (clamped), as a keystroke: returns the editor's text right after, before any round trip. */
  type: (at: number, text: string) => {
    const from = Math.min(at, view.state.doc.length)
    view.dispatch({ changes: { from, insert: text }, selection: { anchor: from + text.length } })
    return view.state.doc.toString()
  },
  select: (anchor: number, head = anchor) => view.dispatch({ selection: { anchor, head } }),
  /** Other tabs' carets shown in this editor: their names, and the character offset each stands at. */
  carets: () => [...document.querySelectorAll('.cm-concord-caret')].map((caret) => ({ name: caret.textContent, at: view.posAtDOM(caret) })),
  /** Type a sequential trace (josephg/editing-traces format) into this tab's editor, as a user would: one transaction per edit. */
  replay: async (url: string, yieldEvery = 200) => {
    const trace = (await (await fetch(url)).json()) as Trace
    const started = performance.now()
    let count = 0
    for (const txn of trace.txns) {
      for (const [position, remove, insert] of txn.patches) {
        view.dispatch({ changes: { from: position, to: position + remove, insert } })
      }
      // Let the binding's calls and the store's updates run between keystrokes.
      if (++count % yieldEvery === 0) await new Promise((resolve) => setTimeout(resolve, 0))
    }
    return { edits: count, ms: performance.now() - started, endContent: trace.endContent }
  },
}
Object.assign(window, { editor: api })
setInterval(() => {
  const s = store.status
  const sync = textSyncState(view)
  document.getElementById('status')!.textContent = `${s.replicaId} ${s.role} issued ${s.lastIssued} text v${sync?.version} ${sync?.pending ? 'pending' : 'saved'}`
}, 500)
