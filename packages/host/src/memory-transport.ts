import type { ReplicaId } from '@concord/core'
import type { Transport } from './ports.ts'

/**
 * An in-process network of transports (tests of hosts, no WebRTC): frames are
 * delivered asynchronously, in order per link, and links can be cut.
 */
export class MemoryNetwork {
  private readonly handlers = new Map<ReplicaId, (from: ReplicaId, frame: string) => void>()
  private readonly cut = new Set<string>()
  framesSent = 0

  transport(id: ReplicaId): Transport {
    return {
      send: (to, frame) => {
        this.framesSent++
        if (this.cut.has(`${id}>${to}`)) return
        setTimeout(() => this.handlers.get(to)?.(id, frame), 0)
      },
      onFrame: (handler) => {
        this.handlers.set(id, handler)
        return () => this.handlers.delete(id)
      },
    }
  }

  /** Cut (or restore) the links between a and b, both ways. */
  setLink(a: ReplicaId, b: ReplicaId, up: boolean): void {
    for (const key of [`${a}>${b}`, `${b}>${a}`]) {
      if (up) this.cut.delete(key)
      else this.cut.add(key)
    }
  }
}
