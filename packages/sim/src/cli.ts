import { cpus } from 'node:os'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { configForSeed, replayCommand, runSeed, type SimConfig, type SimResult } from './simulation.ts'

/**
 * `npm run sim -- --seeds 10000` runs a sweep of seeded simulations on every
 * core; `npm run sim -- --seed 1234` replays one run and prints what it did.
 * Every failure prints its seed and the one-line command that replays it.
 */
const tsxApi = import.meta.resolve('tsx/esm/api')

const usage = `usage: npm run sim -- [--seeds N] [--start S] [--jobs J] [--seed X] [--replicas 3|5|7] [--workload warehouse|counter|text] [--alpha N] [--calls N] [--corrupt] [--membership] [--no-freezes] [--freeze-leader] [--trace]`

interface Options {
  seeds: number
  start: number
  jobs: number
  seed: number | null
  overrides: Partial<SimConfig>
}

function parse(argv: string[]): Options {
  const options: Options = { seeds: 1000, start: 0, jobs: Math.max(1, Math.min(cpus().length, 8)), seed: null, overrides: {} }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    const number = () => {
      const n = Number(value)
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer, got ${value}\n${usage}`)
      i++
      return n
    }
    switch (flag) {
      case '--seeds': options.seeds = number(); break
      case '--start': options.start = number(); break
      case '--jobs': options.jobs = Math.max(1, number()); break
      case '--seed': options.seed = number(); break
      case '--replicas': options.overrides.replicas = number(); break
      case '--alpha': options.overrides.pipelineDepth = number(); break
      case '--calls': options.overrides.callsPerClient = number(); break
      case '--workload':
        if (value !== 'warehouse' && value !== 'counter' && value !== 'text') throw new Error(`unknown workload ${value}\n${usage}`)
        options.overrides.workload = value
        i++
        break
      case '--corrupt': options.overrides.corruptions = true; break
      case '--membership': options.overrides.membership = true; break
      // Replays a seed as it ran before freezes existed (the regression seeds).
      case '--no-freezes': options.overrides.freezes = false; break
      // The browser test's scenario on top of the chaos: the leader frozen again and again.
      case '--freeze-leader': options.overrides.leaderFreezes = true; break
      case '--trace': options.overrides.trace = true; break
      case '--help': console.log(usage); process.exit(0)
      default: throw new Error(`unknown argument ${flag}\n${usage}`)
    }
  }
  return options
}

function describe(result: SimResult): string {
  const c = result.config
  return `seed ${c.seed}: ${c.replicas} replicas, α=${c.pipelineDepth}, ${c.workload}, ${c.clients} clients, loss ${c.loss}, dup ${c.duplicate}, delay ≤${c.delayMax}`
}

function report(result: SimResult): void {
  console.log(`\nFAIL ${describe(result)}`)
  for (const v of result.violations.slice(0, 10)) console.log(`  [${v.property}] t=${v.time}: ${v.detail}`)
  console.log(`  replay: ${replayCommand(result.config)}${overridesText(result.config)}`)
}

function overridesText(config: SimConfig): string {
  const base = configForSeed(config.seed)
  let text = ''
  if (base.replicas !== config.replicas) text += ` --replicas ${config.replicas}`
  if (base.pipelineDepth !== config.pipelineDepth) text += ` --alpha ${config.pipelineDepth}`
  if (base.workload !== config.workload) text += ` --workload ${config.workload}`
  if (config.corruptions) text += ' --corrupt'
  if (config.membership) text += ' --membership'
  if (config.freezes !== true) text += ' --no-freezes'
  if (config.leaderFreezes === true) text += ' --freeze-leader'
  if (base.callsPerClient !== config.callsPerClient) text += ` --calls ${config.callsPerClient}`
  return text
}

if (!isMainThread) {
  const { seeds, overrides } = workerData as { seeds: number[]; overrides: Partial<SimConfig> }
  for (const seed of seeds) {
    const result = runSeed(seed, overrides)
    parentPort!.postMessage({ seed, ok: result.ok, result: result.ok ? null : result, commands: result.stats.commands, installs: result.stats.installs, transfers: result.stats.transfers, reconfigurations: result.stats.reconfigurations, adoptions: result.stats.adoptions, corruptions: result.stats.corruptions, refreshes: result.stats.refreshes, snapshots: result.stats.snapshots, freezes: result.stats.freezes, leaderFreezes: result.stats.leaderFreezes, longFreezes: result.stats.longFreezes, removedWhileFrozen: result.stats.removedWhileFrozen })
  }
} else {
  const options = parse(process.argv.slice(2))
  if (options.seed !== null) {
    const result = runSeed(options.seed, options.overrides)
    console.log(describe(result))
    console.log(JSON.stringify(result.stats))
    if (result.ok) console.log('ok')
    else report(result)
    process.exit(result.ok ? 0 : 1)
  }
  const started = performance.now()
  const all = Array.from({ length: options.seeds }, (_, i) => options.start + i)
  let done = 0
  let commands = 0
  let installs = 0
  let transfers = 0
  let corruptions = 0
  let reconfigurations = 0
  let adoptions = 0
  let refreshes = 0
  let snapshots = 0
  let freezes = 0
  let leaderFreezes = 0
  let longFreezes = 0
  let removedWhileFrozen = 0
  const failures: number[] = []
  const jobs = Math.min(options.jobs, all.length)
  const tick = () => {
    done++
    if (done % 100 === 0 || done === all.length) {
      const rate = done / ((performance.now() - started) / 1000)
      process.stdout.write(`\r${done}/${all.length} seeds, ${failures.length} failed, ${commands} commands, ${rate.toFixed(0)} seeds/s   `)
    }
  }
  await Promise.all(
    Array.from({ length: jobs }, (_, j) => new Promise<void>((resolve, reject) => {
      // A worker starts without tsx's loader: register it, then load this file.
      const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}) })`
      const worker = new Worker(bootstrap, {
        eval: true,
        workerData: { seeds: all.filter((_, i) => i % jobs === j), overrides: options.overrides },
      })
      worker.on('message', (m: { seed: number; ok: boolean; result: SimResult | null; commands: number; installs: number; transfers: number; reconfigurations: number; adoptions: number; corruptions: number; refreshes: number; snapshots: number; freezes: number; leaderFreezes: number; longFreezes: number; removedWhileFrozen: number }) => {
        commands += m.commands
        installs += m.installs
        transfers += m.transfers
        corruptions += m.corruptions
        reconfigurations += m.reconfigurations
        adoptions += m.adoptions
        refreshes += m.refreshes
        snapshots += m.snapshots
        freezes += m.freezes
        leaderFreezes += m.leaderFreezes
        longFreezes += m.longFreezes
        removedWhileFrozen += m.removedWhileFrozen
        if (!m.ok) {
          failures.push(m.seed)
          report(m.result!)
        }
        tick()
      })
      worker.on('error', reject)
      worker.on('exit', () => resolve())
    })),
  )
  const seconds = (performance.now() - started) / 1000
  console.log(`\n${snapshots} snapshots taken, ${installs} installed (${transfers} sent by a peer to a laggard, the rest restarts)`)
  if (reconfigurations > 0) console.log(`${reconfigurations} reconfigurations issued, ${adoptions} crashed members adopted (restarted only to leave)`)
  if (corruptions > 0) console.log(`${corruptions} states corrupted, ${refreshes} out-of-sync refreshes`)
  if (freezes > 0) console.log(`${freezes} freezes (${leaderFreezes} of a leader, ${longFreezes} longer than memberSilentTicks), ${removedWhileFrozen} members removed while frozen`)
  console.log(`${all.length} seeds in ${seconds.toFixed(1)} s: ${failures.length} failed${failures.length ? ` (${failures.sort((a, b) => a - b).join(', ')})` : ''}`)
  process.exit(failures.length === 0 ? 0 : 1)
}
