import { openStore, RejectedError, type Store } from '@concord/client'
import { warehouse } from './machine.ts'

/**
 * The warehouse demo: a room of tabs replicating seed 002's supply chain.
 * `npm start` serves it next to a development signaling server.
 */
const params = new URLSearchParams(location.search)
const room = params.get('room') ?? 'demo'
const signaling = params.get('signaling') ?? `ws://${location.hostname}:8787`
const httpSignaling = signaling.replace(/^ws/, 'http')
const $ = (id: string) => document.getElementById(id)!

function log(line: string, error = false): void {
  const div = document.createElement('div')
  div.textContent = `${new Date().toLocaleTimeString()}  ${line}`
  if (error) div.className = 'error'
  $('log').prepend(div)
}

const store: Store<typeof warehouse.functions> = await openStore({
  machine: warehouse,
  worker: new Worker(new URL('./replica.worker.ts', import.meta.url), { type: 'module' }),
  room,
  signaling,
  // The development signaling server issues tokens and the room key; a real app's own server would.
  token: async (peer) => ((await (await fetch(`${httpSignaling}/dev-token?room=${room}&peer=${peer}`)).json()) as { token: string }).token,
  roomKey: ((await (await fetch(`${httpSignaling}/dev-token?room=${room}&peer=room-key`)).json()) as { roomKey: string }).roomKey,
})

function render(): void {
  for (const x of ['A', 'B', 'C']) $(`stock-${x}`).textContent = String(store.state[x] ?? 0)
  const s = store.status
  const role = s.role === 'leader' ? '<span class="leader">leader</span>' : s.role
  $('status').innerHTML = `replica <b>${s.replicaId}</b> of room <b>${room}</b> · ${role} · leader ${s.leader ?? '—'} · ballot ${s.ballot} · issued ${s.lastIssued} · peers ${s.connected.join(', ') || 'none yet'}`
}
store.subscribe(render)
setInterval(render, 250)
render()

async function run(what: string, call: () => Promise<unknown>): Promise<void> {
  const started = performance.now()
  try {
    await call()
    log(`${what}: done in ${(performance.now() - started).toFixed(1)} ms`)
  } catch (error) {
    log(`${what}: ${error instanceof RejectedError ? error.reason : (error as Error).message}`, true)
  }
}

function form(id: string, submit: (data: FormData) => [string, () => Promise<unknown>]): void {
  $(id).addEventListener('submit', (event) => {
    event.preventDefault()
    const [what, call] = submit(new FormData(event.target as HTMLFormElement))
    void run(what, call)
  })
}
const x = (d: FormData, k: string) => d.get(k) as 'A' | 'B' | 'C'
form('inbound', (d) => [`inbound ${d.get('v')} → ${x(d, 'x')}`, () => store.call('inbound', { x: x(d, 'x'), v: Number(d.get('v')) })])
form('transfer', (d) => [`transfer ${d.get('v')} ${x(d, 'x')} → ${x(d, 'y')}`, () => store.call('transfer', { x: x(d, 'x'), y: x(d, 'y'), v: Number(d.get('v')) })])
form('outbound', (d) => [`ship ${d.get('v')} from ${x(d, 'x')}`, () => store.call('outbound', { x: x(d, 'x'), v: Number(d.get('v')) })])
$('lead').addEventListener('click', () => store.lead())
$('close').addEventListener('click', () => void store.close().then(() => log('this replica is closed; reload to rejoin')))
Object.assign(window, { warehouseStore: store })
