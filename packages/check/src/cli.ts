import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { CallScript, SimConfig } from '@concord/sim'
import { check, type CheckOptions, type CheckSpec } from './check.ts'
import { formatReport } from './report.ts'

/**
 * `npx concord check <machine module>`: the app's machine under faults, seed
 * after seed (check.ts). The module exports `machine` (from defineMachine),
 * and optionally `invariants` ({ name: state => boolean }) and `workload`
 * (context => { name, args }); or a default export with those fields.
 */
const usage = `usage: npx concord check <machine-module.ts> [--seeds N] [--start S] [--seed X] [--replicas N] [--calls N] [--keep-going] [--no-shrink] [--replay failure.json]`

/** Where minimal failing cases are written, to replay with --replay. */
const failuresDir = '.concord/check'

interface Parsed {
  module: string
  options: CheckOptions
  replay: string | null
}

function parse(argv: string[]): Parsed {
  const [command, module, ...rest] = argv
  if (command !== 'check' || module === undefined || module.startsWith('--')) throw new UsageError(usage)
  const options: CheckOptions = {}
  let replay: string | null = null
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!
    const value = rest[i + 1]
    const number = (min: number): number => {
      const n = Number(value)
      if (value === undefined || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} needs an integer ≥ ${min}, got ${value ?? 'nothing'}\n${usage}`)
      i++
      return n
    }
    switch (flag) {
      case '--seeds': options.seeds = number(1); break
      case '--start': options.start = number(0); break
      case '--seed': options.seed = number(0); break
      case '--replicas': options.replicas = number(1); break
      case '--calls': options.callsPerClient = number(1); break
      case '--keep-going': options.keepGoing = true; break
      case '--no-shrink': options.shrink = false; break
      case '--replay':
        if (value === undefined) throw new UsageError(`--replay needs a file\n${usage}`)
        replay = value
        i++
        break
      case '--help': throw new UsageError(usage)
      default: throw new UsageError(`unknown argument ${flag}\n${usage}`)
    }
  }
  return { module, options, replay }
}

class UsageError extends Error {}

async function load(module: string): Promise<CheckSpec> {
  const loaded = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>
  const spec = (typeof loaded.default === 'object' && loaded.default !== null && 'machine' in loaded.default ? loaded.default : loaded) as Partial<CheckSpec>
  if (spec.machine === undefined) throw new UsageError(`${module} exports no \`machine\` (export const machine = defineMachine(…))`)
  return spec as CheckSpec
}

function progressBar(total: number): CheckOptions['onProgress'] {
  const tty = process.stderr.isTTY === true
  let lastTenth = -1
  return ({ done, failed }) => {
    if (tty) {
      const width = 30
      const filled = Math.round((done / total) * width)
      process.stderr.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} seeds, ${failed} failed `)
      if (done === total || failed > 0) process.stderr.write('\n')
    } else if (Math.floor((done / total) * 10) !== lastTenth) {
      lastTenth = Math.floor((done / total) * 10)
      process.stderr.write(`  ${done}/${total} seeds, ${failed} failed\n`)
    }
  }
}

async function main(): Promise<number> {
  const { module, options, replay } = parse(process.argv.slice(2))
  const spec = await load(module)
  if (replay !== null) {
    const saved = JSON.parse(readFileSync(replay, 'utf8'), (_key, value: unknown) => (value === 'Infinity' ? Infinity : value)) as { config: SimConfig; calls: CallScript }
    options.script = saved
  }
  const total = options.seed !== undefined || options.script !== undefined ? 1 : (options.seeds ?? 100)
  const started = performance.now()
  const report = check(spec, { ...options, onProgress: progressBar(total) })
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  const command = `npx concord check ${relative(process.cwd(), resolve(module))}`
  console.log(formatReport(report, (flags) => `${command} ${flags}`))
  for (const failure of report.failures) {
    if (failure.minimal === null || options.script !== undefined) continue
    mkdirSync(failuresDir, { recursive: true })
    const file = `${failuresDir}/${report.machine}-seed-${failure.seed}-${failure.kind}.json`
    writeFileSync(file, `${JSON.stringify({ module: basename(module), kind: failure.kind, config: failure.minimal.config, calls: failure.minimal.script }, (_key, value: unknown) => (value === Infinity ? 'Infinity' : value), 1)}\n`)
    console.log(`  replay seed ${failure.seed}'s minimal case: ${command} --replay ${file}`)
  }
  console.log(`(${seconds} s)`)
  return report.failed === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof UsageError ? error.message : error)
    process.exit(2)
  },
)
