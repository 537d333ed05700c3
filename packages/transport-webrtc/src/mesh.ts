import SimplePeer from '@thaunknown/simple-peer/lite.js'
import type { Transport } from '@concord/host'
import { encodeFrames, Reassembler } from './framing.ts'
import { SignalingClient, type SignalingState } from './signaling-client.ts'
import { authFailuresMax, authFramePrefix, fingerprintOf, newNonce, parseAuthFrame, peerProof, sameProof } from './peer-auth.ts'

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
  /**
   * The room key (from the app's server, with the token; never through
   * signaling): when set, a link opens only once its peer has proven it
   * holds the same key, bound to the link's DTLS session (peer-auth.ts).
   */
  roomKey?: string
  /**
   * The app and its machine version (`name@version`): said in the handshake,
   * and a peer that runs another is refused with a clear error (its commands
   * would apply differently). Without it (and without a room key) links open
   * with no handshake.
   */
  app?: string
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
  /** The channels given to channelSink take compressed frames (deflate.ts): said in the hello, so that peers compress what they send on them. */
  deflate?: boolean
  /** The wire version said in the hello (default `wireVersion`): another only to test how a room refuses an older replica. */
  wire?: number
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
/**
 * The form of the frames a replica sends, said in the hello; a peer that
 * sends another form is refused, saying why (as for another app version):
 * two forms cannot share a link. Raise it with any change to what a frame
 * holds. 1: a message's JSON (deflated with a 2 KiB window). 2: command ids
 * a receiver derives left out (core's wire.ts), an 8 KiB window (deflate.ts).
 */
export const wireVersion = 2

/** Bytes buffered in a channel before sends wait (backpressure). */
export const bufferedBytesHigh = 1024 * 1024
/** Frames waiting per link while the channel is full; the oldest is dropped beyond. */
export const queuedFramesMax = 4096
/** A link not open by then is failed and rebuilt (ICE or signaling can stall). */
export const linkOpenTimeoutMs = 10_000
export const linkRetryDelayMinMs = 200
export const linkRetryDelayMaxMs = 5_000
/** Frames kept while a peer's proof is checked (beyond, they are dropped and counted). */
export const earlyFramesMax = 256
/**
 * A link refused in its handshake is closed this long after the refusal, not
 * at once, so that what this side already sent (its own proof) reaches the
 * peer: the peer then checks it and refuses too, and both stop after
 * authFailuresMax. Closed at once, a member whose proof an outsider refused
 * first never counted a refusal of its own and kept offering it links.
 */
export const refusalGraceMs = 250

export interface MeshStats {
  framesSent: number
  framesReceived: number
  messagesDropped: number
  framesMalformed: number
  linkFailures: number
  signalingReconnects: number
  /** Links refused because the peer could not prove it holds the room key. */
  authFailures: number
  /** Frames from a peer not yet authenticated, dropped. */
  framesUnauthenticated: number
  /** Links refused because the peer runs another app or machine version. */
  versionMismatches: number
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
  /** The handshake (with a room key): our nonce, and whether the peer's nonce was answered. */
  nonce: string | null
  answered: boolean
  /** Data that arrived while the peer's proof was being checked (it sends data once it has checked ours). */
  early: string[]
  /** The handshake with a room key: our proof has been sent; the peer's checked out. The link opens when both hold. */
  proofSent: boolean
  peerProven: boolean
  /** The peer's hello said its worker channel takes compressed frames. */
  peerDeflate: boolean
}

export class Mesh implements Transport {
  private readonly links = new Map<string, Link>()
  private readonly present = new Set<string>()
  private readonly failures = new Map<string, number>()
  /** Peers refused in a row for lacking the room key (not tried again past authFailuresMax). */
  private readonly refusals = new Map<string, number>()
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
  /** The last error; `refused` when a peer was refused (lacking the room key, or of another app or wire version). */
  lastError: { code: string; message: string; refused?: true } | null = null
  readonly counters: MeshStats = { framesSent: 0, framesReceived: 0, messagesDropped: 0, framesMalformed: 0, linkFailures: 0, signalingReconnects: 0, authFailures: 0, framesUnauthenticated: 0, versionMismatches: 0 }

  private get wire(): number {
    return this.options.wire ?? wireVersion
  }

  constructor(private readonly options: MeshOptions) {
    if (options.roomKey !== undefined && globalThis.crypto?.subtle === undefined) {
      throw new Error('peer authentication (roomKey) needs WebCrypto, which browsers give only to secure origins: serve the app over https or from localhost')
    }
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
  /** The connected peers whose worker channel takes compressed frames (their hello said so). */
  deflatePeers(): string[] {
    return [...this.links.values()].filter((link) => link.open && link.peerDeflate).map((link) => link.peer)
  }

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
    if (this.options.peer < peer && !this.links.has(peer) && !this.refused(peer)) this.createLink(peer, true)
  }

  private onLeft(peer: string): void {
    this.present.delete(peer)
    this.failures.delete(peer)
    this.refusals.delete(peer)
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
      if (this.refused(from)) return
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
      // Not a peer refused authFailuresMax times: it nudges after each refusal in its handshake too.
      if (!this.retryTimers.has(from) && this.present.has(from) && !this.refused(from)) this.createLink(from, true)
    } else if (link.open) {
      this.failLink(link, 'the peer lost it')
    }
  }

  private createLink(peer: string, initiator: boolean): Link {
    const sp = new SimplePeer({ initiator, trickle: true, objectMode: true, config: { iceServers: this.options.iceServers ?? [] } })
    const link: Link = { peer, sp, open: false, queue: [], reassembler: new Reassembler(), flushTimer: null, openTimer: null, offered: false, nonce: null, answered: false, early: [], proofSent: false, peerProven: false, peerDeflate: false }
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
      if (!this.handshakes) return this.openLink(link)
      this.startAuth(link)
    })
    sp.on('data', (data: unknown) => this.onData(link, data))
    sp.on('close', () => this.failLink(link, 'closed'))
    sp.on('error', (error: Error) => this.failLink(link, error.message))
    return link
  }

  private openLink(link: Link): void {
    if (link.openTimer !== null) clearTimeout(link.openTimer)
    link.openTimer = null
    link.open = true
    this.failures.delete(link.peer)
    this.refusals.delete(link.peer)
    this.log(`link to ${link.peer} open${this.options.roomKey !== undefined ? ' (peer authenticated)' : ''}`)
    this.notifyPeers()
    this.flush(link)
    for (const frame of link.early.splice(0)) this.onData(link, frame)
  }

  private refused(peer: string): boolean {
    return (this.refusals.get(peer) ?? 0) >= authFailuresMax
  }

  private sendRaw(link: Link, frame: string): void {
    try {
      link.sp.send(frame)
    } catch (error) {
      this.failLink(link, error instanceof Error ? error.message : String(error))
    }
  }

  /** The handshake: our nonce; the link opens when the peer has answered it (onAuth). */
  private startAuth(link: Link): void {
    if (link.nonce !== null) return
    link.nonce = newNonce()
    this.sendRaw(link, `${authFramePrefix}${JSON.stringify({ nonce: link.nonce, ...(this.options.app !== undefined ? { app: this.options.app } : {}), ...(this.options.deflate === true ? { deflate: 1 } : {}), ...(this.wire === 1 ? {} : { wire: this.wire }) })}`)
  }

  /** The peer-authentication handshake (peer-auth.ts), before the link opens. */
  private async onAuth(link: Link, frame: string): Promise<void> {
    const roomKey = this.options.roomKey
    const parsed = parseAuthFrame(frame)
    if (parsed === null) {
      this.counters.framesMalformed++
      return
    }
    // The peer's channel opened first: its nonce can arrive before our 'connect'. The channel is open, so start ours now.
    this.startAuth(link)
    if (link.nonce === null) return
    const pc = (link.sp as unknown as { _pc?: RTCPeerConnection })._pc
    const local = fingerprintOf(pc?.localDescription?.sdp)
    const remote = fingerprintOf(pc?.remoteDescription?.sdp)
    if (roomKey !== undefined && (local === null || remote === null)) {
      this.counters.authFailures++
      return this.refuse(link, 'peer-auth-failed', `the session with ${link.peer} announces several DTLS fingerprints: refused`)
    }
    const me = this.options.peer
    if ('nonce' in parsed) {
      if (link.answered) return
      link.answered = true
      link.peerDeflate = parsed.deflate === true
      if (parsed.wire !== this.wire) {
        this.counters.versionMismatches++
        return this.refuse(link, 'wire-version-mismatch', `peer ${link.peer} sends frames of Concord's wire version ${parsed.wire}, this replica ${this.wire}: refused (reload the older tab to upgrade)`)
      }
      if (this.options.app !== undefined && parsed.app !== this.options.app) {
        this.counters.versionMismatches++
        return this.refuse(link, 'app-version-mismatch', `peer ${link.peer} runs ${parsed.app ?? 'an unnamed app'}, this replica ${this.options.app}: refused (reload the older tab to upgrade)`)
      }
      if (roomKey === undefined) return this.openLink(link) // no key to prove: the hello was all
      const proof = await peerProof(roomKey, { room: this.options.room, prover: me, verifier: link.peer, verifierNonce: parsed.nonce, proverFingerprint: local!, verifierFingerprint: remote! })
      if (this.links.get(link.peer) !== link) return
      // What the proof binds, in short: a refusal on the other side is read against it.
      this.log(`proof to ${link.peer}: its nonce ${parsed.nonce.slice(0, 8)}, fingerprints ${shortFingerprint(local!)} (ours) ${shortFingerprint(remote!)} (its)`)
      this.sendRaw(link, `${authFramePrefix}${JSON.stringify({ proof })}`)
      link.proofSent = true
      // Open only once our proof is on its way: frames sent before it would
      // reach a peer that does not trust us yet (held, up to earlyFramesMax).
      if (link.peerProven && !link.open) this.openLink(link)
      return
    }
    if (roomKey === undefined) return // a proof nobody asked for
    const expected = await peerProof(roomKey, { room: this.options.room, prover: link.peer, verifier: me, verifierNonce: link.nonce, proverFingerprint: remote!, verifierFingerprint: local! })
    if (this.links.get(link.peer) !== link || link.open) return
    if (sameProof(parsed.proof, expected)) {
      link.peerProven = true
      if (link.proofSent) this.openLink(link)
      return
    }
    this.counters.authFailures++
    // Why a genuine peer's proof may fail (a relink race, seen once in CI) is read from what each side bound.
    this.log(`proof from ${link.peer} does not match: our nonce ${link.nonce.slice(0, 8)}, fingerprints ${shortFingerprint(remote!)} (its) ${shortFingerprint(local!)} (ours)`)
    this.refuse(link, 'peer-auth-failed', `peer ${link.peer} could not prove it holds this room's key: refused (its token got it past the signaling server, which may be compromised)`)
  }

  private refuse(link: Link, code: string, message: string): void {
    this.refusals.set(link.peer, (this.refusals.get(link.peer) ?? 0) + 1)
    this.lastError = { code, message, refused: true }
    this.failLink(link, message, refusalGraceMs)
  }

  /** Whether links open only after a handshake (a room key to prove, or an app version to compare). */
  private get handshakes(): boolean {
    return this.options.roomKey !== undefined || this.options.app !== undefined
  }

  private onData(link: Link, data: unknown): void {
    if (typeof data !== 'string') {
      this.counters.framesMalformed++
      return
    }
    if (!link.open) {
      if (this.handshakes && data.startsWith(authFramePrefix)) {
        this.onAuth(link, data).catch((error: unknown) => this.failLink(link, `handshake: ${error instanceof Error ? error.message : String(error)}`))
      }
      else if (link.nonce !== null && link.early.length < earlyFramesMax) link.early.push(data)
      else this.counters.framesUnauthenticated++
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

  private failLink(link: Link, why: string, closeAfterMs = 0): void {
    link.early = []
    if (this.links.get(link.peer) !== link) return
    this.counters.linkFailures++
    this.log(`link to ${link.peer} failed: ${why}`)
    const wasOpen = link.open
    this.destroyLink(link, closeAfterMs)
    if (this.closed || !this.present.has(link.peer)) return
    if (this.refused(link.peer)) return this.log(`not trying ${link.peer} again: refused ${authFailuresMax} times`)
    if (this.options.peer > link.peer) {
      // The other side offers; it may not know the link is gone: one that
      // was open, or one in the handshake, which the peer may have opened
      // (it accepted our proof while we refused its own: CI once saw the
      // offering side keep such a link open for good, not told of the close).
      if (wasOpen || link.nonce !== null) this.signaling.send(link.peer, { type: 'renegotiate', renegotiate: true })
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

  /** Forget the link now; its connection closes after `closeAfterMs` (0: now). Out of `links`, nothing it receives meanwhile is used. */
  private destroyLink(link: Link, closeAfterMs = 0): void {
    if (this.links.get(link.peer) === link) this.links.delete(link.peer)
    if (link.flushTimer !== null) clearTimeout(link.flushTimer)
    if (link.openTimer !== null) clearTimeout(link.openTimer)
    const wasOpen = link.open
    link.open = false
    link.queue = []
    const close = () => {
      try {
        link.sp.destroy()
      } catch {
        // already destroyed
      }
    }
    if (closeAfterMs > 0) {
      // Only what is already on its way goes on: no new signals, no data in.
      link.sp.removeAllListeners('signal')
      link.sp.removeAllListeners('data')
      setTimeout(close, closeAfterMs)
    } else close()
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

/** The first hex digits of a DTLS fingerprint, enough to tell two connections' certificates apart in a log. */
function shortFingerprint(fingerprint: string): string {
  return fingerprint === '' ? '(none)' : fingerprint.replace(/^\S+ /, '').replaceAll(':', '').slice(0, 8)
}
