import { spawn } from 'node:child_process'
import { join as joinPath } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { serverAliveTtlMs, serverHeartbeatMs } from './limits.ts'
import { startRedis, type RedisProcess } from './redis-server.ts'
import { startSignalingServer, type SignalingServer } from './server.ts'
import { Client } from './test-client.ts'
import { signToken } from './token.ts'

/**
 * Signaling scale-out (issue 8 §2): two (or more) signaling processes share
 * rooms through a real Redis server; peers on different processes meet.
 */
const secret = 'cluster-test-secret-0123456789'
let redis: RedisProcess
const servers: SignalingServer[] = []
const clients: Client[] = []
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis.stop()
})
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.close()
  for (const s of servers.splice(0)) await s.close()
})

async function server(): Promise<SignalingServer> {
  const s = await startSignalingServer({ secret, redisUrl: redis.url })
  servers.push(s)
  return s
}

async function join(url: string, room: string, peer: string): Promise<Client> {
  const c = await Client.open(url)
  clients.push(c)
  c.send({ type: 'hello', room, peer, token: signToken({ room, peer, exp: Date.now() + 60_000 }, secret) })
  await c.frame('welcome')
  return c
}

/** Who a client believes is in its room: the welcome, then joins and leaves in order. */
function presence(c: Client): string[] {
  const peers = new Set<string>()
  for (const f of c.frames) {
    if (f.type === 'welcome') for (const p of f.peers as string[]) peers.add(p)
    if (f.type === 'peer-joined') peers.add(f.peer as string)
    if (f.type === 'peer-left') peers.delete(f.peer as string)
  }
  return [...peers].sort()
}

const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }

describe('signaling on two processes sharing Redis', () => {
  it('peers on different processes meet: the peer list, presence and signals cross processes', async () => {
    const [s1, s2] = [await server(), await server()]
    const a = await join(s1.url, 'acme', 'tab-a')
    const b = await join(s2.url, 'acme', 'tab-b')
    expect(await b.frame('welcome')).toEqual({ type: 'welcome', room: 'acme', peer: 'tab-b', peers: ['tab-a'] })
    expect(await a.frame('peer-joined')).toEqual({ type: 'peer-joined', peer: 'tab-b' })
    b.send({ type: 'signal', to: 'tab-a', data: offer })
    expect(await a.frame('signal')).toEqual({ type: 'signal', from: 'tab-b', data: offer })
    a.send({ type: 'signal', to: 'tab-b', data: { type: 'answer', sdp: 'v=0\r\n' } })
    expect(await b.frame('signal')).toEqual({ type: 'signal', from: 'tab-a', data: { type: 'answer', sdp: 'v=0\r\n' } })
    // A signal to nobody is still an error, whichever process is asked.
    a.send({ type: 'signal', to: 'tab-z', data: offer })
    expect(await a.frame('error')).toMatchObject({ code: 'unknown-peer' })
    b.socket.close()
    expect(await a.frame('peer-left')).toEqual({ type: 'peer-left', peer: 'tab-b' })
    expect(s1.stats().cluster).toMatchObject({ malformed: 0 })
    expect(s1.stats().cluster!.received).toBeGreaterThanOrEqual(2)
  })

  it('twenty peers joining at once, alternately on three processes, all end up knowing each other', async () => {
    const ss = [await server(), await server(), await server()]
    const names = Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, '0')}`)
    const cs = await Promise.all(names.map((peer, i) => join(ss[i % 3]!.url, 'crowd', peer)))
    for (const [i, c] of cs.entries()) await c.until(() => presence(c).length === 19, 5000).catch(() => {
      throw new Error(`${names[i]} sees ${presence(c).join(',')}`)
    })
    for (const [i, c] of cs.entries()) expect(presence(c)).toEqual(names.filter((n) => n !== names[i]))
    // Ten leave at once: the other ten see exactly the other nine.
    for (const c of cs.slice(0, 10)) c.socket.close()
    for (const [i, c] of cs.slice(10).entries()) {
      await c.until(() => presence(c).length === 9, 5000)
      expect(presence(c)).toEqual(names.slice(10).filter((n) => n !== names[10 + i]))
    }
  })

  it('a peer that connects again through another process replaces its old connection; the others never hear it left', async () => {
    const [s1, s2] = [await server(), await server()]
    const watcher = await join(s1.url, 'acme', 'watcher')
    const old = await join(s1.url, 'acme', 'tab-x')
    await join(s2.url, 'acme', 'tab-x')
    expect(await old.frame('error')).toMatchObject({ code: 'replaced' })
    await old.until(() => old.closed !== null)
    await new Promise((r) => setTimeout(r, 300))
    expect(presence(watcher)).toEqual(['tab-x'])
    expect(watcher.frames.some((f) => f.type === 'peer-left')).toBe(false)
  })

  it('a signaling process killed with SIGKILL: its peers are dropped from the room after its liveness key expires', async () => {
    const s1 = await server()
    const survivor = await join(s1.url, 'kill-room', 'survivor')
    const bin = joinPath(import.meta.dirname, '..', 'bin', 'concord-signaling.mjs')
    const child = spawn(process.execPath, [bin, '--port', '0', '--redis', redis.url], { env: { ...process.env, CONCORD_SIGNALING_SECRET: secret }, stdio: ['ignore', 'pipe', 'inherit'] })
    const url = await new Promise<string>((resolve) => child.stdout!.on('data', (d: Buffer) => {
      const m = /listening on (ws:\/\/\S+)/.exec(d.toString())
      if (m) resolve(m[1]!)
    }))
    const doomed = new Client(url)
    await new Promise<void>((resolve) => doomed.socket.once('open', () => resolve()))
    doomed.send({ type: 'hello', room: 'kill-room', peer: 'doomed', token: signToken({ room: 'kill-room', peer: 'doomed', exp: Date.now() + 60_000 }, secret) })
    await doomed.frame('welcome')
    await survivor.until(() => presence(survivor).includes('doomed'))
    const killedAt = Date.now()
    child.kill('SIGKILL')
    await survivor.until(() => !presence(survivor).includes('doomed'), serverAliveTtlMs + 3 * serverHeartbeatMs)
    expect(Date.now() - killedAt).toBeLessThan(serverAliveTtlMs + 2 * serverHeartbeatMs + 1000)
    expect(s1.stats().cluster!.swept).toBe(1)
    // And a new peer is not told about the dead one.
    const late = await join(s1.url, 'kill-room', 'late')
    expect((await late.frame('welcome')).peers).toEqual(['survivor'])
  }, 40_000)

  it('a process whose liveness key lapsed (Redis away longer than its TTL) puts its peers back when it returns', async () => {
    const [s1, s2] = [await server(), await server()]
    const a = await join(s1.url, 'lapse-room', 'a')
    const b = await join(s2.url, 'lapse-room', 'b')
    await a.until(() => presence(a).includes('b'))
    // What the others do when s1's key expires: they sweep its peers and tell the room.
    const redisClient = new Redis(redis.url)
    const s1Id = s1.stats().cluster!.server
    await redisClient.del(`concord:s:${s1Id}`)
    const entry = (await redisClient.hget('concord:r:lapse-room', 'a'))!
    await redisClient.hdel('concord:r:lapse-room', 'a')
    await redisClient.publish('concord:room:lapse-room', JSON.stringify({ t: 'left', server: s1Id, peer: 'a', connection: entry.split(' ')[1] }))
    await b.until(() => !presence(b).includes('a'))
    // s1's next heartbeat finds its key gone, writes its entries again and says so.
    await b.until(() => presence(b).includes('a'), 2 * serverHeartbeatMs)
    expect(await redisClient.hget('concord:r:lapse-room', 'a')).toMatch(new RegExp(`^${s1Id} `))
    expect(s1.stats().cluster!.reregistered).toBeGreaterThanOrEqual(1)
    redisClient.disconnect()
    // And signals reach it again across processes.
    b.send({ type: 'signal', to: 'a', data: offer })
    await a.until(() => a.frames.some((f) => f.type === 'signal'))
  })

  it('a late "left" from a peer\'s old connection, after its new one joined through another process, is ignored', async () => {
    const [s1, s2] = [await server(), await server()]
    const watcher = await join(s1.url, 'stale-room', 'watcher')
    await join(s2.url, 'stale-room', 'tab-x')
    await watcher.until(() => presence(watcher).includes('tab-x'))
    const publisher = new Redis(redis.url)
    // The old process's "left", published after the new connection's "joined".
    await publisher.publish('concord:room:stale-room', JSON.stringify({ t: 'left', server: 'old-process', peer: 'tab-x', connection: 'old-process-7' }))
    await new Promise((r) => setTimeout(r, 300))
    publisher.disconnect()
    expect(presence(watcher)).toEqual(['tab-x'])
    expect(s1.stats().cluster!.staleLeft).toBe(1)
  })

  it('messages on Redis that are not ours are counted and ignored', async () => {
    const s1 = await server()
    const a = await join(s1.url, 'junk-room', 'a')
    const publisher = new Redis(redis.url)
    await publisher.publish('concord:room:junk-room', '{"t":"joined","server":"x"}') // no peer, no connection
    await publisher.publish('concord:room:junk-room', 'not json')
    await publisher.publish(`concord:to:${s1.stats().cluster!.server}`, JSON.stringify({ t: 'signal', room: 'junk-room', from: 'm', to: 'a', data: {}, extra: 1 }))
    await new Promise((r) => setTimeout(r, 200))
    publisher.disconnect()
    expect(s1.stats().cluster!.malformed).toBe(3)
    expect(a.frames.filter((f) => f.type !== 'welcome')).toEqual([])
  })

  it('refuses to start when Redis cannot be reached, saying where it tried', async () => {
    await expect(startSignalingServer({ secret, redisUrl: 'redis://127.0.0.1:1' })).rejects.toThrow(/cannot reach Redis at redis:\/\/127.0.0.1:1/)
  })
})
