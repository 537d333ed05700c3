/**
 * The client side of the signaling protocol (signaling/src/protocol.ts): one
 * WebSocket, a hello with the room token, then presence and relayed signals.
 * It reconnects with jittered exponential backoff after a drop, asking for a
 * fresh token each time, and stops on errors that retrying cannot fix (a bad
 * or mismatched token, a full room).
 */
export interface SignalingClientOptions {
  url: string
  room: string
  peer: string
  token: () => Promise<string>
  /** The WebSocket constructor (the browser's; `ws` in Node). */
  WebSocket?: WebSocketConstructor
  onWelcome(peers: string[]): void
  onJoined(peer: string): void
  onLeft(peer: string): void
  onSignal(from: string, data: unknown): void
  onError(code: string, message: string, fatal: boolean): void
  onState?(state: SignalingState): void
}

export type SignalingState = 'connecting' | 'open' | 'closed' | 'stopped'

type WebSocketConstructor = new (url: string) => WebSocketLike
interface WebSocketLike {
  readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number; reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

export const reconnectDelayMinMs = 250
export const reconnectDelayMaxMs = 10_000
/** Errors after which reconnecting cannot help: the client stops. */
const fatalCodes = new Set(['bad-signature', 'token-mismatch', 'malformed-token', 'room-full', 'replaced'])

export class SignalingClient {
  private socket: WebSocketLike | null = null
  private attempt = 0
  private stopped = false
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  reconnects = 0

  constructor(private readonly options: SignalingClientOptions) {
    void this.connect()
  }

  send(to: string, data: unknown): boolean {
    if (this.socket === null || this.socket.readyState !== 1) return false
    this.socket.send(JSON.stringify({ type: 'signal', to, data }))
    return true
  }

  close(): void {
    this.stopped = true
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    this.socket?.close(1000, 'closed by the client')
    this.socket = null
    this.options.onState?.('stopped')
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    this.options.onState?.('connecting')
    let token: string
    try {
      token = await this.options.token()
    } catch (error) {
      this.options.onError('token-unavailable', error instanceof Error ? error.message : String(error), false)
      return this.retry()
    }
    if (this.stopped) return
    const Impl = this.options.WebSocket ?? (globalThis as unknown as { WebSocket: WebSocketConstructor }).WebSocket
    const socket = new Impl(this.options.url)
    this.socket = socket
    let fatal = false
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'hello', room: this.options.room, peer: this.options.peer, token }))
    }
    socket.onmessage = (event) => {
      let frame: { type?: string; [key: string]: unknown }
      try {
        frame = JSON.parse(String(event.data))
      } catch {
        return
      }
      switch (frame.type) {
        case 'welcome':
          this.attempt = 0
          this.options.onState?.('open')
          this.options.onWelcome(Array.isArray(frame.peers) ? frame.peers.filter((p): p is string => typeof p === 'string') : [])
          break
        case 'peer-joined':
          if (typeof frame.peer === 'string') this.options.onJoined(frame.peer)
          break
        case 'peer-left':
          if (typeof frame.peer === 'string') this.options.onLeft(frame.peer)
          break
        case 'signal':
          if (typeof frame.from === 'string') this.options.onSignal(frame.from, frame.data)
          break
        case 'error': {
          const code = String(frame.code)
          fatal = fatalCodes.has(code)
          this.options.onError(code, String(frame.message), fatal)
          break
        }
      }
    }
    socket.onerror = () => {}
    socket.onclose = () => {
      if (this.socket !== socket) return
      this.socket = null
      this.options.onState?.('closed')
      if (fatal) {
        this.stopped = true
        this.options.onState?.('stopped')
        return
      }
      this.retry()
    }
  }

  private retry(): void {
    if (this.stopped) return
    const base = Math.min(reconnectDelayMaxMs, reconnectDelayMinMs * 2 ** this.attempt++)
    const delay = base / 2 + Math.random() * (base / 2)
    this.reconnects++
    this.retryTimer = setTimeout(() => void this.connect(), delay)
  }
}
