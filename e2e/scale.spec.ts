import { roomTest, expect } from '@concord/playwright'
import { startRedis, startSignalingServer } from '@concord/signaling'
import type { e2eMachine } from './pages/machines.ts'

/**
 * Issue 8 §2: tabs introduced by two different signaling processes that
 * share rooms through a real Redis meet over WebRTC and replicate.
 */
const test = roomTest<typeof e2eMachine>()
test.use({ concord: { page: '/room.html', tabs: 0 } })

test('three tabs on two signaling processes behind Redis meet and replicate', async ({ room }) => {
  const redis = await startRedis()
  const s1 = await startSignalingServer({ redisUrl: redis.url })
  const s2 = await startSignalingServer({ redisUrl: redis.url })
  try {
    const a = await room.open({ signaling: s1.url })
    const b = await room.open({ signaling: s2.url })
    const c = await room.open({ signaling: s2.url })
    await room.formed()
    expect((await a.status()).members).toHaveLength(3)
    await expect.poll(async () => (await a.status()).connected.sort(), { timeout: 20_000 }).toEqual([b.id, c.id].sort())
    await Promise.all([a.call('add', { by: 1 }), b.call('add', { by: 2 }), c.call('add', { by: 3 })])
    expect(await room.converged()).toEqual({ n: 6 })
    // The introductions crossed processes through Redis.
    expect(s1.stats().cluster!.received).toBeGreaterThan(0)
    expect(s2.stats().cluster!.received).toBeGreaterThan(0)
    expect(s1.stats().peers + s2.stats().peers).toBe(3)
  } finally {
    await s1.close()
    await s2.close()
    await redis.stop()
  }
})
