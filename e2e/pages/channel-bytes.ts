/**
 * Counts what this page sends on its data channels: every RTCPeerConnection
 * made after this module runs is kept (import it before the WebRTC library,
 * which may keep the constructor it found).
 */
const connections: RTCPeerConnection[] = []
const Native = RTCPeerConnection
globalThis.RTCPeerConnection = class extends Native {
  constructor(config?: RTCConfiguration) {
    super(config)
    connections.push(this)
  }
} as typeof RTCPeerConnection

/** Payload bytes this tab sent on all its data channels. */
export async function dataChannelBytesSent(): Promise<number> {
  let bytes = 0
  for (const pc of connections) {
    const stats = await pc.getStats()
    stats.forEach((s: { type: string; bytesSent?: number }) => {
      if (s.type === 'data-channel') bytes += s.bytesSent ?? 0
    })
  }
  return bytes
}
