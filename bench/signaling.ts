import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import WebSocket from 'ws'
import { signToken, startRedis } from '@concord/signaling'
import { printTable, writeResults, type BenchResult } from './results.ts'

/**
 * Issue 8 §3: the signaling scale-out under load. Two real signaling
 * processes (`concord-signaling --redis`) and a real Redis; N simulated peers
 * (WebSocket clients speaking the signaling protocol, in this process) join M
 * rooms, alternately through either process, and introduce themselves: each
 * newcomer sends an offer to every peer the welcome named, which answers
 * (one introduction = one offer answered). Then peers churn: leave and join
 * again, elsewhere. Figures:
 *  - signaling.connectionsHeld: connections open at once over both processes;
 *  - signaling.introductionsPerSec: offers answered per second while N join;
 *  - signaling.joinsPerSec.churn: joins (each with its introductions) per second under churn;
 *  - signaling.memoryPerConnectionBytes / heapPerConnectionBytes: the processes' RSS
 *    and JS heap growth per held connection (sockets, buffers, room entries);
 *  - signaling.presenceErrors: peers whose view of their room differed from the truth at the end (0);
 *  - signaling.redisCommandsPerJoin: Redis commands per join (its cost, from INFO).
 *  The baseline, in the same run: the same joins against one process without Redis
 *  (signaling.introductionsPerSec.single, joinsPerSec.single). The simulated
 *  peers share the machine's cores with the servers and Redis.
 */
const secret = 'bench-signaling-secret-0123456789'
const bin = join(import.meta.dirname, '..', 'signaling', 'bin', 'concord-signaling.mjs')

interface Proc {
  child: ChildProcess
  url: string
  http: string
}

async function signalingProcess(redisUrl: string | null): Promise<Proc> {
  const child = spawn(process.execPath, [bin, '--port', '0', ...(redisUrl !== null ? ['--redis', redisUrl] : [])], {
    env: { ...process.env, CONCORD_SIGNALING_SECRET: secret },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve) =>
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening on (ws:\/\/\S+)/.exec(d.toString())
      if (m !== null) resolve(m[1]!)
    }),
  )
  return { child, url, http: url.replace('ws:', 'http:') }
}

const health = async (p: Proc) => (await (await fetch(`${p.http}/healthz`)).json()) as { connections: number; rssBytes: number; heapUsedBytes: number }

class Peer {
  socket!: WebSocket
  view = new Set<string>()
  answered = 0
  private onAnswered: (() => void) | null = null
  constructor(readonly room: string, readonly name: string) {}

  /** Connects, says hello, offers to everyone in the welcome; resolves when all answered. */
  async join(url: string): Promise<number> {
    this.socket = new WebSocket(url)
    this.view.clear()
    this.answered = 0
    await new Promise<void>((resolve, reject) => {
      this.socket.once('open', () => resolve())
      this.socket.once('error', reject)
    })
    let expected = 0
    const done = new Promise<void>((resolve) => (this.onAnswered = resolve))
    this.socket.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type: string; peers?: string[]; peer?: string; from?: string; data?: { type: string } }
      if (f.type === 'welcome') {
        for (const p of f.peers!) this.view.add(p)
        expected = f.peers!.length
        for (const p of f.peers!) this.socket.send(JSON.stringify({ type: 'signal', to: p, data: { type: 'offer', sdp: 'v=0\r\n' } }))
        if (expected === 0) this.onAnswered?.()
      } else if (f.type === 'peer-joined') this.view.add(f.peer!)
      else if (f.type === 'peer-left') this.view.delete(f.peer!)
      else if (f.type === 'signal' && f.data?.type === 'offer') this.socket.send(JSON.stringify({ type: 'signal', to: f.from, data: { type: 'answer', sdp: 'v=0\r\n' } }))
      else if (f.type === 'signal' && f.data?.type === 'answer') {
        this.answered++
        if (this.answered === expected) this.onAnswered?.()
      }
    })
    this.socket.send(JSON.stringify({ type: 'hello', room: this.room, peer: this.name, token: signToken({ room: this.room, peer: this.name, exp: Date.now() + 3_600_000 }, secret) }))
    const timer = setTimeout(() => console.error(`stuck: ${this.name} in ${this.room}: expected ${expected}, answered ${this.answered}, view ${[...this.view]}`), 5000)
    await done
    clearTimeout(timer)
    return expected
  }

  async leave(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()))
    this.socket.close()
    await closed
  }
}

/** Joins every peer, `parallel` at a time, alternating processes; returns introductions per second. */
async function joinAll(peers: Peer[], procs: Proc[], parallel: number): Promise<{ introductions: number; ms: number }> {
  const started = performance.now()
  let next = 0
  let introductions = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < peers.length) {
        const i = next++
        const offered = await peers[i]!.join(procs[i % procs.length]!.url) // not `+= await`: lanes would overwrite each other
        introductions += offered
      }
    }),
  )
  return { introductions, ms: performance.now() - started }
}

export async function benchSignaling(quick: boolean): Promise<BenchResult[]> {
  const peersN = quick ? 300 : 3000
  const perRoom = 6
  const churnMs = quick ? 3000 : 15_000
  const parallel = 50
  const rooms = Math.ceil(peersN / perRoom)
  // Round-robin over the rooms: peers joining at the same time go to different rooms, and each finds the earlier ones in its room.
  const makePeers = (tag: string) => Array.from({ length: peersN }, (_, i) => new Peer(`${tag}-room-${i % rooms}`, `peer-${i}`))
  const results: BenchResult[] = []

  // Baseline: one process, no Redis.
  const single = await signalingProcess(null)
  const singlePeers = makePeers('single')
  const baseline = await joinAll(singlePeers, [single], parallel)
  await Promise.all(singlePeers.map((p) => p.leave()))
  single.child.kill()

  const redis = await startRedis()
  const procs = [await signalingProcess(redis.url), await signalingProcess(redis.url)]
  try {
    const before = await Promise.all(procs.map(health))
    const redisBefore = await redisCommands(redis.url)
    const peers = makePeers('cluster')
    const joined = await joinAll(peers, procs, parallel)
    const redisAfter = await redisCommands(redis.url)
    const held = await Promise.all(procs.map(health))
    const connections = held.reduce((n, h) => n + h.connections, 0)
    const rssGrowth = held.reduce((n, h, i) => n + h.rssBytes - before[i]!.rssBytes, 0)
    const heapGrowth = held.reduce((n, h, i) => n + h.heapUsedBytes - before[i]!.heapUsedBytes, 0)

    // Churn: random peers leave and join again through the other process.
    let joins = 0
    const churnStart = performance.now()
    let seed = 7
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    await Promise.all(
      Array.from({ length: parallel }, async (_, lane) => {
        while (performance.now() - churnStart < churnMs) {
          const i = Math.floor(random() * (peersN / parallel)) * parallel + lane // lanes own disjoint peers
          const peer = peers[i]!
          await peer.leave()
          await peer.join(procs[(i + joins) % 2]!.url)
          joins++
        }
      }),
    )
    const churnSeconds = (performance.now() - churnStart) / 1000
    await new Promise((r) => setTimeout(r, 500))
    // Everyone's view of its room against the truth.
    const truth = new Map<string, Set<string>>()
    for (const p of peers) truth.set(p.room, (truth.get(p.room) ?? new Set()).add(p.name))
    const presenceErrors = peers.filter((p) => {
      const want = [...truth.get(p.room)!].filter((n) => n !== p.name).sort().join(',')
      return [...p.view].sort().join(',') !== want
    }).length
    await Promise.all(peers.map((p) => p.leave()))

    results.push(
      { name: 'signaling.connectionsHeld', value: connections, unit: 'connections' },
      { name: 'signaling.rooms', value: rooms, unit: 'rooms' },
      { name: 'signaling.introductionsPerSec', value: Math.round(joined.introductions / (joined.ms / 1000)), unit: 'intro/s' },
      { name: 'signaling.introductionsPerSec.single', value: Math.round(baseline.introductions / (baseline.ms / 1000)), unit: 'intro/s' },
      { name: 'signaling.joinsPerSec', value: Math.round(peersN / (joined.ms / 1000)), unit: 'joins/s' },
      { name: 'signaling.joinsPerSec.single', value: Math.round(peersN / (baseline.ms / 1000)), unit: 'joins/s' },
      { name: 'signaling.joinsPerSec.churn', value: Math.round(joins / churnSeconds), unit: 'joins/s' },
      { name: 'signaling.memoryPerConnectionBytes', value: Math.round(rssGrowth / connections), unit: 'B' },
      { name: 'signaling.heapPerConnectionBytes', value: Math.round(heapGrowth / connections), unit: 'B' },
      { name: 'signaling.redisCommandsPerJoin', value: Math.round(((redisAfter - redisBefore) / peersN) * 10) / 10, unit: 'commands' },
      { name: 'signaling.presenceErrors', value: presenceErrors, unit: 'peers' },
    )
  } finally {
    for (const p of procs) p.child.kill()
    await redis.stop()
  }
  return results
}

async function redisCommands(url: string): Promise<number> {
  const { Redis } = await import('ioredis')
  const client = new Redis(url)
  const info = await client.info('stats')
  client.disconnect()
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const results = await benchSignaling(quick)
  printTable('signaling scale-out (2 processes + Redis; simulated peers)', results)
  console.log(`  → ${writeResults('signaling', results)}`)
}
