import type { ChildProcess } from 'node:child_process'
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startSignalingServer, type SignalingServer } from '@concord/signaling'
import { encodeFrame, logFile } from '@concord/storage-file'
import { spawnEdge, type EdgeProcess } from './spawn.ts'

/**
 * The edge replica as a real process (`concord-edge`), killed with SIGKILL in
 * the middle of writes: whatever it acknowledged is there after a restart.
 */
const machineModule = resolve(import.meta.dirname, '../../../e2e/pages/edge-machine.ts')

let server: SignalingServer | null = null
const children: ChildProcess[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
  await server?.close()
  server = null
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function edge(data: string, room: string, args: string[] = []): Promise<EdgeProcess> {
  const running = await spawnEdge({ room, signaling: server!.url, data, machine: machineModule, args })
  children.push(running.child)
  return running
}

/** A signaling server for this test, and a data directory removed after it. */
async function start(): Promise<string> {
  server = await startSignalingServer({ port: 0 })
  return dataDir()
}
async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'concord-edge-'))
  dirs.push(dir)
  return dir
}

async function leads(running: EdgeProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const status = await running.status()
    if (status.role === 'leader') return
    if (Date.now() > deadline) throw new Error(`the edge never led: ${JSON.stringify(status)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('concord-edge (a real process)', () => {
  it('killed with SIGKILL in the middle of writes, three times, restarts with every acknowledged call; a torn tail is cut and reported', async () => {
    const data = await start()
    const acknowledged: string[] = []
    let next = 0
    let replicaId = ''
    for (let round = 0; round < 3; round++) {
      const running = await edge(data, 'kill-room')
      await leads(running)
      if (round === 0) expect(running.output.join('\n')).toMatch(/founded it/)
      if (round === 2) expect(running.output.join('\n')).toMatch(/a torn tail of \d+ bytes cut/)
      // Eight writers, each one call at a time; killed once 150 more calls were acknowledged.
      const target = acknowledged.length + 150
      let killed = false
      const writer = async () => {
        while (!killed) {
          const item = `w${next++}`
          const reply = await running.call('append', { item }).catch(() => null)
          if (reply === null) return // the process is gone: this call's fate is unknown
          expect(reply.ok).toBe(true)
          acknowledged.push(item)
          if (acknowledged.length >= target && !killed) {
            killed = true
            running.child.kill('SIGKILL')
          }
        }
      }
      await Promise.all(Array.from({ length: 8 }, writer))
      expect(await running.exited).toBe(null) // killed by the signal, not exited
      replicaId ||= (await readFile(join(data, 'e2e', 'kill-room', 'replica-id'), 'utf8')).trim()
      if (round === 1) {
        // A write torn by the crash: half a frame at the end of the log.
        const frame = encodeFrame([{ kind: 'nextBal', ballot: { round: 99, replica: replicaId } }])
        await appendFile(join(data, 'e2e', 'kill-room', replicaId, logFile), frame.subarray(0, frame.length - 5))
      }
    }
    const last = await edge(data, 'kill-room')
    await leads(last)
    // Leading comes first; the commands it had voted for but whose issued
    // records the kill cut off (they wait up to issuedWriteDelayMs to ride
    // with a later write) are issued again just after, in its first ballot.
    // CI once read the state in between: a whole round's calls not yet back.
    const deadline = Date.now() + 30_000
    for (let s = await last.status(); s.issuedUpTo < s.votedUpTo; s = await last.status()) {
      if (Date.now() > deadline) throw new Error(`the restarted edge never issued what it had voted: ${JSON.stringify(s)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    const state = await last.state<{ items: string[] }>()
    // Every acknowledged call is there, once; calls cut off by a kill may or may not be.
    for (const item of acknowledged) expect(state.items).toContain(item)
    expect(new Set(state.items).size).toBe(state.items.length)
    expect(acknowledged.length).toBeGreaterThanOrEqual(450)
    // And the restarted replica goes on taking calls.
    expect((await last.call('append', { item: 'after' })).ok).toBe(true)
    console.log(`edge SIGKILL×3: ${acknowledged.length} acknowledged calls, ${state.items.length} in the state after restarts`)
  })

  it('refuses to start from a log corrupted before its tail, saying so, and exits 1', async () => {
    const data = await start()
    const first = await edge(data, 'corrupt-room')
    await leads(first)
    for (let i = 0; i < 5; i++) expect((await first.call('append', { item: `x${i}` })).ok).toBe(true)
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    const id = (await readFile(join(data, 'e2e', 'corrupt-room', 'replica-id'), 'utf8')).trim()
    const path = join(data, 'e2e', 'corrupt-room', id, logFile)
    const bytes = await readFile(path)
    bytes[12] = bytes[12]! ^ 0x01 // inside the first frame, with frames after it
    await writeFile(path, bytes)
    const error = await edge(data, 'corrupt-room').then(() => null, (e: Error) => e)
    expect(error?.message).toMatch(/exited \(1\)/)
    expect(error?.message).toMatch(/is corrupt at byte 0 \(checksum mismatch\)/)
  })

  it('rejects bad calls over HTTP with a clear error', async () => {
    const data = await start()
    const running = await edge(data, 'http-room')
    await leads(running)
    const bad = await fetch(`${running.url}/call`, { method: 'POST', body: '{"name": 3}', headers: { 'content-type': 'application/json' } })
    expect(bad.status).toBe(400)
    // A cross-site simple request (text/plain, no preflight) is refused.
    expect((await fetch(`${running.url}/call`, { method: 'POST', body: '{"name":"append","args":{"item":"x"}}', headers: { 'content-type': 'text/plain' } })).status).toBe(415)
    expect(((await bad.json()) as { error: string }).error).toBe('bad-call')
    expect(await running.call('append', { item: '' })).toMatchObject({ ok: false, code: 'invalid-args' })
    expect(await running.call('nope', {})).toMatchObject({ ok: false, code: 'unknown-function' })
    expect(await running.call('take', { by: 5 })).toMatchObject({ ok: false, code: 'rejected' })
  })

  it('a second edge replica started with --learner archives the room: it gets every command and is never a voter', async () => {
    const [voterData, learnerData] = [await start(), await dataDir()]
    const voter = await edge(voterData, 'archive-room')
    await leads(voter)
    for (let i = 0; i < 5; i++) expect((await voter.call('append', { item: `v${i}` })).ok).toBe(true)
    const learner = await edge(learnerData, 'archive-room', ['--learner'])
    expect(learner.output.join('\n')).toMatch(/joining as a learner/)
    const learnerId = (await learner.status()).id
    await new Promise((r) => setTimeout(r, 500))
    for (let i = 5; i < 10; i++) expect((await voter.call('append', { item: `v${i}` })).ok).toBe(true)
    const want = Array.from({ length: 10 }, (_, i) => `v${i}`)
    const deadline = Date.now() + 30_000
    while (JSON.stringify((await learner.state<{ items?: string[] }>()).items) !== JSON.stringify(want)) {
      if (Date.now() > deadline) throw new Error(`the learner has ${JSON.stringify(await learner.state())}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    // Room for five voters, yet the learner stays out; and a learner's call goes through the leader.
    expect((await voter.status()).members).toEqual([(await voter.status()).id])
    expect((await learner.status()).members).not.toContain(learnerId)
    expect(await learner.call('append', { item: 'from-the-learner' })).toMatchObject({ ok: true })
    expect((await voter.state<{ items: string[] }>()).items.at(-1)).toBe('from-the-learner')
  })
})
