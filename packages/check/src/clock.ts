import { createRandom, type Random } from '@concord/core'

/**
 * Time and chance as the app's code sees them during a check: each replica
 * has its own clock (skewed from the others, as real machines' are) and its
 * own seeded `Math.random`, both following the simulated time. An `apply`
 * that reads them therefore leaves replicas in different states — which the
 * checkers catch — and a run still replays exactly from its seed. Functions
 * may read them (they run on the leader only; the command carries what they
 * wrote), but then the sequential model cannot predict their results.
 */
export const virtualEpochMs = Date.UTC(2026, 0, 1)
/** How far apart replicas' clocks are (ms per replica index). */
const clockSkewMs = 1_000

export class VirtualWorld {
  /** Reads of the clock or of Math.random made by app code since the last reset. */
  reads = 0
  private replica: string | null = null
  private time = 0
  private readonly randoms = new Map<string, Random>()

  constructor(private readonly seed: number) {}

  enter(replica: string | null, time: number): void {
    this.replica = replica
    this.time = time
  }

  now(): number {
    this.reads++
    const skew = this.replica === null ? 0 : (replicaIndex(this.replica) + 1) * clockSkewMs
    return virtualEpochMs + this.time + skew
  }

  random(): number {
    this.reads++
    const key = this.replica ?? ''
    let random = this.randoms.get(key)
    if (random === undefined) this.randoms.set(key, (random = createRandom(this.seed ^ hash(key))))
    return random.next()
  }

  /** Put this world in place of the global clock and Math.random; returns the undo. */
  install(): () => void {
    const world = this
    const RealDate = globalThis.Date
    const realRandom = Math.random
    const realPerformanceNow = globalThis.performance.now
    class VirtualDate extends RealDate {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(world.now())
        else super(...(args as [string | number]))
      }

      static override now(): number {
        return world.now()
      }
    }
    globalThis.Date = VirtualDate as DateConstructor
    Math.random = () => world.random()
    globalThis.performance.now = () => world.now() - virtualEpochMs
    return () => {
      globalThis.Date = RealDate
      Math.random = realRandom
      globalThis.performance.now = realPerformanceNow
    }
  }
}

function replicaIndex(replica: string): number {
  const n = Number(replica.replace(/^\D+/, ''))
  return Number.isSafeInteger(n) ? n : hash(replica) % 64
}

function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}
