import WebSocket from 'ws'

/** A test client: records frames and the close code. */
export class Client {
  readonly frames: Record<string, unknown>[] = []
  closed: number | null = null
  readonly socket: WebSocket
  private waiters: (() => void)[] = []
  constructor(url: string) {
    this.socket = new WebSocket(url)
    this.socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()))
      this.wake()
    })
    this.socket.on('close', (code) => {
      this.closed = code
      this.wake()
    })
    this.socket.on('error', () => {})
  }
  static async open(url: string): Promise<Client> {
    const c = new Client(url)
    await new Promise<void>((resolve, reject) => {
      c.socket.once('open', () => resolve())
      c.socket.once('error', reject)
    })
    return c
  }
  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }
  async until(predicate: () => boolean, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out; frames: ${JSON.stringify(this.frames)}, closed: ${this.closed}`)
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
  }
  async frame(type: string): Promise<Record<string, unknown>> {
    await this.until(() => this.frames.some((f) => f.type === type))
    return this.frames.find((f) => f.type === type)!
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }
}

