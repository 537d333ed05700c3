/** The part of pako 2.1 (zlib in JS) that deflate.ts uses. */
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
  }
  export default pako
}
