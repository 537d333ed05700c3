import { describe, expect, it } from 'vitest'
import { runScenario, scenarios, systems, verify, type ScenarioRun } from './crdt.ts'

/**
 * The crdt-benchmarks port (bench/crdt.ts) at a tiny N: every scenario runs
 * through Concord (3 replicas, consensus per edit), Yjs and Automerge, and
 * the final texts must agree — exactly where the scenario has one writer,
 * by length and characters where concurrent inserts may be ordered
 * differently by each system. The lengths are stated here, apart from the
 * expectation crdt.ts computes.
 */
const n = 60
const users = Math.floor(Math.sqrt(n)) * 20 // 140
const all = scenarios(n, 500)
const byId = new Map(all.map((s) => [s.id, s]))
const lengths: Record<string, number> = {
  b1_1: n,
  b1_2: n,
  b1_3: n,
  b1_6: 0,
  b2_1: 2 * n + 100,
  b2_2: 2 * n + 100,
  b3_5: Array.from({ length: users }, (_, i) => String(i).length).reduce((a, b) => a + b, 0),
}

const textOf = (run: ScenarioRun, system: string) => run.runs.find((r) => r.system === system)!.texts[0]!
const sorted = (text: string) => text.split('').sort().join('')

describe('crdt-benchmarks B1–B4: Concord, Yjs and Automerge end with the same text', () => {
  for (const scenario of all) {
    it(scenario.title, async () => {
      const run = await runScenario(scenario)
      expect(run.runs.map((r) => r.system)).toEqual([...systems])
      for (const r of run.runs) {
        expect(r.texts.length, `${r.system}: replicas checked`).toBeGreaterThanOrEqual(2)
        for (const text of r.texts) expect(text, `${r.system}: every replica`).toBe(r.texts[0])
        if (lengths[scenario.id] !== undefined) expect(r.texts[0]!.length, r.system).toBe(lengths[scenario.id])
        expect(r.texts[0]!.length, r.system).toBe(run.expected.length)
        expect(r.bytes, `${r.system}: something was sent`).toBeGreaterThan(0)
      }
      const concord = run.runs.find((r) => r.system === 'concord')!
      if (scenario.kind === 'single') {
        // One writer: one text, whatever the system.
        expect(textOf(run, 'yjs')).toBe(textOf(run, 'concord'))
        expect(textOf(run, 'automerge')).toBe(textOf(run, 'concord'))
        expect(textOf(run, 'concord')).toBe(run.expected.text)
        // Every op was its own call, through consensus.
        expect(concord.commands).toBe(scenario.ops.length)
      } else {
        expect(sorted(textOf(run, 'yjs'))).toBe(sorted(textOf(run, 'concord')))
        expect(sorted(textOf(run, 'automerge'))).toBe(sorted(textOf(run, 'concord')))
      }
    })
  }

  it('B2: the second user edits from a follower, against the version both saw, and the leader transforms it', async () => {
    const run = await runScenario(byId.get('b2_2')!, ['concord'])
    const text = textOf(run, 'concord')
    const scenario = byId.get('b2_2')!
    if (scenario.kind !== 'two') throw new Error('b2_2 is a two-user scenario')
    // Both users' characters are all there, around the shared start.
    expect(text.length).toBe(scenario.init.length + 2 * n)
    expect(sorted(text)).toBe(run.expected.sortedChars)
  })

  it('the check fails when a replica, or a system, ends with other text', async () => {
    const run = await runScenario(byId.get('b1_4')!)
    const tampered = (system: string, replica: number): ScenarioRun => ({
      ...run,
      runs: run.runs.map((r) => (r.system === system ? { ...r, texts: r.texts.map((t, i) => (i === replica ? `${t.slice(1)}x` : t)) } : r)),
    })
    expect(() => verify(run)).not.toThrow()
    expect(() => verify(tampered('concord', 2))).toThrow(/replica 2 holds other text/)
    expect(() => verify(tampered('yjs', 0))).toThrow(/yjs/)
    expect(() => verify(tampered('automerge', 0))).toThrow(/automerge/)
  })
})
