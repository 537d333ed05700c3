import type { ReplicaId } from '@concord/core'
import type { Transport } from '@concord/host'
import { FrameDeflater, FrameInflater } from '@concord/transport-webrtc/deflate'
import { encodeFrames, Reassembler } from '@concord/transport-webrtc/framing'

/**
 * The worker's transport. RTCPeerConnection does not exist in workers, so
 * the mesh lives on the main thread; for each peer it hands over a data
 * channel transferred here before it opens (`{ attach, channel }` on the
 * port), and frames then go straight between workers. Until a peer's
 * channel is open — or where channels cannot be transferred — frames cross
 * the MessagePort and the main thread relays them: { from, frame } inbound,
 * { to, frame } outbound.
 */
export interface InboundFrame {
  from: ReplicaId
  frame: string
}
export interface OutboundFrame {
  to: ReplicaId
  frame: string
}
export interface AttachChannel {
  attach: ReplicaId
  channel: RTCDataChannel
  /** The channel carries nothing until the main thread says its peer passed the link's handshake (OpenPeers). */
  gated?: boolean
}
/** The peers whose links are open (past the handshake), from the main thread's mesh. */
export interface OpenPeers {
  open: ReplicaId[]
  /** Of those, the ones whose worker takes compressed frames on its channel (deflate.ts; their hello said so). */
  deflate?: ReplicaId[]
}

/** Bytes buffered in a channel before sends wait. */
export const channelBufferedBytesHigh = 1024 * 1024
/** Frames waiting per channel while it is full; the oldest is dropped beyond. */
export const channelQueueMax = 4096
/** Frames held from a gated channel until its peer is authenticated; beyond, dropped (the protocol resends). */
export const gatedFramesMax = 256

interface Channel {
  channel: RTCDataChannel
  /** Not yet authenticated: inbound frames wait in `held`, outbound go through the main thread (which drops them). */
  gated: boolean
  held: (string | ArrayBuffer)[]
  reassembler: Reassembler
  queue: string[]
  timer: ReturnType<typeof setTimeout> | null
  /** Frames go out compressed once the peer is known to take them; one stream per channel, never turned off. */
  deflater: FrameDeflater | null
  /** Compressed frames in (binary messages); plain ones stay strings. */
  inflater: FrameInflater | null
}

export function portTransport(port: MessagePort): Transport & { channels(): ReplicaId[] } {
  let handler: ((from: ReplicaId, frame: string) => void) | null = null
  const channels = new Map<ReplicaId, Channel>()
  let nextId = 0
  let open = new Set<ReplicaId>()
  const receive = (peer: ReplicaId, c: Channel, data: string | ArrayBuffer) => {
    let frame: string | null = typeof data === 'string' ? data : null
    if (frame === null) {
      frame = (c.inflater ??= new FrameInflater()).inflate(new Uint8Array(data as ArrayBuffer))
      // A stream that does not inflate cannot be trusted for any later frame:
      // the channel goes, and frames to this peer take the main thread's link.
      if (frame === null) return c.channel.close()
    }
    const result = c.reassembler.push(frame)
    if (result.kind === 'message') handler?.(peer, result.message)
  }

  const flush = (c: Channel) => {
    if (c.timer !== null || c.channel.readyState !== 'open') return
    while (c.queue.length > 0 && c.channel.bufferedAmount < channelBufferedBytesHigh) {
      // Compressed as it leaves, not as it is queued: a frame dropped from a full queue was never in the stream.
      const frame = c.queue.shift()!
      if (c.deflater !== null) c.channel.send(c.deflater.deflate(frame))
      else c.channel.send(frame)
    }
    if (c.queue.length > 0) {
      c.timer = setTimeout(() => {
        c.timer = null
        flush(c)
      }, 5)
    }
  }

  const attach = (peer: ReplicaId, channel: RTCDataChannel, gated: boolean) => {
    const c: Channel = { channel, gated: gated && !open.has(peer), held: [], reassembler: new Reassembler(), queue: [], timer: null, deflater: null, inflater: null }
    channels.set(peer, c)
    channel.binaryType = 'arraybuffer'
    channel.onmessage = (event: MessageEvent) => {
      const data: unknown = event.data
      if (typeof data !== 'string' && !(data instanceof ArrayBuffer)) return
      if (!c.gated) return receive(peer, c, data)
      if (c.held.length < gatedFramesMax) c.held.push(data)
      // A compressed frame dropped would break the stream after it.
      else if (typeof data !== 'string') c.channel.close()
    }
    channel.onopen = () => flush(c)
    channel.onclose = () => {
      if (channels.get(peer) === c) channels.delete(peer)
    }
  }

  port.onmessage = (event: MessageEvent<InboundFrame | AttachChannel | OpenPeers>) => {
    const data = event.data
    if ('attach' in data && typeof data.attach === 'string' && data.channel !== undefined) return attach(data.attach, data.channel, data.gated === true)
    if ('open' in data && Array.isArray(data.open)) {
      open = new Set(data.open)
      const deflate = new Set(Array.isArray(data.deflate) ? data.deflate : [])
      for (const [peer, c] of channels) {
        if (c.deflater === null && deflate.has(peer) && open.has(peer)) c.deflater = new FrameDeflater()
        if (!c.gated || !open.has(peer)) continue
        c.gated = false
        for (const frame of c.held.splice(0)) receive(peer, c, frame)
        flush(c)
      }
      return
    }
    if ('from' in data && typeof data.from === 'string' && typeof data.frame === 'string') handler?.(data.from, data.frame)
  }
  port.start()
  return {
    send: (to, frame) => {
      const c = channels.get(to)
      if (c === undefined || c.gated || c.channel.readyState !== 'open') {
        port.postMessage({ to, frame } satisfies OutboundFrame)
        return
      }
      for (const f of encodeFrames(frame, nextId++)) c.queue.push(f)
      while (c.queue.length > channelQueueMax) c.queue.shift()
      flush(c)
    },
    onFrame: (h) => {
      handler = h
      return () => {
        handler = null
      }
    },
    channels: () => [...channels.entries()].filter(([, c]) => !c.gated && c.channel.readyState === 'open').map(([peer]) => peer),
  }
}
