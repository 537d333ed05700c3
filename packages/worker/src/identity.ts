/**
 * A replica's identity on this origin: the Web Lock its tab holds while the
 * replica runs (so that one id never runs twice: a duplicated tab takes a new
 * one, and a tab that died releases it), shared by the client that claims
 * ids and the worker that adopts the replicas of dead tabs (adopt.ts).
 */
export function identityLockName(app: string, room: string, replicaId: string): string {
  return `concord:${app}:${room}:${replicaId}`
}

/** Take the lock `name` if nobody holds it: a release function, or null. */
export function tryLock(name: string): Promise<(() => void) | null> {
  return new Promise((resolve) => {
    void navigator.locks.request(name, { ifAvailable: true }, (lock) => {
      if (lock === null) {
        resolve(null)
        return undefined
      }
      // Held until released (or the tab or worker goes away).
      return new Promise<void>((release) => resolve(() => release()))
    })
  })
}
