import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { z } from 'zod'
import { clusterCommandTimeoutMs, serverAliveTtlMs, serverHeartbeatMs } from './limits.ts'

/**
 * Signaling scale-out on Redis (issue 8 §2, DESIGN.md §8): several signaling
 * processes share room presence and relay introductions through Redis, so
 * two peers connected to different processes still meet. Each process keeps
 * its own connections; Redis holds, per room, which process each peer is
 * connected to, and carries the messages between processes:
 *
 *   hash     concord:r:<room>      peer → "<server> <connection>"
 *   key      concord:s:<server>    present while that process lives (PX serverAliveTtlMs, refreshed)
 *   channel  concord:room:<room>   joined / left, for the processes with peers in the room
 *   channel  concord:to:<server>   signals for that process's peers, and "replaced"
 *
 * A process that dies leaves its entries behind: they are ignored once its
 * liveness key expires, and swept (with a "left" to the room) by the
 * processes that still have peers in the room.
 */
export interface ClusterEvents {
  /** A peer joined `room` on another process. */
  joined(room: string, peer: string): void
  /** A peer of `room` on another process left (or its process died). */
  left(room: string, peer: string): void
  /** A signal for a peer connected here. */
  signal(room: string, from: string, to: string, data: unknown): void
  /** `peer` connected again elsewhere: close this process's connection `connection`. */
  replaced(room: string, peer: string, connection: string): void
}

export interface ClusterStats {
  published: number
  received: number
  swept: number
  malformed: number
  /** Times this process found its liveness key expired and wrote its entries again. */
  reregistered: number
  /** "left" events from a peer's older connection, after its newer one joined: ignored. */
  staleLeft: number
}

const prefix = 'concord'
const roomKey = (room: string) => `${prefix}:r:${room}`
const aliveKey = (server: string) => `${prefix}:s:${server}`
const roomChannel = (room: string) => `${prefix}:room:${room}`
const serverChannel = (server: string) => `${prefix}:to:${server}`

// Set and return the previous value, atomically.
const swapScript = `local p = redis.call('HGET', KEYS[1], ARGV[1]); redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]); return p`
// Delete only the entry this connection wrote (a newer connection of the peer keeps its own).
const deleteIfScript = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) else return 0 end`

const nameSchema = z.string().min(1).max(256)
const messageSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('joined'), server: nameSchema, peer: nameSchema, connection: nameSchema }),
  z.strictObject({ t: z.literal('left'), server: nameSchema, peer: nameSchema, connection: nameSchema }),
  z.strictObject({ t: z.literal('signal'), room: nameSchema, from: nameSchema, to: nameSchema, data: z.unknown() }),
  z.strictObject({ t: z.literal('replaced'), room: nameSchema, peer: nameSchema, connection: nameSchema }),
])
type Message = z.infer<typeof messageSchema>

export class RedisCluster {
  readonly server = randomBytes(6).toString('hex')
  private readonly commands: Redis
  private readonly subscriber: Redis
  /** Rooms with peers connected here: their channels are subscribed and their entries swept. */
  private readonly rooms = new Map<string, Set<string>>()
  /** This process's entries (connection → room and peer), to write again if they were swept while it was unreachable. */
  private readonly entries = new Map<string, { room: string; peer: string }>()
  /** The connection of each remote peer's latest "joined", by room and peer (a stale "left" is told apart by it). */
  private readonly latest = new Map<string, string>()
  /** Each room's subscription, awaited by every join (not only the first): a join must not read the room before it can hear it. */
  private readonly subscribed = new Map<string, Promise<unknown>>()
  private readonly heartbeat: NodeJS.Timeout
  private nextConnection = 0
  readonly counters: ClusterStats = { published: 0, received: 0, swept: 0, malformed: 0, reregistered: 0, staleLeft: 0 }

  private constructor(url: string, private readonly events: ClusterEvents, private readonly log: (line: string) => void) {
    const options = { commandTimeout: clusterCommandTimeoutMs, maxRetriesPerRequest: 2, lazyConnect: true }
    this.commands = new Redis(url, options)
    this.subscriber = new Redis(url, options)
    for (const client of [this.commands, this.subscriber]) client.on('error', (error: Error) => this.log(`redis: ${error.message}`))
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message.toString()))
    this.heartbeat = setInterval(() => void this.beat().catch((error: Error) => this.log(`redis heartbeat: ${error.message}`)), serverHeartbeatMs)
  }

  static async connect(url: string, events: ClusterEvents, log: (line: string) => void = () => {}): Promise<RedisCluster> {
    const cluster = new RedisCluster(url, events, log)
    try {
      await Promise.all([cluster.commands.connect(), cluster.subscriber.connect()])
      await cluster.commands.set(aliveKey(cluster.server), '1', 'PX', serverAliveTtlMs)
      await cluster.subscriber.subscribe(serverChannel(cluster.server))
    } catch (error) {
      await cluster.close()
      throw new Error(`cannot reach Redis at ${url}: ${error instanceof Error ? error.message : String(error)}`)
    }
    return cluster
  }

  /** A new id for a connection of this process (what a room entry names). */
  connectionId(): string {
    return `${this.server}-${(this.nextConnection++).toString(36)}`
  }

  /**
   * Registers `peer` of `room`, connected here as `connection`; returns the
   * room's peers on other live processes. The room's channel is subscribed
   * before the entry is written and the list read, so a peer that joins
   * elsewhere at the same time is either in the list or heard as "joined".
   */
  async join(room: string, peer: string, connection: string): Promise<string[]> {
    const here = this.rooms.get(room) ?? new Set()
    this.rooms.set(room, here.add(connection))
    this.entries.set(connection, { room, peer })
    let subscription = this.subscribed.get(room)
    if (subscription === undefined) this.subscribed.set(room, (subscription = this.subscriber.subscribe(roomChannel(room))))
    await subscription
    const previous = (await this.commands.eval(swapScript, 1, roomKey(room), peer, `${this.server} ${connection}`)) as string | null
    if (previous !== null) {
      const [server, old] = previous.split(' ')
      if (server !== undefined && old !== undefined && server !== this.server) await this.publish(serverChannel(server), { t: 'replaced', room, peer, connection: old })
    }
    await this.publish(roomChannel(room), { t: 'joined', server: this.server, peer, connection })
    const entries = await this.liveEntries(room)
    return [...entries.keys()].filter((p) => p !== peer && entries.get(p) !== this.server)
  }

  /** Unregisters `peer` if `connection` still holds its entry; tells the room. Idempotent. */
  async leave(room: string, peer: string, connection: string): Promise<void> {
    await this.release(room, connection)
    const deleted = (await this.commands.eval(deleteIfScript, 1, roomKey(room), peer, `${this.server} ${connection}`)) as number
    if (deleted === 1) await this.publish(roomChannel(room), { t: 'left', server: this.server, peer, connection })
  }

  /**
   * Forgets a connection of this process without touching the room's entry:
   * a connection replaced by a newer one of its peer (whose entry it is now).
   * The room's channel goes with the last connection. Idempotent.
   */
  async release(room: string, connection: string): Promise<void> {
    this.entries.delete(connection)
    const here = this.rooms.get(room)
    if (here?.delete(connection) !== true || here.size > 0) return
    this.rooms.delete(room)
    this.subscribed.delete(room)
    for (const key of [...this.latest.keys()]) if (key.startsWith(`${room}\n`)) this.latest.delete(key)
    await this.subscriber.unsubscribe(roomChannel(room))
  }

  /** Sends a signal to a peer on another process; false when no live process has it. */
  async relay(room: string, from: string, to: string, data: unknown): Promise<boolean> {
    const entry = (await this.commands.hget(roomKey(room), to)) as string | null
    const server = entry?.split(' ')[0]
    if (server === undefined || server === this.server || (await this.commands.exists(aliveKey(server))) === 0) return false
    await this.publish(serverChannel(server), { t: 'signal', room, from, to, data })
    return true
  }

  /** Peers of a room in Redis, minus those of dead processes (which are swept). */
  private async liveEntries(room: string): Promise<Map<string, string>> {
    const all = await this.commands.hgetall(roomKey(room))
    const servers = [...new Set(Object.values(all).map((v) => v.split(' ')[0]!))]
    const alive = new Set<string>()
    if (servers.length > 0) {
      const flags = await this.commands.mget(...servers.map(aliveKey))
      servers.forEach((s, i) => flags[i] !== null && alive.add(s))
    }
    const live = new Map<string, string>()
    for (const [peer, value] of Object.entries(all)) {
      const server = value.split(' ')[0]!
      if (alive.has(server)) {
        live.set(peer, server)
        continue
      }
      // Its process died: remove the entry (if still that one) and tell the room.
      if ((await this.commands.eval(deleteIfScript, 1, roomKey(room), peer, value)) === 1) {
        this.counters.swept++
        await this.publish(roomChannel(room), { t: 'left', server, peer, connection: value.split(' ')[1] ?? '?' })
      }
    }
    return live
  }

  private async beat(): Promise<void> {
    const was = await this.commands.set(aliveKey(this.server), '1', 'PX', serverAliveTtlMs, 'GET')
    // The key had expired (Redis unreachable, or restarted empty, for longer than its TTL): the
    // other processes may have swept this one's peers and told their rooms they left. Put them back.
    if (was === null) await this.register()
    for (const room of this.rooms.keys()) await this.liveEntries(room)
  }

  /** Writes this process's entries again and tells their rooms (a peer already there is not news to anyone). */
  private async register(): Promise<void> {
    this.counters.reregistered++
    for (const [connection, { room, peer }] of this.entries) {
      const value = `${this.server} ${connection}`
      // Only where the entry is gone or stale: a newer connection of the peer elsewhere keeps its own.
      const previous = (await this.commands.hget(roomKey(room), peer)) as string | null
      if (previous === value) continue
      if (previous !== null && (await this.commands.exists(aliveKey(previous.split(' ')[0]!))) === 1) continue
      await this.commands.hset(roomKey(room), peer, value)
      await this.publish(roomChannel(room), { t: 'joined', server: this.server, peer, connection })
    }
  }

  private async publish(channel: string, message: Message): Promise<void> {
    this.counters.published++
    await this.commands.publish(channel, JSON.stringify(message))
  }

  private onMessage(channel: string, text: string): void {
    let parsed: Message
    try {
      parsed = messageSchema.parse(JSON.parse(text))
    } catch {
      this.counters.malformed++
      return
    }
    this.counters.received++
    if (parsed.t === 'signal') return this.events.signal(parsed.room, parsed.from, parsed.to, parsed.data)
    if (parsed.t === 'replaced') return this.events.replaced(parsed.room, parsed.peer, parsed.connection)
    // Room events: this process's own are already handled locally.
    if (parsed.server === this.server) return
    const room = channel.slice(roomChannel('').length)
    const key = `${room}\n${parsed.peer}`
    if (parsed.t === 'joined') {
      this.latest.set(key, parsed.connection)
      return this.events.joined(room, parsed.peer)
    }
    // A late "left" from a peer's old connection after the "joined" of its new one (their processes
    // publish independently) is stale: the peer is still in the room.
    const latest = this.latest.get(key)
    if (latest !== undefined && latest !== parsed.connection) {
      this.counters.staleLeft++
      return
    }
    this.latest.delete(key)
    this.events.left(room, parsed.peer)
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat)
    await this.commands.del(aliveKey(this.server)).catch(() => {})
    this.subscriber.disconnect()
    this.commands.disconnect()
  }
}
