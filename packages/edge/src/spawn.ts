import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

/**
 * `concord-edge` as a child process, for tests and scripts: started, its
 * HTTP API found from its output, and driven over it.
 */
export const edgeBin = resolve(import.meta.dirname, '../bin/concord-edge.mjs')

export interface SpawnEdgeOptions {
  room: string
  signaling: string
  data: string
  /** The machine module (exports `machine`). */
  machine: string
  args?: string[]
  env?: Record<string, string>
  /** How long to wait for the HTTP API to come up (default 30 s). */
  timeoutMs?: number
}

export interface EdgeProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Every line printed so far (stdout and stderr). */
  readonly output: string[]
  /** The exit code, or null when a signal ended it. */
  readonly exited: Promise<number | null>
  call(name: string, args: unknown): Promise<{ ok: true; result: unknown } | { ok: false; code: string; reason: string }>
  state<S = Record<string, unknown>>(): Promise<S>
  status(): Promise<{ id: string; role: string; leader: string | null; members: string[]; issuedUpTo: number; votedUpTo: number; connected: string[] }>
}

export async function spawnEdge(options: SpawnEdgeOptions): Promise<EdgeProcess> {
  const args = [edgeBin, '--room', options.room, '--signaling', options.signaling, '--data', options.data, '--machine', options.machine, '--http-port', '0', ...(options.args ?? [])]
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  const output: string[] = []
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(new Error(`concord-edge did not serve HTTP in ${options.timeoutMs ?? 30_000} ms:\n${output.join('\n')}`))
    }, options.timeoutMs ?? 30_000)
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        output.push(line)
        const match = /http (http:\/\/\S+)/.exec(line)
        if (match !== null) {
          clearTimeout(timer)
          done(match[1]!)
        }
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    void exited.then((code) => {
      clearTimeout(timer)
      fail(new Error(`concord-edge exited (${code}):\n${output.join('\n')}`))
    })
  })
  const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`)).json()) as T
  return {
    child,
    url,
    output,
    exited,
    async call(name, args) {
      const res = await fetch(`${url}/call`, { method: 'POST', body: JSON.stringify({ name, args }), headers: { 'content-type': 'application/json' } })
      return (await res.json()) as Awaited<ReturnType<EdgeProcess['call']>>
    },
    state: <S>() => get<S>('/state'),
    status: () => get('/status'),
  }
}
