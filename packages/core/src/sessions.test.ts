import { describe, expect, it } from 'vitest'
import { sessionResultsMax, sessionsMax } from './constants.ts'
import { Sessions } from './sessions.ts'

const t = (client: string, seq: number, acked = 0) => ({ client, seq, acked })

describe('the replicated ticket table (seed 003, ours)', () => {
  it('answers a duplicate with the first outcome and refuses acknowledged tickets', () => {
    const s = new Sessions()
    expect(s.lookup(t('c', 1))).toEqual({ kind: 'new' })
    s.record(t('c', 1), { ok: true, result: 7 }, 3)
    expect(s.lookup(t('c', 1))).toEqual({ kind: 'done', outcome: { ok: true, result: 7 }, instance: 3 })
    s.record(t('c', 2, 2), { ok: false, code: 'rejected', reason: 'no' }, 4)
    expect(s.lookup(t('c', 1))).toEqual({ kind: 'stale' })
    expect(s.lookup(t('c', 2))).toMatchObject({ kind: 'done', outcome: { ok: false } })
  })

  it('stays bounded: clients beyond sessionsMax evict the least recent; a client window is enforced', () => {
    const s = new Sessions()
    for (let i = 0; i <= sessionsMax; i++) s.record(t(`c${i}`, 1), { ok: true, result: null }, i + 1)
    expect(s.size).toBe(sessionsMax)
    expect(s.lookup(t('c0', 1))).toEqual({ kind: 'new' })
    expect(s.hasRoom(t('x', sessionResultsMax - 1))).toBe(true)
    expect(s.hasRoom(t('x', sessionResultsMax))).toBe(false)
  })
})
