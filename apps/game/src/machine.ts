import { z } from 'zod'
import { defineMachine, fn, reject, type Json, type Tx } from '@concord/machine'

/**
 * The game's rules, enforced by the leader (issue 6 §2): players walk a
 * board of boardSize × boardSize cells; no two players on one cell; the
 * coin goes to whoever steps on it and reappears on a free cell the leader
 * picks at random — a non-deterministic function whose command (the
 * chosen cell) every replica applies the same.
 */
export const boardSize = 10
export const playersMax = 8
export const colors = ['#2080f0', '#d03050', '#18a058', '#f0a020', '#8a2be2', '#00a0a0', '#c05621', '#e0559a'] as const

export type Player = {
  name: string
  color: string
  x: number
  y: number
  score: number
}
export type Players = Record<string, Player>
export type Cell = {
  x: number
  y: number
}

const playerId = z.string().min(1).max(64)
export const directions = { up: [0, -1], down: [0, 1], left: [-1, 0], right: [1, 0] } as const
export type Direction = keyof typeof directions

const playersOf = (tx: Tx): Players => (tx.get('players') as Players | undefined) ?? {}
const occupant = (players: Players, x: number, y: number) => Object.entries(players).find(([, p]) => p.x === x && p.y === y)

function freeCell(players: Players, avoid: Cell | null, random: () => number): Cell | null {
  const free: Cell[] = []
  for (let y = 0; y < boardSize; y++) {
    for (let x = 0; x < boardSize; x++) if (occupant(players, x, y) === undefined && !(avoid !== null && avoid.x === x && avoid.y === y)) free.push({ x, y })
  }
  return free.length === 0 ? null : free[Math.floor(random() * free.length)]!
}

export const game = defineMachine({
  name: 'game',
  functions: {
    join: fn(z.object({ id: playerId, name: z.string().trim().min(1).max(24) }), (tx, { id, name }, ctx) => {
      const players = playersOf(tx)
      if (players[id] !== undefined) return players[id]
      if (Object.keys(players).length >= playersMax) throw reject(`the game is full (${playersMax} players)`)
      const coin = (tx.get('coin') as Cell | undefined) ?? null
      const cell = freeCell(players, coin, ctx.random)
      if (cell === null) throw reject('no free cell')
      const used = new Set(Object.values(players).map((p) => p.color))
      const player: Player = { name, color: colors.find((c) => !used.has(c)) ?? colors[0], ...cell, score: 0 }
      tx.set('players', { ...players, [id]: player })
      if (coin === null) tx.set('coin', freeCell({ ...players, [id]: player }, null, ctx.random))
      return player
    }),
    move: fn(z.object({ id: playerId, dir: z.enum(['up', 'down', 'left', 'right']) }), (tx, { id, dir }, ctx) => {
      const players = playersOf(tx)
      const player = players[id]
      if (player === undefined) throw reject('you are not in the game')
      const [dx, dy] = directions[dir]
      const x = player.x + dx
      const y = player.y + dy
      if (x < 0 || y < 0 || x >= boardSize || y >= boardSize) throw reject('the edge of the board')
      const other = occupant(players, x, y)
      if (other !== undefined) throw reject(`${other[1].name} is there`)
      const coin = tx.get('coin') as Cell | undefined
      const scored = coin !== undefined && coin.x === x && coin.y === y
      const moved: Player = { ...player, x, y, score: player.score + (scored ? 1 : 0) }
      const next = { ...players, [id]: moved }
      tx.set('players', next)
      if (scored) tx.set('coin', freeCell(next, null, ctx.random))
      return { x, y, score: moved.score, scored }
    }),
    leave: fn(z.object({ id: playerId }), (tx, { id }) => {
      const players = playersOf(tx)
      if (players[id] === undefined) return false
      const rest = { ...players }
      delete rest[id]
      tx.set('players', rest)
      return true
    }),
  },
})
