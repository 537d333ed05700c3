import { printTable, writeResults } from './results.ts'
import { benchSizes } from './sizes.ts'

/** `npm run bench:sizes`: only what a user downloads (a Vite build, seconds). */
const sizes = await benchSizes()
printTable('what a user downloads (minified, gzip -9)', sizes)
console.log(`  → ${writeResults('size', sizes, null)}`)
