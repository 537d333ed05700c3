import { assert } from './assert.ts'
import type { Instance, IssuedEntry } from './types.ts'

/**
 * The issued log L ([0056]): the contiguous run start..upTo in an array (the
 * common case, cheap to index and to keep), and the few commands learned
 * beyond a gap in a map until the gap fills. Seed 001's start-of-log pointer
 * is `start`: entries below it are cleared (a snapshot covers them); the
 * entry at `start` is kept as the anchor the next command names as precedent.
 */
export class IssuedLog {
  /** run[i] is the entry at instance start + i. */
  private run: IssuedEntry[] = []
  private first: Instance = 1
  private readonly above = new Map<Instance, IssuedEntry>()
  private highest: Instance = 0

  /** Every instance in start..upTo is in the log (and every one below it was). */
  get upTo(): Instance {
    return this.first + this.run.length - 1
  }

  /** The lowest instance still held (seed 001's start-of-log pointer). */
  get start(): Instance {
    return this.first
  }

  /** The number of entries held. */
  get size(): number {
    return this.run.length + this.above.size
  }

  /** The highest instance in the log. */
  get max(): Instance {
    return this.highest
  }

  /** Instances in the log above a gap. */
  get aboveGap(): IterableIterator<Instance> {
    return this.above.keys()
  }

  get aboveGapCount(): number {
    return this.above.size
  }

  get(instance: Instance): IssuedEntry | undefined {
    return instance <= this.upTo ? this.run[instance - this.first] : this.above.get(instance)
  }

  has(instance: Instance): boolean {
    return instance <= this.upTo ? instance >= this.first : this.above.has(instance)
  }

  insert(entry: IssuedEntry): void {
    const m = entry.instance
    assert(m > this.upTo && !this.above.has(m), `instance ${m} inserted twice or below the log`)
    if (m > this.highest) this.highest = m
    if (m !== this.upTo + 1) {
      this.above.set(m, entry)
      return
    }
    this.run.push(entry)
    this.absorbAbove()
  }

  /** Seed 001: advance the start-of-log pointer to `start` (≤ upTo), keeping the entry there. */
  clearBefore(start: Instance): void {
    assert(start > this.first && start <= this.upTo, `clearing before ${start} outside ${this.first}..${this.upTo}`)
    this.run = this.run.slice(start - this.first)
    this.first = start
  }

  /** A snapshot at `anchor` was installed: the log restarts there, keeping
   *  what was learned beyond it. */
  resetTo(anchor: IssuedEntry): void {
    const m = anchor.instance
    assert(m > this.upTo, `a snapshot at ${m} does not lie beyond the log's ${this.upTo}`)
    for (const instance of [...this.above.keys()]) if (instance <= m) this.above.delete(instance)
    this.run = [anchor]
    this.first = m
    if (m > this.highest) this.highest = m
    this.absorbAbove()
  }

  private absorbAbove(): void {
    for (let next = this.above.get(this.upTo + 1); next !== undefined; next = this.above.get(this.upTo + 1)) {
      this.above.delete(next.instance)
      this.run.push(next)
    }
  }
}
