import type { Invariants } from '@concord/check'

/**
 * The warehouse under `concord check` (packages/check):
 *   npx concord check apps/warehouse/src/machine.check.ts --seeds 1000
 * Calls are drawn from the functions' zod schemas; the invariant is seed
 * 002's: stock is never negative, on any replica, after any command.
 */
export { warehouse as machine } from './machine.ts'

export const invariants: Invariants = {
  'stock never negative': (state) => Object.values(state).every((stock) => typeof stock === 'number' && Number.isInteger(stock) && stock >= 0),
}
