import SimplePeer from '@thaunknown/simple-peer/lite.js'
import type { Transport } from '@concord/host'
import { encodeFrames, Reassembler } from './framing.ts'
import { SignalingClient, type SignalingState } from './signaling-client.ts'

/**
 * A full mesh of WebRTC data channels for one room (issue 4 §2): the
 * signaling server introduces the peers, then every pair holds one
 * simple-peer connection (the peer with the smaller id initiates, so two
 * never offer at once). Messages are framed and chunked (framing.ts); a send
 * waits while the channel's buffer is above a high-water mark (backpressure),
 * in a bounded queue; a link that fails is rebuilt with backoff while the
 * peer is still in the room. Messages to a peer with no open link are
 * dropped and counted: the protocol above retransmits what matters.
 */
export interface MeshOptions {
  signalingUrl: string
  room: string
  peer: string
  /** The room token, or a function that fetches a fresh one (called on every reconnect). */
  token: string | (() => Promise<string>)
  /** ICE servers; none by default (peers on one host or LAN need none). */
  iceServers?: IceServer[]
  /** WebSocket constructor for the signaling connection (`ws` in Node). */
  WebSocket?: new (url: string) => unknown
  /**
   * Receives, for every link, a second data channel (negotiated, id
   * `dataChannelId`) created before the connection opens, so that it can be
   * transferred to a worker and carry the replica's frames there with no
   * main-thread hop. Without it (or where a channel cannot be made) frames
   * go through `send` / `onFrame` here.
   */
  channelSink?: (peer: string, channel: RTCDataChannel) => void
  log?: (line: string) => void
}

/** An ICE (STUN/TURN) server, as RTCPeerConnection takes it. */
export interface IceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

/** The id of the negotiated data channel handed to `channelSink`. */
export const dataChannelId = 100

/** Bytes buffered in a channel before sends wait (backpressure). */
export const bufferedBytesHigh = 1024 * 1024
/** Frames waiting per link while the channel is full; the oldest is dropped beyond. */
export const queuedFramesMax = 4096
/** A link not open by then is failed and rebuilt (ICE or signaling can stall). */
export const linkOpenTimeoutMs = 10_000
export const linkRetryDelayMinMs = 200
export const linkRetryDelayMaxMs = 5_000

export interface MeshStats {
  framesSent: number
  framesReceived: number
  messagesDropped: number
  framesMalformed: number
  linkFailures: number
  signalingReconnects: number
}

interface Link {
  peer: string
  sp: SimplePeer
  open: boolean
  queue: string[]
  reassembler: Reassembler
  flushTimer: ReturnType<typeof setTimeout> | null
  openTimer: ReturnType<typeof setTimeout> | null
  /** An offer has been handed to this (answering) link. */
  offered: boolean
}

export class Mesh implements Transport {
  private readonly links = new Map<string, Link>()
  private readonly present = new Set<string>()
  private readonly failures = new Map<string, number>()
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>()
  private readonly handlers = new Set<(from: string, frame: string) => void>()
  private readonly peerListeners = new Set<(peers: string[]) => void>()
  private welcomed: (peers: string[]) => void = () => {}
  /** The room's peers when the signaling server first answered (seed 004: is the room empty?). */
  readonly welcome: Promise<string[]> = new Promise((resolve) => (this.welcomed = resolve))
  private readonly signaling: SignalingClient
  private nextMessageId = 0
  private closed = false
  signalingState: SignalingState = 'connecting'
  lastError: { code: string; message: string } | null = null
  readonly counters: MeshStats = { framesSent: 0, framesReceived: 0, messagesDropped: 0, framesMalformed: 0, linkFailures: 0, signalingReconnects: 0 }

  constructor(private readonly options: MeshOptions) {
    const token = options.token
    this.signaling = new SignalingClient({
      url: options.signalingUrl,
      room: options.room,
      peer: options.peer,
      token: typeof token === 'string' ? () => Promise.resolve(token) : token,
      ...(options.WebSocket !== undefined ? { WebSocket: options.WebSocket as never } : {}),
      onWelcome: (peers) => {
        this.welcomed(peers)
        for (const p of [...this.present]) if (!peers.includes(p)) this.onLeft(p)
        for (const p of peers) this.onJoined(p)
      },
      onJoined: (p) => this.onJoined(p),
      onLeft: (p) => this.onLeft(p),
      onSignal: (from, data) => this.onSignal(from, data),
      onError: (code, message) => {
        this.lastError = { code, message }
        this.log(`signaling error ${code}: ${message}`)
      },
      onState: (state) => {
        this.signalingState = state
      },
    })
  }

  // ------------------------------------------------------------ Transport

  send(to: string, message: string): void {
    const link = this.links.get(to)
    if (link === undefined || !link.open) {
      this.counters.messagesDropped++
      return
    }
    for (const frame of encodeFrames(message, this.nextMessageId++)) link.queue.push(frame)
    while (link.queue.length > queuedFramesMax) {
      link.queue.shift()
      this.counters.messagesDropped++
    }
    this.flush(link)
  }

  onFrame(handler: (from: string, frame: string) => void): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  // ------------------------------------------------------------ views

  /** Peers with an open data channel. */
  connectedPeers(): string[] {
    return [...this.links.values()].filter((l) => l.open).map((l) => l.peer).sort()
  }

  /** Peers the signaling server says are in the room. */
  roomPeers(): string[] {
    return [...this.present].sort()
  }

  onPeers(listener: (connected: string[]) => void): () => void {
    this.peerListeners.add(listener)
    return () => this.peerListeners.delete(listener)
  }

  stats(): MeshStats {
    return { ...this.counters, signalingReconnects: this.signaling.reconnects }
  }

  /** Drop the link to a peer (a test's "cut the peer link"); it is rebuilt with backoff. */
  cutLink(peer: string): void {
    const link = this.links.get(peer)
    if (link !== undefined) this.failLink(link, 'cut')
  }

  close(): void {
    this.closed = true
    this.signaling.close()
    for (const timer of this.retryTimers.values()) clearTimeout(timer)
    for (const link of [...this.links.values()]) this.destroyLink(link)
  }

  // ------------------------------------------------------------ links

  private onJoined(peer: string): void {
    if (peer === this.options.peer) return
    this.present.add(peer)
    // The smaller id offers; the other waits for its offer.
    if (this.options.peer < peer && !this.links.has(peer)) this.createLink(peer, true)
  }

  private onLeft(peer: string): void {
    this.present.delete(peer)
    this.failures.delete(peer)
    const timer = this.retryTimers.get(peer)
    if (timer !== undefined) clearTimeout(timer)
    this.retryTimers.delete(peer)
    const link = this.links.get(peer)
    if (link !== undefined) this.destroyLink(link)
  }

  private onSignal(from: string, data: unknown): void {
    if (this.closed || from === this.options.peer) return
    if (typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'renegotiate') return this.onNudge(from)
    let link = this.links.get(from)
    const isOffer = typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'offer'
    // We never renegotiate (data only), so a second offer on a link means the
    // offering side started over (a reload, a rebuilt link): start over too.
    // Feeding it to the old connection would answer in the wrong signaling
    // state (node-datachannel aborts the process on that).
    if (isOffer && link !== undefined && (link.offered || link.sp.destroyed)) {
      this.destroyLink(link)
      link = undefined
    }
    if (link === undefined) {
      if (this.options.peer < from) return // a stale answer or candidate for an offer we no longer hold
      this.present.add(from)
      link = this.createLink(from, false)
    }
    if (isOffer) link.offered = true
    try {
      link.sp.signal(data as SimplePeer.SignalData)
    } catch (error) {
      this.log(`signal from ${from} refused: ${String(error)}`)
    }
  }

  /**
   * The answering side lost an open link and cannot rebuild it (only the
   * smaller id offers): it says so through the signaling server, and the
   * offering side, which may not have noticed (a closed peer connection is
   * not always signalled to the other end), rebuilds it now. An open link
   * is failed at any age: a nudge cannot be about an earlier link, since the
   * server relays one peer's signals in order and the peer nudges only while
   * it holds no link, so its nudge about an earlier link arrives before its
   * answer for this one, which is then not open yet. (A grace period for
   * young links lost every nudge about a link cut within it, and the link
   * was never rebuilt: the offering side does not learn of the close.)
   */
  private onNudge(from: string): void {
    if (this.options.peer > from) return
    const link = this.links.get(from)
    if (link === undefined) {
      if (!this.retryTimers.has(from) && this.present.has(from)) this.createLink(from, true)
    } else if (link.open) {
      this.failLink(link, 'the peer lost it')
    }
  }

  private createLink(peer: string, initiator: boolean): Link {
    const sp = new SimplePeer({ initiator, trickle: true, objectMode: true, config: { iceServers: this.options.iceServers ?? [] } })
    const link: Link = { peer, sp, open: false, queue: [], reassembler: new Reassembler(), flushTimer: null, openTimer: null, offered: false }
    this.links.set(peer, link)
    if (this.options.channelSink !== undefined) {
      // simple-peer keeps its RTCPeerConnection in _pc; a negotiated channel on
      // it needs no extra signaling and exists before the connection opens.
      const pc = (sp as unknown as { _pc?: RTCPeerConnection })._pc
      try {
        if (pc !== undefined) this.options.channelSink(peer, pc.createDataChannel('concord', { negotiated: true, id: dataChannelId }))
      } catch (error) {
        this.log(`no worker channel to ${peer}: ${String(error)}`)
      }
    }
    sp.on('signal', (data: unknown) => {
      this.signaling.send(peer, data)
    })
    link.openTimer = setTimeout(() => {
      link.openTimer = null
      if (!link.open) this.failLink(link, `not open after ${linkOpenTimeoutMs} ms`)
    }, linkOpenTimeoutMs)
    sp.on('connect', () => {
      if (this.links.get(peer) !== link) return
      if (link.openTimer !== null) clearTimeout(link.openTimer)
      link.openTimer = null
      link.open = true
      this.failures.delete(peer)
      this.log(`link to ${peer} open`)
      this.notifyPeers()
      this.flush(link)
    })
    sp.on('data', (data: unknown) => this.onData(link, data))
    sp.on('close', () => this.failLink(link, 'closed'))
    sp.on('error', (error: Error) => this.failLink(link, error.message))
    return link
  }

  private onData(link: Link, data: unknown): void {
    if (typeof data !== 'string') {
      this.counters.framesMalformed++
      return
    }
    this.counters.framesReceived++
    const result = link.reassembler.push(data)
    if (result.kind === 'dropped') this.counters.framesMalformed++
    if (result.kind !== 'message') return
    for (const handler of this.handlers) handler(link.peer, result.message)
  }

  private flush(link: Link): void {
    if (link.flushTimer !== null || !link.open) return
    try {
      while (link.queue.length > 0 && link.sp.bufferSize < bufferedBytesHigh) {
        link.sp.send(link.queue.shift()!)
        this.counters.framesSent++
      }
    } catch (error) {
      return this.failLink(link, error instanceof Error ? error.message : String(error))
    }
    // Backpressure: try again when the channel has drained a little.
    if (link.queue.length > 0) {
      link.flushTimer = setTimeout(() => {
        link.flushTimer = null
        this.flush(link)
      }, 5)
    }
  }

  private failLink(link: Link, why: string): void {
    if (this.links.get(link.peer) !== link) return
    this.counters.linkFailures++
    this.log(`link to ${link.peer} failed: ${why}`)
    const wasOpen = link.open
    this.destroyLink(link)
    if (this.closed || !this.present.has(link.peer)) return
    if (this.options.peer > link.peer) {
      // The other side offers; it may not know the link is gone.
      if (wasOpen) this.signaling.send(link.peer, { type: 'renegotiate', renegotiate: true })
      return
    }
    // The offering side rebuilds it, with backoff.
    const failures = (this.failures.get(link.peer) ?? 0) + 1
    this.failures.set(link.peer, failures)
    const delay = Math.min(linkRetryDelayMaxMs, linkRetryDelayMinMs * 2 ** (failures - 1))
    this.retryTimers.set(
      link.peer,
      setTimeout(() => {
        this.retryTimers.delete(link.peer)
        if (!this.closed && this.present.has(link.peer) && !this.links.has(link.peer)) this.createLink(link.peer, true)
      }, delay),
    )
  }

  private destroyLink(link: Link): void {
    if (this.links.get(link.peer) === link) this.links.delete(link.peer)
    if (link.flushTimer !== null) clearTimeout(link.flushTimer)
    if (link.openTimer !== null) clearTimeout(link.openTimer)
    const wasOpen = link.open
    link.open = false
    link.queue = []
    try {
      link.sp.destroy()
    } catch {
      // already destroyed
    }
    if (wasOpen) this.notifyPeers()
  }

  private notifyPeers(): void {
    const peers = this.connectedPeers()
    for (const listener of this.peerListeners) listener(peers)
  }

  private log(line: string): void {
    this.options.log?.(`[${this.options.peer}] ${line}`)
  }
}
