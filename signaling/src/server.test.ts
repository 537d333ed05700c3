import { spawn } from 'node:child_process'
import { join as joinPath } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { frameBurstMax, peersPerRoomMax } from './limits.ts'
import { startSignalingServer, type SignalingServer } from './server.ts'
import { developmentSecret, signToken, verifyToken } from './token.ts'
import { Client } from './test-client.ts'

const secret = 'test-secret-0123456789'
const servers: SignalingServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

async function server(options: Parameters<typeof startSignalingServer>[0] = {}): Promise<SignalingServer> {
  const s = await startSignalingServer({ secret, ...options })
  servers.push(s)
  return s
}

const token = (room: string, peer: string, exp = Date.now() + 60_000, key = secret) => signToken({ room, peer, exp }, key)

async function join(s: SignalingServer, room: string, peer: string): Promise<Client> {
  const c = await Client.open(s.url)
  c.send({ type: 'hello', room, peer, token: token(room, peer) })
  await c.frame('welcome')
  return c
}

const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }

describe('signaling server', () => {
  it('introduces peers: the peer list on join, presence pushed, signals relayed between named peers', async () => {
    const s = await server()
    const a = await join(s, 'acme', 'tab-a')
    expect(await a.frame('welcome')).toEqual({ type: 'welcome', room: 'acme', peer: 'tab-a', peers: [] })
    const b = await join(s, 'acme', 'tab-b')
    expect(await b.frame('welcome')).toEqual({ type: 'welcome', room: 'acme', peer: 'tab-b', peers: ['tab-a'] })
    expect(await a.frame('peer-joined')).toEqual({ type: 'peer-joined', peer: 'tab-b' })
    const other = await join(s, 'other-room', 'tab-a')
    b.send({ type: 'signal', to: 'tab-a', data: offer })
    expect(await a.frame('signal')).toEqual({ type: 'signal', from: 'tab-b', data: offer })
    const candidate = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host', sdpMLineIndex: 0, sdpMid: '0' } }
    a.send({ type: 'signal', to: 'tab-b', data: candidate })
    expect(await b.frame('signal')).toEqual({ type: 'signal', from: 'tab-a', data: candidate })
    expect(other.frames.filter((f) => f.type === 'signal')).toEqual([]) // rooms are apart
    b.socket.close()
    expect(await a.frame('peer-left')).toEqual({ type: 'peer-left', peer: 'tab-b' })
    expect(s.stats()).toMatchObject({ rooms: 2, peers: 2, framesRelayed: 2 })
  })

  it('relays nothing but WebRTC signals: application data is refused and the connection closed', async () => {
    const s = await server()
    const a = await join(s, 'acme', 'a')
    await join(s, 'acme', 'b')
    a.send({ type: 'signal', to: 'b', data: { type: 'app', stock: { A: 5 } } })
    expect(await a.frame('error')).toMatchObject({ code: 'malformed-frame' })
    await a.until(() => a.closed !== null)
    expect(a.closed).toBe(4400)
    expect(s.stats().framesRejected['malformed-frame']).toBe(1)
  })

  it('a signal to a peer not in the room gets an error frame but keeps the connection', async () => {
    const s = await server()
    const a = await join(s, 'acme', 'a')
    a.send({ type: 'signal', to: 'ghost', data: offer })
    expect(await a.frame('error')).toMatchObject({ code: 'unknown-peer' })
    expect(a.closed).toBeNull()
  })

  const refused: [string, (s: SignalingServer) => unknown, string, number][] = [
    ['a forged token', () => ({ type: 'hello', room: 'acme', peer: 'a', token: token('acme', 'a', Date.now() + 60_000, 'another-secret-123456') }), 'bad-signature', 4401],
    ['an expired token', () => ({ type: 'hello', room: 'acme', peer: 'a', token: token('acme', 'a', Date.now() - 1) }), 'expired-token', 4401],
    ['a token for another room', () => ({ type: 'hello', room: 'acme', peer: 'a', token: token('globex', 'a') }), 'token-mismatch', 4403],
    ['a token for another peer', () => ({ type: 'hello', room: 'acme', peer: 'a', token: token('acme', 'b') }), 'token-mismatch', 4403],
    ['garbage instead of a token', () => ({ type: 'hello', room: 'acme', peer: 'a', token: 'nope' }), 'malformed-token', 4401],
    ['a signal before hello', () => ({ type: 'signal', to: 'b', data: offer }), 'hello-expected', 4400],
    ['not JSON', () => '{{{', 'malformed-frame', 4400],
    ['a bad room name', () => ({ type: 'hello', room: 'a room/with spaces', peer: 'a', token: token('acme', 'a') }), 'malformed-frame', 4400],
  ]
  for (const [what, frame, code, close] of refused) {
    it(`refuses ${what} with a clear error (${code}) and closes`, async () => {
      const s = await server()
      const c = await Client.open(s.url)
      c.send(frame(s))
      expect(await c.frame('error')).toMatchObject({ type: 'error', code })
      expect(String((await c.frame('error')).message).length).toBeGreaterThan(10)
      await c.until(() => c.closed !== null)
      expect(c.closed).toBe(close)
      expect(s.stats().peers).toBe(0)
    })
  }

  it('closes a connection that does not say hello in time', async () => {
    const s = await server({ helloTimeoutMs: 100 })
    const c = await Client.open(s.url)
    expect(await c.frame('error')).toMatchObject({ code: 'hello-timeout' })
    await c.until(() => c.closed !== null)
    expect(c.closed).toBe(4408)
  })

  it('a connection flood: beyond the limit connections are refused (server-full), silent ones are closed at the hello timeout, and honest peers then get in and meet', async () => {
    const s = await server({ connectionsMax: 100, helloTimeoutMs: 500 })
    const flood = await Promise.all(Array.from({ length: 150 }, () => Client.open(s.url)))
    await Promise.all(flood.map((c) => c.until(() => c.closed !== null, 5_000)))
    const codes = flood.map((c) => c.closed)
    expect(codes.filter((code) => code === 4408)).toHaveLength(100) // hello-timeout: held, then closed
    expect(codes.filter((code) => code === 4503)).toHaveLength(50) // refused at once: server-full
    expect(s.stats().connections).toBe(0)
    const a = await join(s, 'acme', 'a')
    const b = await join(s, 'acme', 'b')
    b.send({ type: 'signal', to: 'a', data: offer })
    expect(await a.frame('signal')).toMatchObject({ from: 'b' })
  })

  it('limits frames per second per connection', async () => {
    const s = await server({ now: () => 1_000_000 }) // a frozen clock: the bucket never refills
    const a = await join(s, 'acme', 'a')
    await join(s, 'acme', 'b')
    for (let i = 0; i < frameBurstMax + 5; i++) a.send({ type: 'signal', to: 'b', data: offer })
    expect(await a.frame('error')).toMatchObject({ code: 'rate-limited' })
    await a.until(() => a.closed !== null)
    expect(a.closed).toBe(4429)
    expect(s.stats().framesRelayed).toBe(frameBurstMax - 1) // the hello took one token
  })

  it('limits frame size', async () => {
    const s = await server()
    const a = await join(s, 'acme', 'a')
    a.send({ type: 'signal', to: 'b', data: { type: 'offer', sdp: 'x'.repeat(100_000) } })
    await a.until(() => a.closed !== null)
    expect(a.closed).toBe(1009) // "message too big", from the WebSocket layer
  })

  it(`limits a room to ${peersPerRoomMax} peers`, async () => {
    const s = await server()
    for (let i = 0; i < peersPerRoomMax; i++) await join(s, 'big', `p${i}`)
    const late = await Client.open(s.url)
    late.send({ type: 'hello', room: 'big', peer: 'late', token: token('big', 'late') })
    expect(await late.frame('error')).toMatchObject({ code: 'room-full' })
    await late.until(() => late.closed !== null)
    expect(late.closed).toBe(4503)
    expect(s.stats().peers).toBe(peersPerRoomMax)
  })

  it('the same peer connecting again replaces its old connection (a reloaded tab)', async () => {
    const s = await server()
    const old = await join(s, 'acme', 'a')
    const b = await join(s, 'acme', 'b')
    const again = await join(s, 'acme', 'a')
    expect(await again.frame('welcome')).toMatchObject({ peers: ['b'] })
    expect(await old.frame('error')).toMatchObject({ code: 'replaced' })
    await old.until(() => old.closed !== null)
    b.send({ type: 'signal', to: 'a', data: offer })
    expect(await again.frame('signal')).toMatchObject({ from: 'b' })
    expect(b.frames.filter((f) => f.type === 'peer-left')).toEqual([])
  })

  it('GET /healthz; GET /dev-token only with the development secret', async () => {
    const prod = await server()
    expect(await (await fetch(`${prod.httpUrl}/healthz`)).json()).toMatchObject({ ok: true, rooms: 0, peers: 0, connections: 0, cluster: null })
    expect((await fetch(`${prod.httpUrl}/dev-token?room=acme&peer=a`)).status).toBe(404)
    const dev = await server({ secret: developmentSecret })
    const { token: t } = (await (await fetch(`${dev.httpUrl}/dev-token?room=acme&peer=a`)).json()) as { token: string }
    expect(verifyToken(t, developmentSecret, Date.now())).toMatchObject({ ok: true, claims: { room: 'acme', peer: 'a' } })
    expect((await fetch(`${dev.httpUrl}/dev-token?room=bad room&peer=a`)).status).toBe(400)
  })

  it('runs as a process: npx concord-signaling --port 0', async () => {
    const bin = joinPath(import.meta.dirname, '..', 'bin', 'concord-signaling.mjs')
    const child = spawn(process.execPath, [bin, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (d: Buffer) => {
          out += String(d)
          const m = /listening on (ws:\/\/\S+)/.exec(out)
          if (m) resolve(m[1]!)
        })
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
        setTimeout(() => reject(new Error(`no start: ${out}`)), 15_000)
      })
      const health = await fetch(`${url.replace('ws:', 'http:')}/healthz`)
      expect(await health.json()).toMatchObject({ ok: true })
    } finally {
      child.kill('SIGTERM')
    }
  })
})
