import { ChangeSet, Text } from '@codemirror/state'
import { describe, expect, it } from 'vitest'
import { createRandom, randomInt, type Random } from '@concord/core'
import { createMachine, defineMachine, type Json } from '@concord/machine'
import { TextClient } from './client.ts'
import { readText, textFunctions, textLogEntriesMax } from './machine.ts'

const notes = defineMachine({ name: 'notes', functions: { ...textFunctions() } })
const env = { tick: 0, random: createRandom(1) }

/** One central order: the leader executes an edit against the latest state and every replica applies it. */
class Leader {
  readonly machine = createMachine(notes)
  private instance = 0

  edit(args: { key: string; base: number; changes: Json; id: string }): { ok: true; v: number } | { ok: false; reason: string } {
    const outcome = this.machine.execute(++this.instance, 'edit', args, env)
    if (!outcome.ok) {
      this.instance--
      return { ok: false, reason: outcome.reason }
    }
    this.machine.apply(this.instance, outcome.payload)
    return { ok: true, v: outcome.result as number }
  }

  get state(): Record<string, Json> {
    return this.machine.snapshot()
  }
}

const toText = (s: string) => Text.of(s.split('\n'))

/** A tab: its editor's text and the protocol client. */
class Tab {
  doc = Text.empty
  readonly client: TextClient
  resets = 0

  constructor(name: string) {
    this.client = new TextClient('doc', 0, name)
  }

  type(random: Random): void {
    const length = this.doc.length
    const from = randomInt(random, 0, length + 1)
    const roll = random.next()
    const spec = roll < 0.6 || length === 0
      ? { from, insert: 'abc\nxyz'.slice(randomInt(random, 0, 6), randomInt(random, 6, 8)) }
      : { from: Math.min(from, length - 1), to: Math.min(length, from + randomInt(random, 1, 4)) }
    const changes = ChangeSet.of(spec, length)
    this.doc = changes.apply(this.doc)
    this.client.local(changes)
  }

  see(state: Record<string, Json>): void {
    const received = this.client.receive(state)
    if (received?.kind === 'changes') this.doc = received.changes.apply(this.doc)
    else if (received?.kind === 'reset') {
      this.doc = toText(received.text)
      this.resets++
    }
  }
}

describe('collaborative text: concurrent tabs converge on one text (Jupiter over one central order)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    it(`seed ${seed}`, () => {
      const random = createRandom(seed)
      const leader = new Leader()
      const tabs = Array.from({ length: randomInt(random, 2, 5) }, (_, i) => new Tab(`t${i}`))
      /** States a tab has not seen yet: delivery lags, but in order (a replica applies in order). */
      const inbox = tabs.map(() => [] as Record<string, Json>[])
      const send = (tab: Tab) => {
        const fresh = tab.client.takeSendable()
        const sendable = fresh ?? (random.next() < 0.3 ? tab.client.inFlight : null) // sometimes a retry
        if (sendable === null) return
        if (fresh !== null && random.next() < 0.15) return // lost on the way: only a retry (after remote edits, maybe) delivers it
        const r = leader.edit({ key: 'doc', base: sendable.base, changes: sendable.changes.toJSON() as Json, id: sendable.id })
        expect(r.ok, r.ok ? '' : r.reason).toBe(true)
        const state = leader.state
        inbox.forEach((box) => box.push(state))
      }
      for (let step = 0; step < 400; step++) {
        const i = randomInt(random, 0, tabs.length)
        const tab = tabs[i]!
        const roll = random.next()
        if (roll < 0.5) tab.type(random)
        else if (roll < 0.75) send(tab)
        else if (inbox[i]!.length > 0) tab.see(inbox[i]!.splice(0, randomInt(random, 1, inbox[i]!.length + 1)).at(-1)!)
      }
      // Quiesce: deliver everything, send what is left, until nothing is pending.
      for (let round = 0; round < 100 && (tabs.some((t) => t.client.pending) || inbox.some((b) => b.length > 0)); round++) {
        tabs.forEach((tab, i) => {
          if (inbox[i]!.length > 0) tab.see(inbox[i]!.splice(0).at(-1)!)
          if (tab.client.inFlight !== null && round > 0) {
            const { base, changes, id } = tab.client.inFlight // a lost edit's retry
            leader.edit({ key: 'doc', base, changes: changes.toJSON() as Json, id })
            inbox.forEach((box) => box.push(leader.state))
          }
          send(tab)
        })
      }
      const final = readText(leader.state, 'doc').text
      for (const tab of tabs) {
        expect(tab.client.pending).toBe(false)
        expect(tab.doc.toString()).toBe(final)
        expect(tab.resets).toBe(0)
      }
      expect(readText(leader.state, 'doc').version).toBeGreaterThan(0)
    })
  }
})

describe('the edit function', () => {
  const leader = () => new Leader()
  const insert = (at: number, text: string, length: number) => ChangeSet.of({ from: at, insert: text }, length).toJSON() as Json

  it('keeps both authors\' intent: two edits made against the same version', () => {
    const l = leader()
    expect(l.edit({ key: 'doc', base: 0, changes: insert(0, 'hello world', 0), id: 'a:1' })).toEqual({ ok: true, v: 1 })
    // Both tabs saw "hello world" (version 1); one inserts at 5, the other at 11.
    expect(l.edit({ key: 'doc', base: 1, changes: insert(5, ',', 11), id: 'a:2' })).toEqual({ ok: true, v: 2 })
    expect(l.edit({ key: 'doc', base: 1, changes: insert(11, '!', 11), id: 'b:1' })).toEqual({ ok: true, v: 3 })
    expect(readText(l.state, 'doc').text).toBe('hello, world!')
  })

  it('a retried edit (same id) is applied once, and answers its version', () => {
    const l = leader()
    l.edit({ key: 'doc', base: 0, changes: insert(0, 'x', 0), id: 'a:1' })
    expect(l.edit({ key: 'doc', base: 0, changes: insert(0, 'x', 0), id: 'a:1' })).toEqual({ ok: true, v: 1 })
    expect(readText(l.state, 'doc')).toMatchObject({ text: 'x', version: 1 })
  })

  it('refuses clearly: a future base, a stale base beyond the log, malformed changes, an edit that does not fit', () => {
    const l = leader()
    expect(l.edit({ key: 'doc', base: 3, changes: insert(0, 'x', 0), id: 'a:1' })).toEqual({ ok: false, reason: 'edit made against version 3, but the text is at 0' })
    for (let i = 0; i < textLogEntriesMax + 2; i++) l.edit({ key: 'doc', base: i, changes: insert(0, 'y', i), id: `w:${i}` })
    expect(readText(l.state, 'doc').log).toHaveLength(textLogEntriesMax)
    expect(l.edit({ key: 'doc', base: 1, changes: insert(0, 'x', 1), id: 'a:2' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^stale: edit made against version 1/) })
    const v = readText(l.state, 'doc').version
    expect(l.edit({ key: 'doc', base: v, changes: [5, [0, 'x'], 'nope'] as unknown as Json, id: 'a:3' })).toMatchObject({ ok: false })
    expect(l.edit({ key: 'doc', base: v, changes: insert(0, 'x', v + 10), id: 'a:4' })).toMatchObject({ ok: false, reason: expect.stringMatching(/spans \d+ characters; the text has \d+/) })
  })

  it('an edit of many scattered changes is written as one splice over their span', () => {
    const l = leader()
    const base = 'abcdefghij'.repeat(30)
    l.edit({ key: 'doc', base: 0, changes: insert(0, base, 0), id: 'a:1' })
    const scattered = ChangeSet.of(Array.from({ length: 100 }, (_, i) => ({ from: i * 3, insert: '_' })), base.length)
    expect(l.edit({ key: 'doc', base: 1, changes: scattered.toJSON() as Json, id: 'a:2' })).toEqual({ ok: true, v: 2 })
    expect(readText(l.state, 'doc').text).toBe(scattered.apply(toText(base)).toString())
  })
})

describe('the text client', () => {
  it('names its edits clientId:n, n growing by one, or by a sequence its caller gives, which must grow', () => {
    const client = new TextClient('doc', 0, 'tab')
    const ack = (id: string) => client.receive({ doc: 'x', 'doc#v': client.version + 1, 'doc#log': [{ v: client.version + 1, id, c: [] }] })
    client.local(ChangeSet.of({ from: 0, insert: 'a' }, 0))
    expect(client.takeSendable()!.id).toBe('tab:1')
    ack('tab:1')
    client.local(ChangeSet.empty(1))
    expect(() => client.takeSendable(1)).toThrow(/does not grow/)
    expect(() => client.takeSendable(2.5)).toThrow(/does not grow/)
    expect(client.takeSendable(7)!.id).toBe('tab:7')
    ack('tab:7')
    client.local(ChangeSet.empty(1))
    expect(client.takeSendable()!.id).toBe('tab:8')
  })
})
