// Types for the parts of @thaunknown/simple-peer this package uses (it ships none).
declare module '@thaunknown/simple-peer/lite.js' {
  namespace SimplePeer {
    type SignalData = Record<string, unknown>
    interface Options {
      initiator?: boolean
      trickle?: boolean
      objectMode?: boolean
      config?: { iceServers?: { urls: string | string[]; username?: string; credential?: string }[] }
    }
  }
  class SimplePeer {
    constructor(options?: SimplePeer.Options)
    readonly destroyed: boolean
    readonly bufferSize: number
    signal(data: SimplePeer.SignalData): void
    send(data: string): void
    destroy(error?: Error): void
    on(event: 'signal', listener: (data: unknown) => void): this
    on(event: 'connect' | 'close', listener: () => void): this
    on(event: 'data', listener: (data: unknown) => void): this
    on(event: 'error', listener: (error: Error) => void): this
    removeAllListeners(event: 'signal' | 'data'): this
  }
  export default SimplePeer
}
