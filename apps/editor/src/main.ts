/// <reference types="vite/client" />
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands'
import { EditorView, keymap } from '@codemirror/view'
import { openStore } from '@concord/client'
import { concordText, textOf, textSyncState } from '@concord/codemirror'
import traceUrl from '../../../bench/traces/automerge-paper.json.gz?url'
import { mountBanner, mountInspector } from '@concord/inspector'
import { devRoom } from '@concord/app-shared'
import { editorMachine } from './machine.ts'

/**
 * The editor demo (issue 6 §1, issue 10 §3): CodeMirror with the Concord
 * binding. `npm start` serves it next to a development signaling server.
 */
const $ = (id: string) => document.getElementById(id)!
const colors = ['#d03050', '#2080f0', '#18a058', '#f0a020', '#8a2be2', '#00a0a0']

const store = await (async () => openStore({ machine: editorMachine, worker: new Worker(new URL('./replica.worker.ts', import.meta.url), { type: 'module' }), ...(await devRoom()) }))().catch((error: unknown) => {
  $('status').innerHTML = ''
  $('status').append(Object.assign(document.createElement('span'), { className: 'error', textContent: `Could not open the document: ${error instanceof Error ? error.message : String(error)}` }))
  throw error
})
mountBanner(store, $('banner'))
mountInspector(store, $('inspector'), { folded: true })

const color = colors[[...store.replicaId].reduce((h, c) => h + c.charCodeAt(0), 0) % colors.length]!
const view = new EditorView({
  doc: textOf(store),
  extensions: [
    history(),
    keymap.of([...defaultKeymap, ...historyKeymap]),
    EditorView.lineWrapping,
    concordText(store, {
      user: { name: store.replicaId, color },
      onReset: (reason) => ($('problem').textContent = `Some of your latest typing was dropped: ${reason}`),
    }),
  ],
  parent: $('editor'),
})

function render(): void {
  const s = store.status
  const sync = textSyncState(view)
  const role = s.role === 'leader' ? '<span class="leader">leader</span>' : s.role
  $('status').innerHTML = `<span style="color:${color}">■</span> you are <b>${s.replicaId}</b> · ${role} · leader ${s.leader ?? '—'} · version ${sync?.version ?? 0} · ${sync?.pending === true ? 'saving…' : 'saved'} · ${view.state.doc.length.toLocaleString('en')} characters · peers ${s.connected.join(', ') || 'none yet'}` // problems (offline, storage) are the banner's
}
setInterval(render, 250)
render()

$('replay').addEventListener('click', async () => {
  const button = $('replay') as HTMLButtonElement
  button.disabled = true
  const body = (await fetch(traceUrl)).body!.pipeThrough(new DecompressionStream('gzip'))
  const trace = JSON.parse(await new Response(body).text()) as { txns: { patches: [number, number, string][] }[] }
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: '' } })
  const started = performance.now()
  for (let i = 0; i < trace.txns.length; i++) {
    for (const [at, remove, insert] of trace.txns[i]!.patches) view.dispatch({ changes: { from: at, to: at + remove, insert } })
    if (i % 500 === 0) {
      $('replay-status').textContent = `${i.toLocaleString('en')} of ${trace.txns.length.toLocaleString('en')} keystrokes`
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
  }
  $('replay-status').textContent = `typed ${trace.txns.length.toLocaleString('en')} keystrokes in ${((performance.now() - started) / 1000).toFixed(1)} s; the other tabs follow`
  button.disabled = false
})
Object.assign(window, { editorStore: store, editorView: view })
