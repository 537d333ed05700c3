/// <reference types="vite/client" />
import { StrictMode, useState, type FormEvent } from 'react'
import { createRoot } from 'react-dom/client'
import { openStore, RejectedError, type Store } from '@concord/client'
import { mountBanner, mountInspector } from '@concord/inspector'
import { useStatus, useStore } from '@concord/react'
import { devRoom } from '@concord/app-shared'
import { warehouse } from './machine.ts'

/**
 * The warehouse demo (issue 6 §3): seed 002's supply chain on the React
 * bindings. Calls are optimistic unless unticked; a call the leader refuses
 * is rolled back and its reason logged. "Kill the leader" asks the leader
 * tab, over presence, to stop its replica as if it crashed.
 */
type WarehouseStore = Store<typeof warehouse.functions>
type Bin = 'A' | 'B' | 'C'
const bins: Bin[] = ['A', 'B', 'C']
interface Line {
  at: string
  text: string
  error: boolean
}

function Warehouse({ store, killed, kill }: { store: WarehouseStore; killed: boolean; kill: () => void }) {
  const stock = useStore(store, (s) => bins.map((x) => (s[x] as number | undefined) ?? 0).join(','))
  const status = useStatus(store)
  const [optimistic, setOptimistic] = useState(true)
  const [log, setLog] = useState<Line[]>([])
  const say = (text: string, error = false) => setLog((l) => [{ at: new Date().toLocaleTimeString(), text, error }, ...l.slice(0, 99)])

  async function run(what: string, call: () => Promise<unknown>): Promise<void> {
    const started = performance.now()
    try {
      await call()
      say(`${what}: done in ${(performance.now() - started).toFixed(1)} ms`)
    } catch (error) {
      say(`${what}: ${error instanceof RejectedError ? `refused by the leader: ${error.reason}${optimistic ? ' (rolled back)' : ''}` : (error as Error).message}`, true)
    }
  }
  const submit = (event: FormEvent<HTMLFormElement>, make: (d: FormData) => [string, () => Promise<unknown>]) => {
    event.preventDefault()
    const [what, call] = make(new FormData(event.currentTarget))
    void run(what, call)
  }
  const bin = (d: FormData, k: string) => d.get(k) as Bin
  const opts = { optimistic }
  const options = (first: Bin) => [first, ...bins.filter((b) => b !== first)].map((b) => <option key={b}>{b}</option>)
  const role = status.role === 'leader' ? <span className="leader">leader</span> : status.role
  const shown = stock.split(',')

  return (
    <>
      <div id="status">
        {killed ? (
          <span className="error">This tab's replica was killed (as if the tab crashed). The other tabs elect a new leader; reload to rejoin as a new replica.</span>
        ) : (
          <>
            replica <b>{status.replicaId}</b> · {role} · leader {status.leader ?? '—'} · ballot {status.ballot} · issued {status.lastIssued} · peers {status.connected.join(', ') || 'none yet'}
            {status.speculativeCalls > 0 ? ` · ${status.speculativeCalls} shown before the leader answered` : ''}
          </>
        )}
      </div>
      <div className="stock">
        {bins.map((x, i) => (
          <div className="bin" key={x}>{x} <b id={`stock-${x}`}>{shown[i]}</b></div>
        ))}
      </div>
      <form id="inbound" onSubmit={(e) => submit(e, (d) => [`inbound ${d.get('v')} → ${bin(d, 'x')}`, () => store.call('inbound', { x: bin(d, 'x'), v: Number(d.get('v')) }, opts)])}>
        <strong>Register inbound</strong> <input name="v" type="number" min="1" defaultValue="500" /> into <select name="x">{options('A')}</select> <button>Inbound</button>
      </form>
      <form id="transfer" onSubmit={(e) => submit(e, (d) => [`transfer ${d.get('v')} ${bin(d, 'x')} → ${bin(d, 'y')}`, () => store.call('transfer', { x: bin(d, 'x'), y: bin(d, 'y'), v: Number(d.get('v')) }, opts)])}>
        <strong>Transfer</strong> <input name="v" type="number" min="1" defaultValue="100" /> from <select name="x">{options('A')}</select> to <select name="y">{options('B')}</select> <button>Transfer</button>
      </form>
      <form id="outbound" onSubmit={(e) => submit(e, (d) => [`ship ${d.get('v')} from ${bin(d, 'x')}`, () => store.call('outbound', { x: bin(d, 'x'), v: Number(d.get('v')) }, opts)])}>
        <strong>Ship</strong> <input name="v" type="number" min="1" defaultValue="50" /> from <select name="x">{options('A')}</select> <button>Outbound</button>
      </form>
      <p><label><input type="checkbox" id="optimistic" checked={optimistic} onChange={(e) => setOptimistic(e.target.checked)} /> optimistic (show my calls at once; roll back what the leader refuses)</label></p>
      <p>
        <button id="kill-leader" onClick={() => {
          const leader = store.status.leader
          if (leader === null) return say('no leader right now', true)
          say(`killing the leader ${leader}…`)
          if (leader === store.replicaId) return kill()
          store.setPresence({ kill: leader, at: Date.now() })
        }}>Kill the leader tab's replica (watch failover)</button>{' '}
        <button id="lead" onClick={() => store.lead()}>Make this tab the leader</button>{' '}
        <button id="close" onClick={kill}>Close this replica</button>
      </p>
      <div id="log">
        {log.map((line, i) => <div key={log.length - i} className={line.error ? 'error' : undefined}>{line.at}  {line.text}</div>)}
      </div>
    </>
  )
}

const root = document.getElementById('root')!
try {
  const store: WarehouseStore = await openStore({ machine: warehouse, worker: new Worker(new URL('./replica.worker.ts', import.meta.url), { type: 'module' }), ...(await devRoom()) })
  const app = createRoot(root)
  let killed = false
  /** This tab's replica stops as if its tab crashed (no goodbye): the others elect a new leader and, after its silence, remove it. */
  const kill = () => {
    if (killed) return
    killed = true
    void store.close()
    render()
  }
  const render = () => app.render(<StrictMode><Warehouse store={store} killed={killed} kill={kill} /></StrictMode>)
  render()
  // "Kill the leader" from another tab arrives over presence (the data channels, not the log).
  store.onPresence((peers) => {
    for (const value of peers.values()) if (value !== null && typeof value === 'object' && !Array.isArray(value) && value['kill'] === store.replicaId) kill()
  })
  // The banner and the inspector are plain-DOM panels any app can mount, beside React's tree.
  mountBanner(store, document.getElementById('banner')!)
  mountInspector(store, document.getElementById('inspector')!, { folded: true })
  Object.assign(window, { warehouseStore: store })
} catch (error) {
  root.textContent = ''
  root.append(Object.assign(document.createElement('p'), { className: 'error', textContent: `The warehouse could not start: ${error instanceof Error ? error.message : String(error)}` }))
}
