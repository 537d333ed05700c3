/**
 * Randomness enters the core only through this interface, as a seeded source
 * (non-negotiable 2). `createRandom` is a pure, deterministic PRNG
 * (sfc32, seeded through splitmix32) that hosts and the simulator may use.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number
}

export function randomInt(random: Random, minInclusive: number, maxExclusive: number): number {
  return minInclusive + Math.floor(random.next() * (maxExclusive - minInclusive))
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

export function createRandom(seed: number): Random {
  const init = splitmix32(seed)
  let a = init(), b = init(), c = init(), d = init()
  return {
    next() {
      // sfc32
      a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
      const t = (((a + b) | 0) + d) | 0
      d = (d + 1) | 0
      a = b ^ (b >>> 9)
      b = (c + (c << 3)) | 0
      c = (c << 21) | (c >>> 11)
      c = (c + t) | 0
      return (t >>> 0) / 4294967296
    },
  }
}
