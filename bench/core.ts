import { createRandom, Replica, type Message } from '@concord/core'
import { createMachine, type MachineInstance } from '@concord/machine'
import { counter } from '../packages/sim/src/models.ts'
import type { BenchResult } from './results.ts'

/**
 * Core throughput (issue 3): issued commands per core-second for 3 and 5
 * replicas and α = 1, 8, 64, with no faults, an instant disk and in-process
 * delivery — the core alone, so that it can be compared with a 0.5 ms network
 * round trip. Every replica's time (its steps and Ready cycles) is measured
 * apart: in a room each replica has its own core (a tab's worker), so the
 * busiest one — the leader — bounds throughput. `commandsPerSec` is per
 * core-second of that replica; `clusterCpuPerCommand` adds up all replicas.
 * The floor measured in the same run: the app's own work without any
 * protocol (execute once, apply on every replica).
 */
interface Cluster {
  replicas: Replica[]
  machines: MachineInstance[]
  /** Milliseconds spent in each replica (steps and Ready cycles). */
  busy: Map<string, number>
  /** Messages waiting per replica: a host steps all of them, then takes one Ready (etcd's model). */
  inbox: Map<string, Message[]>
  replies: number
}

function makeCluster(size: number, alpha: number): Cluster {
  const ids = Array.from({ length: size }, (_, i) => `r${i}`)
  const machines = ids.map(() => createMachine(counter))
  const replicas = ids.map((id, i) => new Replica({ id, members: ids, machine: machines[i]!, random: createRandom(i + 1), pipelineDepth: alpha }))
  return { replicas, machines, busy: new Map(ids.map((id) => [id, 0])), inbox: new Map(ids.map((id) => [id, []])), replies: 0 }
}

/** One Ready cycle; an instant disk makes records durable as soon as asked. */
function pump(c: Cluster, replica: Replica): void {
  for (;;) {
    const ready = replica.ready()
    if (ready.persist.length > 0) replica.step({ type: 'persisted', seq: ready.persistSeq })
    for (const m of ready.send) c.inbox.get(m.to)!.push(m)
    c.replies += ready.replies.length
    if (ready.persist.length === 0) return
  }
}

/** Rounds of: every replica steps its whole inbox, then one Ready. Returns whether anything moved. */
function round(c: Cluster): boolean {
  let moved = false
  for (const replica of c.replicas) {
    const inbox = c.inbox.get(replica.id)!
    if (inbox.length === 0) continue
    moved = true
    c.inbox.set(replica.id, [])
    const started = performance.now()
    for (const message of inbox) replica.step(message.from === message.to ? { type: 'loopback', message } : { type: 'message', message })
    pump(c, replica)
    c.busy.set(replica.id, c.busy.get(replica.id)! + performance.now() - started)
  }
  return moved
}

function elect(c: Cluster): Replica {
  const leader = c.replicas[0]!
  leader.step({ type: 'campaign' })
  pump(c, leader)
  while (round(c));
  if (leader.status().role !== 'leader') throw new Error('no leader')
  return leader
}

/** Issue calls through the leader until `commands` are answered, keeping 2α calls queued. */
function drive(c: Cluster, leader: Replica, commands: number, alpha: number, seq = { value: 0 }): void {
  while (c.replies < commands) {
    let added = false
    const started = performance.now()
    while (seq.value - c.replies < 2 * alpha && seq.value < commands) {
      seq.value++
      leader.step({ type: 'call', call: { ticket: { client: 'bench', seq: seq.value, acked: c.replies }, name: 'add', args: { by: 1 } } })
      added = true
    }
    if (added) pump(c, leader)
    c.busy.set(leader.id, c.busy.get(leader.id)! + performance.now() - started)
    round(c)
  }
}

function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1e6
}

export function benchCore(quick: boolean): BenchResult[] {
  const results: BenchResult[] = []
  for (const size of [3, 5]) {
    for (const alpha of [1, 8, 64]) {
      const commands = quick ? 2_000 : alpha === 1 ? 20_000 : 100_000
      const c = makeCluster(size, alpha)
      const leader = elect(c)
      const seq = { value: 0 }
      drive(c, leader, Math.min(1000, commands), alpha, seq) // warm-up
      const before = c.replies
      for (const id of c.busy.keys()) c.busy.set(id, 0)
      const start = process.cpuUsage()
      drive(c, leader, before + commands, alpha, seq)
      const cpu = cpuSeconds(start)
      if (c.machines.some((m) => JSON.stringify(m.snapshot()) !== JSON.stringify(c.machines[0]!.snapshot()))) throw new Error('replicas diverged')
      const busiest = Math.max(...c.busy.values()) / 1000
      results.push({ name: `core.commandsPerSec.r${size}.a${alpha}`, value: Math.round(commands / busiest), unit: 'cmd/s' })
      results.push({ name: `core.cpuPerCommand.r${size}.a${alpha}`, value: Number(((busiest * 1e6) / commands).toFixed(2)), unit: 'µs' })
      results.push({ name: `core.clusterCpuPerCommand.r${size}.a${alpha}`, value: Number(((cpu * 1e6) / commands).toFixed(2)), unit: 'µs' })
    }
  }
  results.push(...floor(quick))
  results.push(...memory(quick))
  return results
}

/** The app's own work for the same commands, with no protocol: the floor. */
function floor(quick: boolean): BenchResult[] {
  const commands = quick ? 2_000 : 100_000
  const out: BenchResult[] = []
  for (const size of [3, 5]) {
    const machines = Array.from({ length: size }, () => createMachine(counter))
    const env = { tick: 0, random: createRandom(1) }
    const start = process.cpuUsage()
    for (let i = 1; i <= commands; i++) {
      const result = machines[0]!.execute(i, 'add', { by: 1 }, env)
      if (!result.ok) throw new Error('floor run failed')
      for (const m of machines) m.apply(i, result.payload)
    }
    const cpu = cpuSeconds(start)
    out.push({ name: `core.floor.machineOnly.r${size}`, value: Math.round(commands / cpu), unit: 'cmd/s' })
  }
  return out
}

/** Heap held by a 3-replica cluster with a 100,000-command log, per replica. */
function memory(quick: boolean): BenchResult[] {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return []
  const commands = quick ? 10_000 : 100_000
  gc()
  const before = process.memoryUsage().heapUsed
  const c = makeCluster(3, 64)
  const leader = elect(c)
  drive(c, leader, commands, 64)
  gc()
  const after = process.memoryUsage().heapUsed
  const perReplica = (after - before) / 3
  // (Read the cluster after measuring, so that it is alive when measured.)
  if (c.replicas.some((r) => r.status().issuedUpTo < commands)) throw new Error('log incomplete')
  return [
    { name: `core.memory.log${commands / 1000}k.perReplica`, value: Math.round(perReplica / 1024), unit: 'KiB' },
    { name: `core.memory.bytesPerCommand`, value: Math.round(perReplica / commands), unit: 'B' },
  ]
}
