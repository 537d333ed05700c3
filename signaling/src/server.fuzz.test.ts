import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import WebSocket from 'ws'
import { startSignalingServer, type SignalingServer } from './server.ts'
import { signToken } from './token.ts'

const runs = Number(process.env.FUZZ_RUNS ?? 60)
const secret = 'fuzz-secret-0123456789abc'
let server: SignalingServer
beforeAll(async () => {
  server = await startSignalingServer({ secret })
})
afterAll(async () => {
  await server.close()
})

/** Sends frames on one connection; resolves with the frames received and the close code. */
function session(frames: string[]): Promise<{ received: { type?: string }[]; closed: number | null }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(server.url)
    const received: { type?: string }[] = []
    socket.on('message', (d) => received.push(JSON.parse(String(d))))
    socket.on('open', () => {
      for (const f of frames) socket.send(f)
      setTimeout(() => socket.close(), 50)
    })
    socket.on('close', (code) => resolve({ received, closed: code }))
    socket.on('error', () => {})
  })
}

describe('fuzzing the signaling server', () => {
  it('random frames, before and after a valid hello, get an error frame or nothing — never a crash, never a relay', async () => {
    const hello = JSON.stringify({ type: 'hello', room: 'fuzz', peer: 'p', token: signToken({ room: 'fuzz', peer: 'p', exp: Date.now() + 60_000 }, secret) })
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 }), fc.anything().map((v) => JSON.stringify(v) ?? 'null')), { minLength: 1, maxLength: 5 }), async (sayHello, junk) => {
        const { received } = await session(sayHello ? [hello, ...junk] : junk)
        for (const frame of received) expect(['welcome', 'error', 'peer-joined', 'peer-left']).toContain(frame.type)
      }),
      { numRuns: runs },
    )
    const health = await (await fetch(`${server.httpUrl}/healthz`)).json()
    expect(health).toMatchObject({ ok: true })
    expect(server.stats().framesRelayed).toBe(0)
  })
})
