import { identityLockName, tryLock } from '@concord/worker/identity'
import { RoomFullError } from './errors.ts'

/**
 * Replica ids are the room's slots (s1…sN) until membership lands (issue 5).
 * A tab claims a free slot with a Web Lock, held while it lives: the id
 * survives a reload (sessionStorage remembers it and the lock is free again)
 * and is never shared by two tabs (a duplicated tab copies sessionStorage,
 * but the lock is held: it takes another slot).
 */
export interface SlotClaim {
  id: string
  /** The id ran here before (this tab's session remembers it): its storage should exist. */
  remembered: boolean
  release(): void
}

export function slotIds(slots: number): string[] {
  return Array.from({ length: slots }, (_, i) => `s${i + 1}`)
}

export async function claimSlot(app: string, room: string, slots: number): Promise<SlotClaim> {
  const rememberedKey = `concord:${app}:${room}:slot`
  const preferred = sessionStorage.getItem(rememberedKey)
  const ids = slotIds(slots)
  const order = preferred !== null && ids.includes(preferred) ? [preferred, ...ids.filter((id) => id !== preferred)] : ids
  for (const id of order) {
    const release = await tryLock(identityLockName(app, room, id))
    if (release !== null) {
      sessionStorage.setItem(rememberedKey, id)
      return { id, remembered: id === preferred, release }
    }
  }
  throw new RoomFullError(slots)
}

/**
 * Dynamic membership (seed 004): a tab is a replica of its own, with a fresh
 * id that survives a reload (sessionStorage) and is held with a Web Lock, so
 * that a duplicated tab takes a new one. An id is never given to two
 * replicas: a replica that comes back with an empty disk under an old id
 * could break quorum intersection. `renew`: the remembered id's storage was
 * lost; take (and remember) a new one.
 */
export async function claimIdentity(app: string, room: string, options: { renew?: boolean } = {}): Promise<SlotClaim> {
  const rememberedKey = `concord:${app}:${room}:replica`
  const preferred = options.renew === true ? null : sessionStorage.getItem(rememberedKey)
  if (preferred !== null) {
    const release = await tryLock(identityLockName(app, room, preferred))
    if (release !== null) return { id: preferred, remembered: true, release }
  }
  for (;;) {
    const id = `t-${crypto.randomUUID().slice(0, 8)}`
    const release = await tryLock(identityLockName(app, room, id))
    if (release === null) continue
    sessionStorage.setItem(rememberedKey, id)
    return { id, remembered: false, release }
  }
}
