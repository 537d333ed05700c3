import { RTCIceCandidate, RTCPeerConnection, RTCSessionDescription } from 'webrtc-polyfill'

/**
 * One WebRTC connection with one data channel, as the mesh uses it: the
 * part of simple-peer (@thaunknown/simple-peer/lite.js, which this replaces)
 * that a data-only, trickle-ICE, object-mode peer runs, with the same
 * signals on the wire and the same events. simple-peer brought a stream
 * library, an event emitter, a debug logger and buffer helpers with it:
 * about 18 KB of the 31 KB (gzip) the main thread downloaded.
 *
 * Kept as simple-peer did it, because the mesh (and the signaling server's
 * schema) rely on it:
 * - signals are `{ type: 'offer' | 'answer', sdp }`, `{ type: 'candidate',
 *   candidate: { candidate, sdpMLineIndex, sdpMid } }`, and from the
 *   answering side `{ type: 'renegotiate', renegotiate: true }`;
 * - the offering side creates the data channel (a random label) and
 *   negotiates in a later task, so that channels the caller adds to `pc`
 *   right after construction are in the first offer;
 * - candidates that arrive before the remote description wait for it;
 * - `onConnect` once ICE is connected and the channel is open;
 * - a failure (ICE or connection failed or closed, a description refused, a
 *   channel error) tears the connection down a task later and reports
 *   `onError`; a channel that just closes tears it down silently (simple-peer
 *   emitted nothing then either: the mesh learns of it from signaling or the
 *   peer's nudge); `onClose` follows only `destroy()`;
 * - after a teardown has begun, `signal` and `send` do nothing; after
 *   `destroy()` has finished they throw.
 * Dropped: media, non-trickle ICE, streams, and the wait for getStats to
 * name the selected candidate pair before 'connect' (a workaround for an
 * old Node binding; the mesh reads nothing from it).
 */
export interface PeerOptions {
  initiator: boolean
  iceServers: RTCIceServer[]
  onSignal(data: Record<string, unknown>): void
  onConnect(): void
  onData(data: unknown): void
  onError(error: Error): void
  onClose(): void
}

/** Chrome can leave a channel in 'closing' for good (crbug 882743): checked this often, as simple-peer did. */
const closingCheckMs = 5_000

export class Peer {
  /**
   * Null if the browser refused to make one (too many open, say): the peer
   * has then failed and says so. Null only once `destroying`, which every
   * method checks first: past that check it is set.
   */
  readonly pc: RTCPeerConnection | null
  private channel: RTCDataChannel | null = null
  private pendingCandidates: RTCIceCandidateInit[] = []
  private pcReady = false
  private channelReady = false
  private connected = false
  private negotiating = false
  private negotiationQueued = false
  private negotiationBatched = false
  private firstNegotiation = true
  private closingTimer: ReturnType<typeof setInterval> | null = null
  /** A teardown has begun (simple-peer's `_destroying`). */
  private destroying = false
  /** `destroy()` has finished (simple-peer's stream `destroyed`). */
  destroyed = false

  constructor(private readonly options: PeerOptions) {
    let pc: RTCPeerConnection
    try {
      pc = new RTCPeerConnection({ iceServers: options.iceServers })
    } catch (error) {
      this.pc = null
      this.destroying = true
      setTimeout(() => options.onError(asError(error)), 0)
      return
    }
    this.pc = pc
    pc.oniceconnectionstatechange = () => this.onIceStateChange()
    pc.onicegatheringstatechange = () => this.onIceStateChange()
    pc.onconnectionstatechange = () => {
      if (!this.destroying && pc.connectionState === 'failed') this.fail(new Error('Connection failed.'))
    }
    pc.onsignalingstatechange = () => this.onSignalingStateChange()
    pc.onicecandidate = (event) => this.onIceCandidate(event)
    if (options.initiator) this.setupChannel(pc.createDataChannel(randomHex(20)))
    else pc.ondatachannel = (event) => this.setupChannel(event.channel)
    this.needsNegotiation()
  }

  get bufferSize(): number {
    return this.channel?.bufferedAmount ?? 0
  }

  signal(data: Record<string, unknown>): void {
    if (this.destroying) return
    if (this.destroyed) throw new Error('cannot signal after peer is destroyed')
    const pc = this.pc!
    if (data.renegotiate && this.options.initiator) this.needsNegotiation()
    // simple-peer's lite build had no media either: it failed here too (the caller logs it).
    if (data.transceiverRequest && this.options.initiator) throw new Error('a data-only peer adds no transceiver')
    if (isCandidate(data.candidate)) {
      if (pc.remoteDescription?.type) this.addIceCandidate(data.candidate)
      else this.pendingCandidates.push(data.candidate)
    }
    if (data.sdp) {
      pc.setRemoteDescription(new RTCSessionDescription(data as unknown as RTCSessionDescriptionInit))
        .then(() => {
          if (this.destroying) return
          for (const candidate of this.pendingCandidates.splice(0)) this.addIceCandidate(candidate)
          if (pc.remoteDescription?.type === 'offer') this.createAnswer()
        })
        .catch((error: unknown) => this.fail(asError(error)))
    }
    if (!data.sdp && !data.candidate && !data.renegotiate && !data.transceiverRequest) this.fail(new Error('signal() called with invalid signal data'))
  }

  send(data: string): void {
    if (this.destroying) return
    if (this.destroyed) throw new Error('cannot send after peer is destroyed')
    if (this.channel === null) throw new Error('no data channel yet')
    this.channel.send(data)
  }

  /** Closes the connection; `onClose` follows. */
  destroy(): void {
    this.teardown(() => {
      this.destroyed = true
      this.options.onClose()
    })
  }

  /** A teardown the caller did not ask for: reported only with an error (see above). */
  private fail(error?: Error): void {
    this.teardown(() => {
      if (error !== undefined) this.options.onError(error)
    })
  }

  /**
   * Closes the channel and the connection a task later, as simple-peer did,
   * so that events concurrent with the decision still run (a frame just
   * sent is not cut off by the close: a peer refusing another's version
   * sends its hello, then closes, and the other must still read it). Then
   * `done`. Nothing if a teardown has begun.
   */
  private teardown(done: () => void): void {
    if (this.destroying) return
    this.destroying = true
    setTimeout(() => {
      this.connected = false
      if (this.closingTimer !== null) clearInterval(this.closingTimer)
      const channel = this.channel
      if (channel !== null) {
        try {
          channel.close()
        } catch {
          // already closed
        }
        channel.onmessage = channel.onopen = channel.onclose = channel.onerror = null
      }
      this.channel = null
      const pc = this.pc
      if (pc !== null) {
        try {
          pc.close()
        } catch {
          // already closed
        }
        pc.oniceconnectionstatechange = pc.onicegatheringstatechange = pc.onsignalingstatechange = pc.onconnectionstatechange = null
        pc.onicecandidate = null
        pc.ondatachannel = null
      }
      done()
    }, 0)
  }

  private setupChannel(channel: RTCDataChannel): void {
    this.channel = channel
    channel.binaryType = 'arraybuffer'
    // Frames still arrive in the task before a teardown closes the channel, as with simple-peer.
    channel.onmessage = (event: MessageEvent) => {
      this.options.onData(event.data instanceof ArrayBuffer ? new Uint8Array(event.data) : event.data)
    }
    channel.onopen = () => {
      if (this.connected || this.destroying) return
      this.channelReady = true
      this.maybeReady()
    }
    channel.onclose = () => this.fail()
    channel.onerror = (event: Event) => {
      const error = (event as RTCErrorEvent).error
      this.fail(error instanceof Error ? error : new Error(`Datachannel error: ${String((event as { message?: unknown }).message)}`))
    }
    let closing = false
    this.closingTimer = setInterval(() => {
      if (this.channel !== null && this.channel.readyState === 'closing') {
        if (closing) this.fail()
        closing = true
      } else {
        closing = false
      }
    }, closingCheckMs)
    // Node (the edge): this check alone must not keep the process alive.
    ;(this.closingTimer as { unref?: () => void }).unref?.()
  }

  private needsNegotiation(): void {
    if (this.negotiationBatched) return
    this.negotiationBatched = true
    queueMicrotask(() => {
      this.negotiationBatched = false
      if (this.options.initiator || !this.firstNegotiation) this.negotiate()
      this.firstNegotiation = false
    })
  }

  private negotiate(): void {
    if (this.destroying) return
    if (this.negotiating) {
      this.negotiationQueued = true
    } else if (this.options.initiator) {
      // In a later task, as simple-peer did (Chrome once crashed on an immediate createOffer).
      setTimeout(() => this.createOffer(), 0)
    } else {
      this.options.onSignal({ type: 'renegotiate', renegotiate: true })
    }
    this.negotiating = true
  }

  private createOffer(): void {
    const pc = this.pc
    if (this.destroying || pc === null) return
    pc.createOffer()
      .then((offer) => pc.setLocalDescription(offer).then(() => this.sendDescription(offer)))
      .catch((error: unknown) => this.fail(asError(error)))
  }

  private createAnswer(): void {
    const pc = this.pc
    if (this.destroying || pc === null) return
    pc.createAnswer()
      .then((answer) => pc.setLocalDescription(answer).then(() => this.sendDescription(answer)))
      .catch((error: unknown) => this.fail(asError(error)))
  }

  private sendDescription(fallback: RTCSessionDescriptionInit): void {
    if (this.destroying) return
    const description = this.pc?.localDescription ?? fallback
    this.options.onSignal({ type: description.type, sdp: description.sdp })
  }

  private onIceStateChange(): void {
    if (this.destroying) return
    const state = this.pc!.iceConnectionState
    if (state === 'connected' || state === 'completed') {
      this.pcReady = true
      this.maybeReady()
    }
    if (state === 'failed') this.fail(new Error('Ice connection failed.'))
    if (state === 'closed') this.fail(new Error('Ice connection closed.'))
  }

  private onSignalingStateChange(): void {
    if (this.destroying || this.pc!.signalingState !== 'stable') return
    this.negotiating = false
    if (this.negotiationQueued) {
      this.negotiationQueued = false
      this.needsNegotiation()
    }
  }

  private onIceCandidate(event: RTCPeerConnectionIceEvent): void {
    if (event.candidate === null) return
    const { candidate, sdpMLineIndex, sdpMid } = event.candidate
    this.options.onSignal({ type: 'candidate', candidate: { candidate, sdpMLineIndex, sdpMid } })
  }

  private addIceCandidate(candidate: RTCIceCandidateInit): void {
    const ice = new RTCIceCandidate(candidate)
    this.pc!.addIceCandidate(ice).catch((error: unknown) => {
      // mDNS (.local) candidates some stacks cannot resolve: ignored, as simple-peer did.
      if (!ice.address || ice.address.endsWith('.local')) console.warn('Ignoring unsupported ICE candidate.')
      else this.fail(asError(error))
    })
  }

  private maybeReady(): void {
    if (this.connected || !this.pcReady || !this.channelReady) return
    this.connected = true
    this.options.onConnect()
  }
}

function isCandidate(value: unknown): value is RTCIceCandidateInit {
  return typeof value === 'object' && value !== null
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('')
}
