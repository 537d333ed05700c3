import { mutants, runMutant } from './mutants.ts'

/** `npm run mutants [-- --seeds N]`: how many seeds the simulator needs to catch each planted bug. */
const index = process.argv.indexOf('--seeds')
const seedsMax = index >= 0 ? Number(process.argv[index + 1]) : 3000
console.log(`| planted bug | caught at seed | property |\n|---|---|---|`)
let missed = 0
for (const mutant of mutants) {
  const r = runMutant(mutant, seedsMax)
  if (r.caughtAtSeed === null) missed++
  console.log(`| ${mutant.name}: ${mutant.what} | ${r.caughtAtSeed === null ? `not caught in ${r.seedsRun}` : `${r.caughtAtSeed} (${r.seedsRun} seeds run)`} | ${r.property ?? '–'} |`)
}
process.exit(missed === 0 ? 0 : 1)
