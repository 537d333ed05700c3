import { runSeed } from './simulation.ts'

/** Runs seeds 0.. until one fails; prints {seed, seedsRun, property} as JSON. (Used on mutants.) */
const seedsMax = Number(process.argv[2] ?? 1000)
let result: { seed: number | null; seedsRun: number; property: string | null } = { seed: null, seedsRun: 0, property: null }
for (let seed = 0; seed < seedsMax; seed++) {
  let property: string | null = null
  try {
    const run = runSeed(seed)
    if (!run.ok) property = run.violations[0]!.property
  } catch (error) {
    property = `crash: ${String(error).slice(0, 200)}`
  }
  result = { seed: property === null ? null : seed, seedsRun: seed + 1, property }
  if (property !== null) break
}
console.log(JSON.stringify(result))
