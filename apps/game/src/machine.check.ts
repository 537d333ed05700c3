import type { Invariants } from '@concord/check'
import { boardSize, playersMax, type Players } from './machine.ts'

/**
 * The game under `concord check`:
 *   npx concord check apps/game/src/machine.check.ts --seeds 1000
 * The leader's rules hold on every replica after every command: never two
 * players on one cell, nobody off the board, at most playersMax players.
 */
export { game as machine } from './machine.ts'

const playersOf = (state: Record<string, unknown>) => Object.values((state['players'] ?? {}) as Players)

export const invariants: Invariants = {
  'one player per cell': (state) => {
    const cells = playersOf(state).map((p) => `${p.x},${p.y}`)
    return new Set(cells).size === cells.length
  },
  'everyone on the board': (state) => playersOf(state).every((p) => p.x >= 0 && p.y >= 0 && p.x < boardSize && p.y < boardSize),
  [`at most ${playersMax} players`]: (state) => playersOf(state).length <= playersMax,
}
