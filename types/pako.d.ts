/** The part of pako 2.1 (zlib in JS) that Concord uses: streams (transport-webrtc's per-link frames) and one-shot raw deflate (storage-idb's values at rest). */
declare module 'pako' {
  interface StreamOptions {
    level?: number
    raw?: boolean
    windowBits?: number
    memLevel?: number
  }
  class Stream {
    constructor(options?: StreamOptions)
    push(data: Uint8Array, flushMode: number): boolean
    onData: (chunk: Uint8Array) => void
    err: number
    msg: string
  }
  const pako: {
    Deflate: typeof Stream
    Inflate: typeof Stream
    constants: { Z_SYNC_FLUSH: number }
    deflateRaw(data: Uint8Array, options?: StreamOptions): Uint8Array
    inflateRaw(data: Uint8Array, options: { to: 'string' }): string
  }
  export default pako
}
