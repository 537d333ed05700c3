import { benchCore } from './core.ts'
import { benchCrdt } from './crdt.ts'
import { printTable, writeResults } from './results.ts'

const quick = process.argv.includes('--quick')
const core = benchCore(quick)
printTable('core (no faults, instant disk, in-process delivery)', core)
console.log(`  → ${writeResults('core', core)}`)
const crdt = await benchCrdt(quick, { log: (line) => console.log(line) })
printTable('crdt-benchmarks B1–B4: Concord (3 replicas in process, consensus per edit) vs Yjs vs Automerge', crdt)
console.log(`  → ${writeResults('crdt', crdt)}`)
