import { describe, expect, it } from 'vitest'
import { crownPrince, QuorumSystem } from './quorum.ts'

const subsets = <T>(items: readonly T[]): T[][] => {
  const out: T[][] = []
  for (let mask = 0; mask < 1 << items.length; mask++) out.push(items.filter((_, i) => (mask >> i) & 1))
  return out
}

describe('seed 004 relative quorum (crown prince)', () => {
  it('any two quorums intersect, for every membership of 1 to 8 (exhaustive)', () => {
    for (let n = 1; n <= 8; n++) {
      const members = Array.from({ length: n }, (_, i) => `r${i}`)
      const q = new QuorumSystem(members)
      const quorums = subsets(members).filter((s) => q.isQuorum(s))
      for (const a of quorums) for (const b of quorums) expect(a.some((x) => b.includes(x)), `${a} / ${b}`).toBe(true)
      // and a quorum exists without any one member (no single point of failure) from 3 members on
      if (n >= 3) for (const gone of members) expect(quorums.some((s) => !s.includes(gone))).toBe(true)
    }
  })

  it('follows FIG. 9: below half stops, exactly half goes on only with the prince, above half goes on', () => {
    const q = new QuorumSystem(['0', '1', '2', '3', '4', '5'])
    expect(q.crownPrince).toBe('5')
    expect(q.isQuorum(['3', '4', '5'])).toBe(true) // M6a, prince side
    expect(q.isQuorum(['0', '1', '2'])).toBe(false) // M6a / M6c
    expect(q.isQuorum(['0', '1'])).toBe(false) // M6b
    expect(q.isQuorum(['2', '3', '4', '5'])).toBe(true) // M6b
    expect(q.isQuorum(['0', '1', '2', '3'])).toBe(true)
    expect(q.isQuorum(['5', '5', '5', 'x'])).toBe(false) // duplicates and strangers do not count
    expect(new QuorumSystem(['s1', 's2']).isQuorum(['s2'])).toBe(true) // M7b: the prince alone, of two
    expect(new QuorumSystem(['s1', 's2']).isQuorum(['s1'])).toBe(false)
    expect(new QuorumSystem(['solo']).isQuorum(['solo'])).toBe(true)
  })

  it('ranks ids by length, then code units, the same everywhere', () => {
    expect(crownPrince(['s9', 's10', 's2'])).toBe('s10')
    expect(crownPrince(['b', 'a', 'c'])).toBe('c')
  })
})
