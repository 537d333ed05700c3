/// <reference types="vite/client" />
import { StrictMode, useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { openStore, RejectedError, type Store } from '@concord/client'
import { mountBanner, mountInspector } from '@concord/inspector'
import { useCall, useStatus, useStore } from '@concord/react'
import { devRoom } from '@concord/app-shared'
import { boardSize, game, type Cell, type Direction, type Players } from './machine.ts'

/**
 * The game demo (issue 6 §2), on the React bindings. Moves are optimistic:
 * this tab shows its own move at once, the leader validates it against the
 * latest state, and a refused move is rolled back with the leader's reason.
 */
type GameStore = Store<typeof game.functions>
const keys: Record<string, Direction> = { ArrowUp: 'up', ArrowDown: 'down', ArrowLeft: 'left', ArrowRight: 'right' }
const latencySamplesMax = 50
/** How often a tab checks that its player is in the game, and the leader looks for departed ones. */
const joinCheckMs = 1_000
/** A player whose tab has been out of the room's membership this long is removed. */
const departedAfterMs = 10_000

function Game({ store }: { store: GameStore }) {
  const players = useStore(store, (s) => (s['players'] ?? {}) as Players)
  const confirmed = useStore(store, () => (store.confirmedState['players'] ?? {}) as Players)
  const coin = useStore(store, (s) => (s['coin'] ?? null) as Cell | null)
  const status = useStatus(store)
  const move = useCall(store, 'move', { optimistic: true })
  const { call: join } = useCall(store, 'join')
  const [latencies, setLatencies] = useState<number[]>([])
  const [message, setMessage] = useState<string | null>(null)
  const me = store.replicaId

  // Join, and join again whenever this tab's player is missing from the
  // confirmed state: the first call may time out on a loaded machine, and a
  // leader that took this tab for gone may have removed it.
  useEffect(() => {
    let inFlight = false
    const ensure = (): void => {
      const confirmed = (store.confirmedState['players'] ?? {}) as Players
      if (inFlight || confirmed[me] !== undefined) return
      inFlight = true
      join({ id: me, name: me.slice(0, 8) }).then(
        () => setMessage(null),
        (error: Error) => setMessage(`could not join: ${error.message} (trying again)`),
      ).finally(() => { inFlight = false })
    }
    ensure()
    const timer = setInterval(ensure, joinCheckMs)
    return () => clearInterval(timer)
  }, [join, me, store])

  // The leader tab removes the players of tabs that left the room, once they
  // have been out of the membership for a while: a tab's join call can be
  // issued before the reconfiguration that adds its replica, and a status
  // can trail the state it is read with.
  useEffect(() => {
    const absentSince = new Map<string, number>()
    const timer = setInterval(() => {
      const status = store.status
      if (status.role !== 'leader') return absentSince.clear()
      const now = performance.now()
      for (const id of Object.keys((store.confirmedState['players'] ?? {}) as Players)) {
        if (status.members.includes(id)) absentSince.delete(id)
        else if (!absentSince.has(id)) absentSince.set(id, now)
        else if (now - absentSince.get(id)! > departedAfterMs) {
          absentSince.delete(id)
          void store.call('leave', { id }).catch(() => {})
        }
      }
    }, joinCheckMs)
    return () => clearInterval(timer)
  }, [store])

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const dir = keys[event.key]
      if (dir === undefined) return
      event.preventDefault()
      go(dir)
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  })

  function go(dir: Direction): void {
    const started = performance.now()
    move.call({ id: me, dir }).then(
      (result) => {
        setLatencies((l) => [...l.slice(-(latencySamplesMax - 1)), performance.now() - started])
        setMessage(result.scored ? 'you got the coin!' : null)
      },
      (error: Error) => setMessage(error instanceof RejectedError ? `move refused by the leader: ${error.reason} (rolled back)` : `move failed: ${error.message}`),
    )
  }

  const sorted = [...latencies].sort((a, b) => a - b)
  const p50 = sorted.length === 0 ? null : sorted[Math.floor(sorted.length / 2)]!
  const last = latencies.at(-1) ?? null
  const at = new Map(Object.entries(players).map(([id, p]) => [`${p.x},${p.y}`, [id, p] as const]))
  const cells = []
  for (let y = 0; y < boardSize; y++) {
    for (let x = 0; x < boardSize; x++) {
      const here = at.get(`${x},${y}`)
      const speculative = here !== undefined && (confirmed[here[0]]?.x !== x || confirmed[here[0]]?.y !== y)
      cells.push(
        <div className="cell" key={`${x},${y}`} data-cell={`${x},${y}`}>
          {here !== undefined ? (
            <div className={`player${here[0] === me ? ' me' : ''}${speculative ? ' speculative' : ''}`} style={{ background: here[1].color }} data-player={here[0]} title={here[1].name}>
              {here[1].name.slice(-2)}
            </div>
          ) : coin !== null && coin.x === x && coin.y === y ? (
            <div className="coin" data-coin="" />
          ) : null}
        </div>,
      )
    }
  }
  return (
    <>
      <div className="status" data-part="status">
        you are <b style={{ color: players[me]?.color }}>{me}</b> · {status.role === 'leader' ? <span className="leader">leader</span> : status.role} · leader {status.leader ?? '—'} · ballot {status.ballot} · {status.members.length} in the room · move latency{' '}
        <b data-part="latency">{last === null ? '—' : `${last.toFixed(1)} ms`}</b> (p50 {p50 === null ? '—' : `${p50.toFixed(1)} ms`} of {latencies.length})
      </div>
      <div className="layout">
        <div className="board" style={{ gridTemplateColumns: `repeat(${boardSize}, 34px)` }} data-part="board">
          {cells}
        </div>
        <div>
          <div className="pad">
            <div><button onClick={() => go('up')} aria-label="up">↑</button></div>
            <div>
              <button onClick={() => go('left')} aria-label="left">←</button>
              <button onClick={() => go('down')} aria-label="down">↓</button>
              <button onClick={() => go('right')} aria-label="right">→</button>
            </div>
          </div>
          <table data-part="scores">
            <thead><tr><th>player</th><th>score</th></tr></thead>
            <tbody>
              {Object.entries(players)
                .sort(([, a], [, b]) => b.score - a.score)
                .map(([id, p]) => (
                  <tr key={id} data-score={id}><td style={{ color: p.color }}>{p.name}{id === me ? ' (you)' : ''}</td><td>{p.score}</td></tr>
                ))}
            </tbody>
          </table>
          <p className={message?.startsWith('move refused') === true ? 'error' : 'muted'} data-part="message">{message ?? '\u00a0'}</p>
        </div>
      </div>
    </>
  )
}

const root = document.getElementById('root')!
try {
  const access = await devRoom()
  const store: GameStore = await openStore({ machine: game, worker: new Worker(new URL('./replica.worker.ts', import.meta.url), { type: 'module' }), ...access })
  root.textContent = ''
  mountBanner(store, root)
  const app = document.createElement('div')
  root.append(app)
  createRoot(app).render(<StrictMode><Game store={store} /></StrictMode>)
  mountInspector(store, document.getElementById('inspector')!, { folded: true })
  Object.assign(window, { gameStore: store })
} catch (error) {
  root.innerHTML = ''
  const p = document.createElement('p')
  p.className = 'error'
  p.textContent = `The game could not start: ${error instanceof Error ? error.message : String(error)}`
  root.append(p)
}
