import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'

/** One measured figure, in the results format of DEVELOPERS.md. */
export interface BenchResult {
  name: string
  value: number
  unit: string
}

const resultsDir = join(process.cwd(), 'bench', 'results')

/** Write an area's results; `merge` keeps the figures of the file that this run did not measure (a partial run). */
export function writeResults(area: string, results: BenchResult[], browser: string | null = null, options: { merge?: boolean } = {}): string {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${area}.json`)
  const machine = `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, Node ${process.version}`
  let all = results
  if (options.merge === true && existsSync(file)) {
    const measured = new Set(results.map((r) => r.name))
    const kept = (JSON.parse(readFileSync(file, 'utf8')) as { results: BenchResult[] }).results.filter((r) => !measured.has(r.name))
    all = [...kept, ...results]
  }
  writeFileSync(file, `${JSON.stringify({ machine, browser, results: all }, null, 2)}\n`)
  return file
}

export function printTable(area: string, results: BenchResult[]): void {
  const width = Math.max(...results.map((r) => r.name.length))
  console.log(`\n${area}`)
  for (const r of results) console.log(`  ${r.name.padEnd(width)}  ${String(r.value).padStart(12)} ${r.unit}`)
}
