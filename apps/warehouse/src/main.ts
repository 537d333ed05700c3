import { openStore, RejectedError, type Store } from '@concord/client'
import { mountBanner, mountInspector } from '@concord/inspector'
import { devRoom } from '@concord/app-shared'
import { warehouse } from './machine.ts'

/**
 * The warehouse demo: a room of tabs replicating seed 002's supply chain.
 * `npm start` serves it next to a development signaling server.
 */
const $ = (id: string) => document.getElementById(id)!

function log(line: string, error = false): void {
  const div = document.createElement('div')
  div.textContent = `${new Date().toLocaleTimeString()}  ${line}`
  if (error) div.className = 'error'
  $('log').prepend(div)
}

let store: Store<typeof warehouse.functions>
try {
  store = await openStore({ machine: warehouse, worker: new Worker(new URL('./replica.worker.ts', import.meta.url), { type: 'module' }), ...(await devRoom()) })
} catch (error) {
  $('status').innerHTML = ''
  $('status').append(Object.assign(document.createElement('span'), { className: 'error', textContent: `The warehouse could not start: ${error instanceof Error ? error.message : String(error)}` }))
  throw error
}
mountBanner(store, $('banner'))
mountInspector(store, $('inspector'), { folded: true })

let killed = false
function render(): void {
  for (const x of ['A', 'B', 'C']) $(`stock-${x}`).textContent = String(store.state[x] ?? 0)
  if (killed) return
  const s = store.status
  const role = s.role === 'leader' ? '<span class="leader">leader</span>' : s.role
  $('status').innerHTML = `replica <b>${s.replicaId}</b> · ${role} · leader ${s.leader ?? '—'} · ballot ${s.ballot} · issued ${s.lastIssued} · peers ${s.connected.join(', ') || 'none yet'}${s.speculativeCalls > 0 ? ` · ${s.speculativeCalls} shown before the leader answered` : ''}`
}
store.subscribe(render)
store.onStatus(render)
render()

async function run(what: string, call: () => Promise<unknown>): Promise<void> {
  const started = performance.now()
  try {
    await call()
    log(`${what}: done in ${(performance.now() - started).toFixed(1)} ms`)
  } catch (error) {
    log(`${what}: ${error instanceof RejectedError ? `refused by the leader: ${error.reason}${optimistic() ? ' (rolled back)' : ''}` : (error as Error).message}`, true)
  }
}

const optimistic = () => ($('optimistic') as HTMLInputElement).checked
function form(id: string, submit: (data: FormData) => [string, () => Promise<unknown>]): void {
  $(id).addEventListener('submit', (event) => {
    event.preventDefault()
    const [what, call] = submit(new FormData(event.target as HTMLFormElement))
    void run(what, call)
  })
}
const x = (d: FormData, k: string) => d.get(k) as 'A' | 'B' | 'C'
const opts = () => ({ optimistic: optimistic() })
form('inbound', (d) => [`inbound ${d.get('v')} → ${x(d, 'x')}`, () => store.call('inbound', { x: x(d, 'x'), v: Number(d.get('v')) }, opts())])
form('transfer', (d) => [`transfer ${d.get('v')} ${x(d, 'x')} → ${x(d, 'y')}`, () => store.call('transfer', { x: x(d, 'x'), y: x(d, 'y'), v: Number(d.get('v')) }, opts())])
form('outbound', (d) => [`ship ${d.get('v')} from ${x(d, 'x')}`, () => store.call('outbound', { x: x(d, 'x'), v: Number(d.get('v')) }, opts())])
$('lead').addEventListener('click', () => store.lead())

/** This tab's replica stops as if its tab crashed (no goodbye): the others elect a new leader and, after its silence, remove it. */
async function kill(): Promise<void> {
  if (killed) return
  killed = true
  await store.close()
  $('status').innerHTML = '<span class="error">This tab\'s replica was killed (as if the tab crashed). The other tabs elect a new leader; reload to rejoin as a new replica.</span>'
  log('this replica was killed', true)
}
$('close').addEventListener('click', () => void kill())
// "Kill the leader" from any tab: asked over presence (the data channels, not the log); the leader tab kills its own replica.
$('kill-leader').addEventListener('click', () => {
  const leader = store.status.leader
  if (leader === null) return log('no leader right now', true)
  log(`killing the leader ${leader}…`)
  if (leader === store.replicaId) return void kill()
  store.setPresence({ kill: leader, at: Date.now() })
})
store.onPresence((peers) => {
  for (const value of peers.values()) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && value['kill'] === store.replicaId) void kill()
  }
})
Object.assign(window, { warehouseStore: store })
