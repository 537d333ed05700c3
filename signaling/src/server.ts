import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import {
  connectionsMax,
  devTokenLifetimeMs,
  frameBurstMax,
  frameBytesMax,
  framesPerSecondMax,
  helloTimeoutMs,
  peersPerRoomMax,
  roomsMax,
} from './limits.ts'
import { clientFrameSchema, closeCodes, nameSchema, type ErrorCode, type ServerFrame, type SignalData } from './protocol.ts'
import { developmentRoomSecret, developmentSecret, roomKeyFor, signToken, verifyToken } from './token.ts'
import { RedisCluster, type ClusterStats } from './cluster.ts'

/**
 * The introduction server (issue 4): rooms of named peers; a joining peer
 * gets the current peer list; presence (join/leave) is pushed to the room;
 * WebRTC signals are relayed between named peers of one room. It holds
 * nothing else and sees no application data (signals are checked against
 * the shapes simple-peer emits). A room token (HMAC: room, peer, expiry) is
 * checked in the hello frame. Over any limit the client gets a clear error
 * frame and the connection is closed.
 */
export interface SignalingOptions {
  port?: number
  host?: string
  /** The room secret; the embedded development secret when absent. */
  secret?: string
  /** Serve GET /dev-token (only allowed with the development secret). */
  devTokens?: boolean
  /** The clock (tests move it). */
  now?: () => number
  /** Time allowed before hello (default helloTimeoutMs). */
  helloTimeoutMs?: number
  /** Connections held at once (default connectionsMax; tests of floods lower it). */
  connectionsMax?: number
  /** Share rooms with other signaling processes through this Redis (redis://…); without it, one process holds everything. */
  redisUrl?: string
  log?: (line: string) => void
}

export interface SignalingStats {
  connections: number
  rooms: number
  peers: number
  framesRelayed: number
  framesRejected: Record<string, number>
  /** Scale-out on Redis, when configured. */
  cluster: (ClusterStats & { server: string }) | null
}

export interface SignalingServer {
  /** ws://host:port */
  url: string
  /** http://host:port */
  httpUrl: string
  stats(): SignalingStats
  close(): Promise<void>
}

interface Connection {
  /** Unique in the cluster (names this connection's room entry in Redis). */
  id: string
  socket: WebSocket
  room: string | null
  peer: string | null
  tokens: number
  refilledAt: number
  helloTimer: NodeJS.Timeout | null
  /** Frames are handled in order, one at a time (hello may wait on Redis). */
  chain: Promise<void>
  /** Registered in the cluster (its entry must be removed when it goes). */
  clustered: boolean
  /** Frames received and not yet handled. */
  waiting: number
  /** Over a rate limit: it is closed once the frames before are handled; later frames are ignored. */
  limited: boolean
  /** Room events heard while its hello waited on Redis, delivered after the welcome. */
  heard: ServerFrame[] | null
  /** Its peer connected again through another process while this hello waited on Redis: it goes once answered. */
  replacedWhileJoining: boolean
}

export async function startSignalingServer(options: SignalingOptions = {}): Promise<SignalingServer> {
  const secret = options.secret ?? developmentSecret
  const now = options.now ?? Date.now
  const log = options.log ?? (() => {})
  const devTokens = options.devTokens ?? secret === developmentSecret
  if (devTokens && secret !== developmentSecret) throw new Error('GET /dev-token is only served with the development secret')
  const rooms = new Map<string, Map<string, Connection>>()
  const connections = new Set<Connection>()
  const stats = { framesRelayed: 0, framesRejected: {} as Record<string, number> }
  const count = (code: string) => (stats.framesRejected[code] = (stats.framesRejected[code] ?? 0) + 1)

  // Removals from Redis under way (a clean shutdown lets them finish).
  const leaves = new Set<Promise<void>>()
  // Connections whose hello waits on Redis, by room: they hear the room's events meanwhile.
  const joining = new Map<string, Set<Connection>>()
  let nextConnection = 0
  const cluster = options.redisUrl === undefined ? null : await RedisCluster.connect(options.redisUrl, {
    joined: (room, peer) => tellRoom(room, { type: 'peer-joined', peer }),
    left: (room, peer) => {
      // A stale "left" for a peer that is connected here now is not news.
      if (rooms.get(room)?.has(peer) !== true) tellRoom(room, { type: 'peer-left', peer })
    },
    signal: (room, from, to, data) => {
      const frame: ServerFrame = { type: 'signal', from, data: data as SignalData }
      const target = rooms.get(room)?.get(to)
      if (target !== undefined) {
        stats.framesRelayed++
        return send(target, frame)
      }
      // A peer elsewhere heard this one join before its hello was done here: it gets the signal after its welcome.
      const waiting = [...(joining.get(room) ?? [])].find((c) => c.peer === to)
      if (waiting?.heard != null) {
        stats.framesRelayed++
        return void waiting.heard.push(frame)
      }
      count('unknown-peer')
    },
    replaced: (room, peer, id) => {
      const previous = rooms.get(room)?.get(peer)
      // It connected again through another process: this connection goes, and nobody hears "left".
      if (previous !== undefined && previous.id === id) return replace(room, previous)
      // Its hello still waits on Redis here: it goes as soon as that is answered.
      const waiting = [...(joining.get(room) ?? [])].find((c) => c.id === id)
      if (waiting !== undefined) waiting.replacedWhileJoining = true
    },
  }, log)

  function tellRoom(room: string, frame: ServerFrame): void {
    for (const member of rooms.get(room)?.values() ?? []) send(member, frame)
    for (const waiting of joining.get(room) ?? []) waiting.heard?.push(frame)
  }

  const http: Server = createServer((req, res) => handleHttp(req, res))
  const wss = new WebSocketServer({ server: http, maxPayload: frameBytesMax })

  function handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost')
    res.setHeader('access-control-allow-origin', '*')
    if (req.method === 'GET' && url.pathname === '/healthz') {
      const peers = [...rooms.values()].reduce((n, r) => n + r.size, 0)
      const memory = process.memoryUsage()
      return json(res, 200, { ok: true, rooms: rooms.size, peers, connections: connections.size, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, cluster: cluster === null ? null : { server: cluster.server, ...cluster.counters } })
    }
    if (req.method === 'GET' && url.pathname === '/dev-token' && devTokens) {
      const room = nameSchema.safeParse(url.searchParams.get('room'))
      const peer = nameSchema.safeParse(url.searchParams.get('peer'))
      if (!room.success || !peer.success) return json(res, 400, { error: 'room and peer must be names of 1–64 letters, digits or . _ : -' })
      // The room key too: the development server plays the app's server here (tokens and keys never come from a production signaling server).
      return json(res, 200, { token: signToken({ room: room.data, peer: peer.data, exp: now() + devTokenLifetimeMs }, secret), roomKey: roomKeyFor(room.data, developmentRoomSecret) })
    }
    json(res, 404, { error: 'not found' })
  }

  wss.on('connection', (socket) => {
    const id = cluster?.connectionId() ?? String(nextConnection++)
    const connection: Connection = { id, socket, room: null, peer: null, tokens: frameBurstMax, refilledAt: now(), helloTimer: null, chain: Promise.resolve(), waiting: 0, limited: false, clustered: false, heard: null, replacedWhileJoining: false }
    const limit = options.connectionsMax ?? connectionsMax
    if (connections.size >= limit) return fail(connection, 'server-full', `this server holds at most ${limit} connections`)
    connections.add(connection)
    const helloWithin = options.helloTimeoutMs ?? helloTimeoutMs
    connection.helloTimer = setTimeout(() => fail(connection, 'hello-timeout', `say hello within ${helloWithin} ms`), helloWithin)
    socket.on('message', (data, isBinary) => {
      // Limited as frames arrive, not as they are handled: while Redis is slow, frames wait, boundedly.
      // Over a limit, the frames that came within it are still handled, in order, then the error.
      if (connection.limited) return
      const over = !takeToken(connection) ? `at most ${framesPerSecondMax} frames per second` : connection.waiting >= frameBurstMax ? `at most ${frameBurstMax} frames waiting` : null
      if (over !== null) {
        connection.limited = true
        connection.chain = connection.chain.then(() => fail(connection, 'rate-limited', over))
        return
      }
      connection.waiting++
      connection.chain = connection.chain
        .then(() => onFrame(connection, data, isBinary))
        .catch((error: unknown) => {
          fail(connection, 'unavailable', `the signaling cluster did not answer (${error instanceof Error ? error.message : String(error)}); try again`)
        })
        .finally(() => connection.waiting--)
    })
    socket.on('close', () => leave(connection))
    socket.on('error', () => leave(connection))
  })
  // ws closes a connection whose frame exceeds maxPayload with 1009; the
  // client sees that close code; we count it.
  wss.on('wsClientError', () => count('frame-too-large'))

  async function onFrame(connection: Connection, data: RawData, isBinary: boolean): Promise<void> {
    if (!connections.has(connection)) return // closed while earlier frames waited
    const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength
    if (bytes > frameBytesMax) return fail(connection, 'frame-too-large', `a frame holds at most ${frameBytesMax} bytes`)
    let frame: unknown
    try {
      frame = isBinary ? undefined : JSON.parse(data.toString())
    } catch {
      frame = undefined
    }
    const parsed = clientFrameSchema.safeParse(frame)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      return fail(connection, 'malformed-frame', `not a signaling frame: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim())
    }
    const message = parsed.data
    if (message.type === 'hello') return hello(connection, message.room, message.peer, message.token)
    if (connection.peer === null || connection.room === null) return fail(connection, 'hello-expected', 'the first frame must be a hello')
    const target = rooms.get(connection.room)?.get(message.to)
    if (target === undefined && cluster !== null && (await cluster.relay(connection.room, connection.peer, message.to, message.data))) {
      stats.framesRelayed++
      return
    }
    if (target === undefined) {
      count('unknown-peer')
      return send(connection, { type: 'error', code: 'unknown-peer', message: `no peer ${message.to} in room ${connection.room}` })
    }
    stats.framesRelayed++
    send(target, { type: 'signal', from: connection.peer, data: message.data })
  }

  async function hello(connection: Connection, room: string, peer: string, token: string): Promise<void> {
    if (connection.peer !== null) return fail(connection, 'malformed-frame', 'hello was already said')
    const check = verifyToken(token, secret, now())
    if (!check.ok) return fail(connection, check.code, check.message)
    if (check.claims.room !== room || check.claims.peer !== peer) {
      return fail(connection, 'token-mismatch', `the token is for peer ${check.claims.peer} in room ${check.claims.room}`)
    }
    // The room's map is made only once the peer is in it: an early exit leaves no empty room behind.
    const members = rooms.get(room)
    if (members === undefined && rooms.size >= roomsMax) return fail(connection, 'too-many-rooms', `this server holds at most ${roomsMax} rooms`)
    const previous = members?.get(peer)
    if (previous === undefined && (members?.size ?? 0) >= peersPerRoomMax) return fail(connection, 'room-full', `a room holds at most ${peersPerRoomMax} peers`)
    if (connection.helloTimer !== null) clearTimeout(connection.helloTimer)
    connection.helloTimer = null
    // The same peer again (a reloaded tab whose old socket is not closed yet): the new one wins.
    if (previous !== undefined) replace(room, previous)
    connection.room = room
    connection.peer = peer
    let remote: string[] = []
    if (cluster !== null) {
      const waiting = joining.get(room) ?? new Set()
      joining.set(room, waiting.add(connection))
      connection.heard = []
      try {
        connection.clustered = true
        remote = await cluster.join(room, peer, connection.id)
      } finally {
        waiting.delete(connection)
        if (waiting.size === 0) joining.delete(room)
      }
      // It went while Redis answered: its leave may have run before the entry was written.
      if (!connections.has(connection)) return cluster.leave(room, peer, connection.id)
      if (connection.replacedWhileJoining) return replace(room, connection)
      // Another hello of the same peer here finished while this one waited: this one is newer.
      const twin = rooms.get(room)?.get(peer)
      if (twin !== undefined && twin !== connection) replace(room, twin)
      if (new Set([...(rooms.get(room)?.keys() ?? []), ...remote]).size >= peersPerRoomMax) return fail(connection, 'room-full', `a room holds at most ${peersPerRoomMax} peers`)
    }
    const here = rooms.get(room) ?? new Map<string, Connection>()
    const heard = connection.heard ?? []
    connection.heard = null
    send(connection, { type: 'welcome', room, peer, peers: [...new Set([...here.keys(), ...remote])] })
    for (const frame of heard) send(connection, frame)
    for (const other of here.values()) send(other, { type: 'peer-joined', peer })
    here.set(peer, connection)
    rooms.set(room, here)
    log(`${room}: ${peer} joined (${here.size} peers here${cluster !== null ? `, ${remote.length} elsewhere` : ''})`)
  }

  /** A peer's older connection goes, quietly: the room hears no "left" (its newer one is, or will be, in). */
  function replace(room: string, previous: Connection): void {
    const members = rooms.get(room)
    if (members?.get(previous.peer!) === previous) members.delete(previous.peer!)
    if (members?.size === 0) rooms.delete(room)
    previous.room = null
    if (previous.clustered) void cluster?.release(room, previous.id).catch(() => {})
    previous.clustered = false // the new connection's entry replaces its entry in Redis
    fail(previous, 'replaced', 'this peer connected again elsewhere')
  }

  function leave(connection: Connection): void {
    if (connection.helloTimer !== null) clearTimeout(connection.helloTimer)
    connection.helloTimer = null
    connections.delete(connection)
    const { room, peer } = connection
    if (room === null || peer === null) return
    connection.room = null
    if (cluster !== null && connection.clustered) {
      connection.clustered = false
      const leaving: Promise<void> = cluster.leave(room, peer, connection.id)
        .catch((error: Error) => log(`redis: ${peer} left ${room} but its entry stays until swept: ${error.message}`))
        .finally(() => leaves.delete(leaving))
      leaves.add(leaving)
    }
    const members = rooms.get(room)
    if (members?.get(peer) !== connection) return
    members.delete(peer)
    if (members.size === 0) rooms.delete(room)
    for (const other of members.values()) send(other, { type: 'peer-left', peer })
    log(`${room}: ${peer} left (${members.size} peers)`)
  }

  function takeToken(connection: Connection): boolean {
    const t = now()
    connection.tokens = Math.min(frameBurstMax, connection.tokens + ((t - connection.refilledAt) / 1000) * framesPerSecondMax)
    connection.refilledAt = t
    if (connection.tokens < 1) return false
    connection.tokens -= 1
    return true
  }

  function send(connection: Connection, frame: ServerFrame): void {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(frame))
  }

  function fail(connection: Connection, code: ErrorCode, message: string): void {
    count(code)
    send(connection, { type: 'error', code, message })
    leave(connection)
    connection.socket.close(closeCodes[code], code)
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = http.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `ws://${host}:${address.port}`,
    httpUrl: `http://${host}:${address.port}`,
    stats: () => ({
      connections: connections.size,
      rooms: rooms.size,
      peers: [...rooms.values()].reduce((n, r) => n + r.size, 0),
      framesRelayed: stats.framesRelayed,
      framesRejected: { ...stats.framesRejected },
      cluster: cluster === null ? null : { server: cluster.server, ...cluster.counters },
    }),
    close: async () => {
      for (const connection of [...connections]) fail(connection, 'shutting-down', 'the server is shutting down')
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => http.close(() => resolve()))
      await Promise.all([...leaves])
      await cluster?.close()
    },
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}
