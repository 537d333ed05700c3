import { assert } from './assert.ts'
import type { Instance, IssuedEntry } from './types.ts'

/**
 * The issued log L ([0056]): the contiguous prefix 1..upTo in an array (the
 * common case, cheap to index and to keep), and the few commands learned
 * beyond a gap in a map until the gap fills.
 */
export class IssuedLog {
  /** prefix[i] is the entry at instance i + 1. */
  private readonly prefix: IssuedEntry[] = []
  private readonly above = new Map<Instance, IssuedEntry>()
  private highest: Instance = 0

  /** Every instance ≤ upTo is in the log. */
  get upTo(): Instance {
    return this.prefix.length
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
    return instance <= this.prefix.length ? this.prefix[instance - 1] : this.above.get(instance)
  }

  has(instance: Instance): boolean {
    return instance <= this.prefix.length ? instance >= 1 : this.above.has(instance)
  }

  insert(entry: IssuedEntry): void {
    const m = entry.instance
    assert(m >= 1 && !this.has(m), `instance ${m} inserted twice`)
    if (m > this.highest) this.highest = m
    if (m !== this.prefix.length + 1) {
      this.above.set(m, entry)
      return
    }
    this.prefix.push(entry)
    for (let next = this.above.get(m + 1); next !== undefined; next = this.above.get(this.prefix.length + 1)) {
      this.above.delete(next.instance)
      this.prefix.push(next)
    }
  }
}
