import { describe, expect, it, vi } from 'vitest'
import { ValidationError } from './errors.ts'
import { Presence, presenceCharsMax, presenceIntervalMs, presencePrefix } from './presence.ts'

function fakeLink(peers: string[]) {
  const sent: [string, string][] = []
  return { sent, link: { send: (to: string, message: string) => void sent.push([to, message]), connectedPeers: () => peers } }
}

describe('presence: ephemeral, over the data channels', () => {
  it('coalesces sends to one per interval, to every open link, with the latest value', () => {
    vi.useFakeTimers()
    try {
      const { sent, link } = fakeLink(['b', 'c'])
      const presence = new Presence(link)
      presence.set({ at: 1 })
      presence.set({ at: 2 })
      presence.set({ at: 3 })
      vi.advanceTimersByTime(presenceIntervalMs + 1)
      expect(sent).toEqual([['b', `${presencePrefix}{"at":3}`], ['c', `${presencePrefix}{"at":3}`]])
    } finally {
      vi.useRealTimers()
    }
  })

  it("keeps peers' values, forgets a peer whose link closed, greets a new link with our value", () => {
    const { sent, link } = fakeLink([])
    const presence = new Presence(link)
    const seen: unknown[] = []
    presence.subscribe((peers) => seen.push(Object.fromEntries(peers)))
    expect(presence.receive('b', `${presencePrefix}{"name":"Bo"}`)).toBe(true)
    expect(presence.peers.get('b')).toEqual({ name: 'Bo' })
    presence.set({ name: 'me' })
    presence.onPeers(['b', 'c'])
    expect(sent).toEqual([['b', `${presencePrefix}{"name":"me"}`], ['c', `${presencePrefix}{"name":"me"}`]])
    presence.onPeers(['c'])
    expect(presence.peers.has('b')).toBe(false)
    expect(seen).toEqual([{ b: { name: 'Bo' } }, {}])
    expect(presence.receive('c', `${presencePrefix}null`)).toBe(true)
  })

  it('leaves core messages alone, drops and counts bad presence', () => {
    const presence = new Presence(fakeLink([]).link)
    expect(presence.receive('b', '{"type":"heartbeat"}')).toBe(false)
    expect(presence.receive('b', `${presencePrefix}{not json`)).toBe(true)
    expect(presence.receive('b', `${presencePrefix}"${'x'.repeat(presenceCharsMax + 10)}"`)).toBe(true)
    expect(presence.dropped).toBe(2)
    expect(presence.peers.size).toBe(0)
  })

  it('refuses a value that is not JSON or too large, with a ValidationError', () => {
    const presence = new Presence(fakeLink([]).link)
    expect(() => presence.set({ f: () => 1 } as never)).toThrow(ValidationError)
    expect(() => presence.set('x'.repeat(presenceCharsMax))).toThrow(/presence is 2050 characters of JSON; at most 2048/)
  })
})
