import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { mutants, runMutant } from './mutants.ts'

/** The simulator can fail: planted bugs are caught (npm run mutants runs them all). */
describe('planted bugs', () => {
  it('every mutant still patches the code it names (so that none silently stops testing anything)', () => {
    for (const m of mutants) {
      const source = readFileSync(join(import.meta.dirname, '..', '..', m.file), 'utf8')
      expect(source.split(m.find).length - 1, `${m.name} in ${m.file}`).toBe(1)
    }
  })

  for (const name of ['quorum-of-half', 'no-ticket-dedup', 'ballotinfo-without-votes', 'snapshot-without-sessions']) {
    it(`the simulator catches "${name}" within 200 seeds`, () => {
      const result = runMutant(mutants.find((m) => m.name === name)!, 200)
      expect(result.caughtAtSeed).not.toBeNull()
    })
  }
})
