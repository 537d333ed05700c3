import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import type { MachineDefinition } from '@concord/machine'
import { startEdge, type EdgeReplica } from './edge.ts'
import { serveEdgeHttp } from './http.ts'

/**
 * `npx concord-edge --room acme --signaling ws://… --data ./data --machine ./machine.ts`
 * runs an always-on replica of a room (edge.ts). The machine module exports
 * `machine` (from defineMachine; or a default export), the same the tabs run.
 * Tokens: signed here with CONCORD_SIGNALING_SECRET (the room secret), or
 * given as CONCORD_TOKEN; without either, the development secret, which
 * NODE_ENV=production refuses. SIGTERM/SIGINT close it cleanly (it stays a
 * member and comes back with its data); --leave-on-exit leaves the room.
 */
const usage = `usage: concord-edge --room <room> --signaling <ws://…> --data <dir> --machine <module.ts>
  [--app <name>] [--id <replica id>] [--http-port <port>] [--http-host 127.0.0.1] [--leave-on-exit]
  [--learner]   archive the room: fed every command, never a voter
  tokens:   CONCORD_SIGNALING_SECRET (signs this replica's own) or CONCORD_TOKEN
  room key: CONCORD_ROOM_SECRET (the app server's, never the signaling server's) or CONCORD_ROOM_KEY ('none': trust signaling)`

class UsageError extends Error {}

function options() {
  const { values } = parseArgs({
    options: {
      room: { type: 'string' },
      signaling: { type: 'string' },
      data: { type: 'string' },
      machine: { type: 'string' },
      app: { type: 'string' },
      id: { type: 'string' },
      'http-port': { type: 'string' },
      'http-host': { type: 'string', default: '127.0.0.1' },
      'leave-on-exit': { type: 'boolean', default: false },
      learner: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(usage)
    process.exit(0)
  }
  for (const name of ['room', 'signaling', 'data', 'machine'] as const) if (values[name] === undefined) throw new UsageError(`--${name} is required`)
  if (!/^wss?:\/\//.test(values.signaling!)) throw new UsageError(`--signaling must be a ws:// or wss:// URL, got ${values.signaling}`)
  const httpPort = values['http-port'] === undefined ? null : Number(values['http-port'])
  if (httpPort !== null && !(Number.isInteger(httpPort) && httpPort >= 0 && httpPort <= 65535)) throw new UsageError(`--http-port must be 0–65535, got ${values['http-port']}`)
  return { ...values, httpPort } as typeof values & { room: string; signaling: string; data: string; machine: string; httpPort: number | null }
}

async function loadMachine(module: string): Promise<MachineDefinition> {
  const loaded = (await import(pathToFileURL(resolve(module)).href)) as Record<string, unknown>
  const candidate = loaded.machine ?? (loaded.default as Record<string, unknown> | undefined)?.machine ?? loaded.default
  const isMachine = (m: unknown): m is MachineDefinition => typeof m === 'object' && m !== null && typeof (m as { name?: unknown }).name === 'string' && typeof (m as { functions?: unknown }).functions === 'object'
  if (!isMachine(candidate)) throw new UsageError(`${module} exports no machine (export const machine = defineMachine({ … }))`)
  return candidate
}

async function main(): Promise<void> {
  const o = options()
  const secret = process.env.CONCORD_SIGNALING_SECRET
  const token = process.env.CONCORD_TOKEN
  const roomKey = process.env.CONCORD_ROOM_KEY
  const roomSecret = process.env.CONCORD_ROOM_SECRET
  if (secret === undefined && token === undefined && process.env.NODE_ENV === 'production') throw new UsageError('NODE_ENV=production needs CONCORD_SIGNALING_SECRET or CONCORD_TOKEN')
  if (process.env.NODE_ENV === 'production' && roomKey === undefined && roomSecret === undefined) throw new UsageError('NODE_ENV=production needs CONCORD_ROOM_SECRET or CONCORD_ROOM_KEY (or CONCORD_ROOM_KEY=none to trust signaling)')
  const machine = await loadMachine(o.machine)
  const log = (line: string) => console.log(`[concord-edge] ${line}`)
  const edge: EdgeReplica = await startEdge({
    machine,
    room: o.room,
    signaling: o.signaling,
    data: resolve(o.data),
    ...(o.app !== undefined ? { app: o.app } : {}),
    ...(o.id !== undefined ? { replicaId: o.id } : {}),
    ...(o.learner ? { learner: true } : {}),
    ...(token !== undefined ? { token } : secret !== undefined ? { secret } : {}),
    ...(roomKey !== undefined ? { roomKey } : roomSecret !== undefined ? { roomSecret } : {}),
    log,
  })
  const http = o.httpPort !== null ? await serveEdgeHttp(edge, o.httpPort, o['http-host']) : null
  log(`replica ${edge.id} of room ${o.room} (${edge.founded ? 'founded it' : o.learner ? 'joining as a learner' : 'joining'}), data in ${edge.dir}; ${edge.recovery.frames} log frames read${edge.recovery.tornBytes > 0 ? `, a torn tail of ${edge.recovery.tornBytes} bytes cut` : ''}${secret === undefined && token === undefined ? '; tokens signed with the DEVELOPMENT secret' : ''}`)
  if (http !== null) log(`http ${http.url} (POST /call, GET /state, GET /status, GET /healthz)`)
  edge.subscribe((event) => {
    if (event.type === 'failed') {
      // A replica whose storage failed serves nothing: exit, so that a supervisor sees it and restarts it.
      log(`failed: ${event.error}`)
      process.exit(1)
    }
    else if (event.type === 'replica') log(`event: ${JSON.stringify(event.event)}`)
  })
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    void (async () => {
      await http?.close()
      await (o['leave-on-exit'] ? edge.leave() : edge.close())
      process.exit(0)
    })()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? `${error.message}\n${usage}` : `concord-edge: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(error instanceof UsageError ? 2 : 1)
})
