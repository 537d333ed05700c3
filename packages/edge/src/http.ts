import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import type { Json } from '@concord/machine'
import type { EdgeReplica } from './edge.ts'

/**
 * The edge replica's local HTTP API, for the app's own server code (a
 * webhook writing to the room, a job reading it). Bound to 127.0.0.1 by
 * default: it carries no authentication of its own.
 *
 *   POST /call  {"name": "transfer", "args": {…}}  → 200 {"ok": true, "result": …} | 200 {"ok": false, "code", "reason"}
 *   GET  /state                                      → the machine state as applied here
 *   GET  /status                                     → role, leader, members, issued, storage…
 *   GET  /healthz                                    → 200 "ok" while the replica runs
 */
export const httpBodyBytesMax = 1024 * 1024

const callSchema = z.strictObject({ name: z.string().min(1).max(128), args: z.json() })

export interface EdgeHttp {
  readonly url: string
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(text)
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (bytes > httpBodyBytesMax) return null
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

export async function serveEdgeHttp(edge: EdgeReplica, port: number, host = '127.0.0.1'): Promise<EdgeHttp> {
  const allowedHosts = new Set(['127.0.0.1', 'localhost', '[::1]', host])
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => send(res, 503, { error: 'unavailable', message: error instanceof Error ? error.message : String(error) }))
  })
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    // Only local callers by name: a web page cannot reach this through DNS rebinding (its Host would be its own name).
    const hostName = (req.headers.host ?? '').replace(/:\d+$/, '')
    if (!allowedHosts.has(hostName)) return send(res, 403, { error: 'forbidden-host', message: `Host ${JSON.stringify(req.headers.host ?? '')} is not this replica's` })
    if (req.method === 'GET' && path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    if (req.method === 'GET' && path === '/state') return send(res, 200, edge.state())
    if (req.method === 'GET' && path === '/status') return send(res, 200, edge.status())
    if (req.method === 'POST' && path === '/call') {
      // JSON only: a cross-site form or text/plain POST (no CORS preflight) is refused.
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, { error: 'json-only', message: 'POST /call takes content-type: application/json' })
      const text = await readBody(req)
      if (text === null) return send(res, 413, { error: 'too-large', message: `the body is over ${httpBodyBytesMax} bytes` })
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        return send(res, 400, { error: 'bad-json', message: 'the body is not JSON' })
      }
      const parsed = callSchema.safeParse(body)
      if (!parsed.success) return send(res, 400, { error: 'bad-call', message: `expected {"name": string, "args": JSON}: ${parsed.error.issues[0]?.message ?? ''}` })
      const reply = await edge.call(parsed.data.name, parsed.data.args as Json)
      return send(res, 200, reply.ok ? { ok: true, result: reply.result } : { ok: false, code: reply.code, reason: reply.reason })
    }
    send(res, 404, { error: 'not-found', message: 'GET /state, GET /status, GET /healthz, POST /call' })
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address() as AddressInfo
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
