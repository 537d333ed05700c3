import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'

/** One measured figure, in the results format of DEVELOPERS.md. */
export interface BenchResult {
  name: string
  value: number
  unit: string
}

const resultsDir = join(process.cwd(), 'bench', 'results')

export function writeResults(area: string, results: BenchResult[], browser: string | null = null): string {
  mkdirSync(resultsDir, { recursive: true })
  const file = join(resultsDir, `${area}.json`)
  const machine = `${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, Node ${process.version}`
  writeFileSync(file, `${JSON.stringify({ machine, browser, results }, null, 2)}\n`)
  return file
}

export function printTable(area: string, results: BenchResult[]): void {
  const width = Math.max(...results.map((r) => r.name.length))
  console.log(`\n${area}`)
  for (const r of results) console.log(`  ${r.name.padEnd(width)}  ${String(r.value).padStart(12)} ${r.unit}`)
}
