import type { ReplicaId } from '@concord/core'
import type { Transport } from '@concord/host'

/**
 * The worker's side of the frame bridge. RTCPeerConnection is not available
 * in workers, so the mesh lives on the main thread and frames cross a
 * MessagePort: { from, frame } inbound, { to, frame } outbound.
 */
export interface InboundFrame {
  from: ReplicaId
  frame: string
}
export interface OutboundFrame {
  to: ReplicaId
  frame: string
}

export function portTransport(port: MessagePort): Transport {
  let handler: ((from: ReplicaId, frame: string) => void) | null = null
  port.onmessage = (event: MessageEvent<InboundFrame>) => {
    const data = event.data
    if (typeof data?.from === 'string' && typeof data.frame === 'string') handler?.(data.from, data.frame)
  }
  port.start()
  return {
    send: (to, frame) => port.postMessage({ to, frame } satisfies OutboundFrame),
    onFrame: (h) => {
      handler = h
      return () => {
        handler = null
      }
    },
  }
}
