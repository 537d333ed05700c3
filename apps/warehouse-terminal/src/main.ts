import { configForSeed, Simulation } from '@concord/sim'

/**
 * `npm start` (until the browser replicas land): seed 002's warehouse run by
 * three replicas of the real core over the simulator's network, paced in real
 * time. Clients call inbound / outbound / transfer / stock; every 10 s the
 * leader is crashed and you watch another take over, with stock never
 * negative and every replica converging. Ctrl-C stops it.
 */
const seed = Number(process.env.SEED ?? Date.now() % 100000)
const config = configForSeed(seed, {
  replicas: 3,
  workload: 'warehouse',
  pipelineDepth: 8,
  clients: 3,
  callsPerClient: Number.MAX_SAFE_INTEGER,
  safetyTime: Number.MAX_SAFE_INTEGER,
  loss: 0.01,
  duplicate: 0,
  delayMax: 5,
  delaySpike: 0,
  chaosInterval: Infinity,
})
const sim = new Simulation(config)
const unitsPerSecond = 1000 // one simulated time unit per millisecond: a tick is 10 ms
const started = Date.now()
const events: string[] = []
let nextKill = 10_000

const tty = process.stdout.isTTY === true
function render(): void {
  const rows = sim.view()
  const lines = [
    `Concord — seed 002's warehouse on 3 replicas (simulated network, real core)   t = ${(sim.time / 1000).toFixed(1)} s   seed ${seed}`,
    '',
    'replica  role       ballot    issued  state (stock per warehouse)',
    ...rows.map((r) => `${r.id.padEnd(8)} ${r.role.padEnd(10)} ${r.ballot.padEnd(9)} ${String(r.issuedUpTo).padStart(6)}  ${JSON.stringify(r.state)}`),
    '',
    ...events.slice(-6),
    '',
    'The leader is crashed every 10 s; it restarts from its disk. Ctrl-C to stop.',
  ]
  if (tty) process.stdout.write(`\x1b[2J\x1b[H${lines.join('\n')}\n`)
  else console.log(lines.slice(3, 3 + rows.length).join(' | '))
}

setInterval(() => {
  const target = ((Date.now() - started) / 1000) * unitsPerSecond
  sim.advanceTo(target)
  if (sim.time >= nextKill) {
    nextKill += 10_000
    const leader = sim.crashLeader()
    if (leader !== null) events.push(`t = ${(sim.time / 1000).toFixed(1)} s: crashed the leader ${leader}`)
  }
  const bad = sim.checker.violations
  if (bad.length > 0) {
    console.error(`safety violation: ${JSON.stringify(bad[0])}`)
    process.exit(1)
  }
}, 50)
setInterval(render, tty ? 250 : 2000)
render()
