import { benchCore } from './core.ts'
import { printTable, writeResults } from './results.ts'

const quick = process.argv.includes('--quick')
const core = benchCore(quick)
printTable('core (no faults, instant disk, in-process delivery)', core)
console.log(`  → ${writeResults('core', core)}`)
