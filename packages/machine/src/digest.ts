/**
 * The state digest that out-of-sync detection compares (seed 000, ours): a
 * multiset hash — the sum, modulo 2^32 in each of two lanes, of a hash of
 * every (key, value) pair — so that a change to one key updates it without
 * rehashing the rest, and the order keys were written in does not matter.
 * Two independent 32-bit string hashes make accidental collisions of two
 * diverged states about 2^-64 likely. Not a defence against an adversary:
 * members are trusted (SECURITY.md).
 */
export class StateDigest {
  private readonly pairs = new Map<string, readonly [number, number]>()
  private sumA = 0
  private sumB = 0
  private readonly dirty = new Set<string>()

  /** The value at `key` changed (or may have): rehash it when next asked. */
  touch(key: string): void {
    this.dirty.add(key)
  }

  /** Forget everything (the state was replaced). */
  reset(): void {
    this.pairs.clear()
    this.dirty.clear()
    this.sumA = 0
    this.sumB = 0
  }

  /** The digest of the state `read` returns, as 16 hex digits. */
  value(read: (key: string) => unknown): string {
    for (const key of this.dirty) {
      const old = this.pairs.get(key)
      if (old !== undefined) {
        this.sumA = (this.sumA - old[0]) >>> 0
        this.sumB = (this.sumB - old[1]) >>> 0
        this.pairs.delete(key)
      }
      const value = read(key)
      if (value === undefined) continue
      const text = `${key}\u0000${JSON.stringify(value)}`
      const pair = [fnv1a(text), murmurish(text)] as const
      this.pairs.set(key, pair)
      this.sumA = (this.sumA + pair[0]) >>> 0
      this.sumB = (this.sumB + pair[1]) >>> 0
    }
    this.dirty.clear()
    return this.sumA.toString(16).padStart(8, '0') + this.sumB.toString(16).padStart(8, '0')
  }
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** A second, independent hash: multiply-rotate per character, murmur3's finaliser. */
function murmurish(text: string): number {
  let h = 0x9747b28c
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x5bd1e995)
    h = (h << 13) | (h >>> 19)
  }
  h ^= text.length
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
