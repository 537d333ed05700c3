/**
 * Assertions guard invariants where they must hold; they stay on in
 * production (TigerBeetle). A failed assertion is a programmer error and
 * crashes the replica; operating errors (bad input, stale ballots) are
 * typed results instead.
 */
export class AssertionError extends Error {
  override name = 'AssertionError'
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function unreachable(value: never, message: string): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`)
}
