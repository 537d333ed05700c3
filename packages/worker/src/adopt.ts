import type { ReplicaId } from '@concord/core'
import { ReplicaHost, type Transport } from '@concord/host'
import type { Functions, MachineDefinition } from '@concord/machine'
import { databaseName, IdbStorage } from '@concord/storage-idb'
import { identityLockName, tryLock } from './identity.ts'

/**
 * Adopting the replica of a tab that died (seed 004's two-tab case, ours).
 *
 * A room of two tabs whose crown prince crashes cannot go on: the survivor
 * is exactly half without the crown prince, and removing the dead member
 * needs a quorum it does not have. Tabs of one browser profile share two
 * things that settle it: the dead tab's IndexedDB database (its promises,
 * votes and log: everything Paxos needs of that replica) and the Web Lock
 * that its tab held while the replica ran. A tab that can take that lock
 * knows the replica runs nowhere (the lock is the shared quorum device: it
 * is held by at most one holder at a time), so it may run the replica from
 * its own stable storage, exactly as a restart of that tab would; the
 * adopted replica then leaves the room gracefully and is closed. Its vote
 * is the one the survivor lacked.
 *
 * A member is adopted only if it has been silent (no open link) for
 * adoptSilentMs, its database exists on this origin (it ran in this profile;
 * a member in another browser has none here and is never adopted) and its
 * lock is free. The adopted replica talks only to the replicas of this
 * worker: peers refuse frames that name another sender than their link.
 */
export const adoptSilentMs = 5_000
export const adoptCheckMs = 1_000

/** In-worker links between the replica of this tab and the ones it adopted. */
export class LocalLinks {
  private readonly handlers = new Map<ReplicaId, (from: ReplicaId, frame: string) => void>()

  /** The transport of replica `id`: frames to a local replica stay here; the rest go `outside` (or are dropped). */
  transportFor(id: ReplicaId, outside: Transport | null): Transport {
    return {
      send: (to, frame) => {
        const local = this.handlers.get(to)
        if (local !== undefined) queueMicrotask(() => local(id, frame))
        else outside?.send(to, frame)
      },
      onFrame: (handler) => {
        this.handlers.set(id, handler)
        const stop = outside?.onFrame(handler)
        return () => {
          this.handlers.delete(id)
          stop?.()
        }
      },
    }
  }
}

export interface AdopterOptions<F extends Functions> {
  app: string
  room: string
  self: ReplicaHost<F>
  selfId: ReplicaId
  machine: MachineDefinition<F>
  links: LocalLinks
  tickMs?: number
}

interface Adopted<F extends Functions> {
  host: ReplicaHost<F>
  release: () => void
}

export class Adopter<F extends Functions> {
  private readonly adopted = new Map<ReplicaId, Adopted<F>>()
  private readonly silentSince = new Map<ReplicaId, number>()
  /** Adopted replicas seen removed, and this replica's issued prefix then (the removal is in it). */
  private readonly removedAt = new Map<ReplicaId, number>()
  private connected = new Set<ReplicaId>()
  private readonly startedAt = Date.now()
  private readonly timer: ReturnType<typeof setInterval>
  private busy = false
  private closed = false
  adoptions = 0

  constructor(private readonly options: AdopterOptions<F>) {
    this.timer = setInterval(() => void this.check(), adoptCheckMs)
  }

  /** The peers with an open link now (from the mesh). */
  peers(peers: readonly ReplicaId[]): void {
    const now = Date.now()
    for (const peer of this.connected) if (!peers.includes(peer)) this.silentSince.set(peer, now)
    this.connected = new Set(peers)
  }

  list(): ReplicaId[] {
    return [...this.adopted.keys()]
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    for (const [id, a] of this.adopted) await this.drop(id, a)
  }

  private async check(): Promise<void> {
    if (this.busy || this.closed) return
    this.busy = true
    try {
      const { self, selfId } = this.options
      const status = self.status()
      const members = status.members
      // An adopted replica that is no longer a member has done its job. It
      // is closed once this replica's disk holds the removal (issued
      // commands are written lazily; restarted without it, this replica
      // would need the adopted one again) — not after a guessed delay.
      for (const [id, a] of this.adopted) {
        if (members.includes(id)) this.removedAt.delete(id)
        else {
          const at = this.removedAt.get(id) ?? status.issuedUpTo
          this.removedAt.set(id, at)
          if (status.durableIssuedUpTo >= at) await this.drop(id, a)
        }
      }
      if (!members.includes(selfId)) return
      const now = Date.now()
      const silent = members.filter((id) => id !== selfId && !this.adopted.has(id) && !this.connected.has(id) && now - (this.silentSince.get(id) ?? this.startedAt) >= adoptSilentMs)
      if (silent.length === 0) return
      const here = new Set((await indexedDB.databases()).map((d) => d.name))
      let adoptedNow = false
      for (const id of silent) {
        if (this.closed || !here.has(databaseName(this.options.app, this.options.room, id))) continue
        const release = await tryLock(identityLockName(this.options.app, this.options.room, id))
        if (release === null) continue // its tab is alive (or another tab adopted it)
        try {
          const host = await ReplicaHost.start({
            id,
            members: [],
            found: false,
            machine: this.options.machine,
            storage: await IdbStorage.open(databaseName(this.options.app, this.options.room, id)),
            transport: this.options.links.transportFor(id, null),
            ...(this.options.tickMs !== undefined ? { tickMs: this.options.tickMs } : {}),
          })
          host.peers([selfId])
          host.leave()
          this.adopted.set(id, { host, release })
          this.adoptions++
          adoptedNow = true
        } catch {
          release()
        }
      }
      if (adoptedNow) {
        // With the adopted votes this replica can lead: it asks at once
        // rather than waiting for a leader that may be gone.
        if (self.status().role !== 'leader') self.campaign()
      }
    } finally {
      this.busy = false
    }
  }

  private async drop(id: ReplicaId, a: Adopted<F>): Promise<void> {
    this.adopted.delete(id)
    this.removedAt.delete(id)
    await a.host.close().catch(() => {})
    a.release()
  }
}
