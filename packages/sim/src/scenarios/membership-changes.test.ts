import { describe, expect, it } from 'vitest'
import { crownPrince, type Message } from '@concord/core'
import { Harness } from '../harness.ts'
import { counter } from '../models.ts'

/**
 * Scenarios M1–M8 (shared/scenarios/membership.md, seed 004) with
 * membership changed through the log: the leader proposes the next members
 * (joiners that asked and caught up come, members silent for
 * memberSilentTicks or leaving go), and the change is issued by a quorum of
 * the previous members (the relative quorum, with the crown prince).
 * Differences from the seed are noted where they are.
 */
const all = ['0', '1', '2', '3', '4', '5']
const silence = 20

type Cut = (m: Message) => boolean

function run(h: Harness, ticks: number, cut: Cut = () => false): void {
  for (let t = 0; t < ticks; t++) {
    for (const id of all) if (h.node(id).replica !== null) h.tick(id)
    for (let round = 0; round < 100 && h.pool.length > 0; round++) {
      h.drop({ where: cut })
      h.deliver()
    }
  }
}

const members = (h: Harness, id: string) => [...h.replica(id).status().members].sort()
/** Reconfigurations in a node's applied log after the founding one at instance 1. */
const changes = (h: Harness, id: string) => h.node(id).issued.filter((e) => e.command.members !== undefined && e.instance > 1).map((e) => [...e.command.members!].sort())
const isolated = (side: readonly string[]): Cut => (m) => side.includes(m.from) !== side.includes(m.to)

function cluster(genesis: string[], leader: string, running = genesis): Harness {
  // The seed's clusters have up to six voters (our default limit is five).
  const h = new Harness(all, counter, { genesis, running, memberSilentTicks: silence, logGenesis: true, votersMax: 6 })
  h.campaign(leader)
  run(h, 5)
  return h
}

describe('seed 004 membership through the log (scenarios M1–M8)', () => {
  it('M1: a node that starts asks to join and is added; every member agrees on the new membership', () => {
    const h = cluster(['1', '2', '3', '4', '5'], '1')
    h.startNode('0')
    run(h, 40)
    for (const id of all) expect(members(h, id)).toEqual(all)
    expect(crownPrince(members(h, '0'))).toBe('5')
    h.call('0', 'add', { by: 2 }) // the new member serves calls
    run(h, 5)
    for (const id of all) expect(h.state(id)).toEqual({ n: 2 })
  })

  it('M2: two nodes join at once: one reconfiguration adds both', () => {
    const h = cluster(['1', '3', '4', '5'], '1')
    h.startNode('0')
    h.startNode('2')
    run(h, 40)
    for (const id of all) expect(members(h, id)).toEqual(all)
    expect(changes(h, '1')).toEqual([all])
  })

  it('M3: a side without a quorum of the current members changes nothing (the join waits); the other side may', () => {
    const h = cluster(['1', '2', '3', '4', '5'], '1')
    const minority = ['0', '1', '2']
    h.startNode('0')
    run(h, 60, isolated(minority)) // the old leader's side holds 2 of 5 members, with the joiner
    for (const id of ['1', '2']) expect(members(h, id)).toEqual(['1', '2', '3', '4', '5'])
    expect(h.replica('0').status().members).not.toContain('0')
    // 3 of 5 is a quorum: that side removed the silent 1 and 2 (seed 004 FIG. 6).
    for (const id of ['3', '4', '5']) expect(members(h, id)).toEqual(['3', '4', '5'])
    run(h, 120) // healed: 1 and 2 learn they were removed and ask to join again, with 0
    for (const id of all) expect(members(h, id)).toEqual(all)
  })

  it('M4: a join while a member is dead: the membership everywhere becomes {0,1,2,3,5}', () => {
    const h = cluster(['1', '2', '3', '4', '5'], '1')
    h.crash('4')
    h.startNode('0')
    run(h, 40)
    for (const id of ['0', '1', '2', '3', '5']) expect(members(h, id)).toEqual(['0', '1', '2', '3', '5'])
    // Ours: a join goes at once; the dead member goes once its silence is
    // judged — two reconfigurations here, or one if both are pending together (M2, M5c).
    expect(changes(h, '1').at(-1)).toEqual(['0', '1', '2', '3', '5'])
  })

  it('M4, a crash just before a join (ours): the dead member goes within the silence limit of its crash; the join\'s re-ballot does not start its judging over', () => {
    const h = cluster(['1', '2', '3', '4', '5'], '1')
    run(h, 2 * silence) // the leader has led past the limit
    h.crash('4')
    run(h, 2)
    h.startNode('0')
    // The join is issued first (it takes about ten ticks; 4 is not silent long enough yet), and the leader starts a new ballot under the new members.
    let sinceCrash = 2
    while (!members(h, '1').includes('0') && sinceCrash < 2 * silence) run(h, 1), sinceCrash++
    expect(members(h, '1')).toEqual(['0', '1', '2', '3', '4', '5'])
    expect(h.replica('1').status().role).toBe('leader')
    expect(h.replica('1').status().silence!.electedTicksAgo).toBeLessThan(silence / 2) // re-balloted under the new members
    while (members(h, '1').includes('4') && sinceCrash < 3 * silence) run(h, 1), sinceCrash++
    // Removed one membership check (every heartbeatTicks) and a round after
    // the limit: before this rule, the limit counted again from the re-ballot.
    expect(sinceCrash).toBeLessThanOrEqual(silence + 4)
    expect(sinceCrash).toBeGreaterThan(silence)
    for (const id of ['0', '1', '2', '3', '5']) expect(members(h, id)).toEqual(['0', '1', '2', '3', '5'])
  })

  it('M5b, the leader crashes while a member is silent (ours): its successor goes on counting that silence (the heartbeats name it), not from its own election', () => {
    const h = cluster(['1', '2', '3', '4', '5'], '1')
    run(h, 2 * silence)
    h.crash('4')
    run(h, silence / 2)
    // The leader's heartbeats now name 4 silent (past memberSilentTicks / 4).
    h.crash('1')
    let sinceCrash = silence / 2
    let elected: string | undefined
    while (elected === undefined && sinceCrash < 4 * silence) {
      run(h, 1)
      sinceCrash++
      elected = ['2', '3', '5'].find((id) => h.replica(id).status().role === 'leader')
    }
    expect(elected).toBeDefined()
    const electedAt = sinceCrash
    expect(h.replica(elected!).status().silence!.heardTicksAgo['4']).toBeGreaterThan(silence / 2)
    while (members(h, elected!).includes('4') && sinceCrash < 6 * silence) run(h, 1), sinceCrash++
    // 4 goes a silence limit after its crash (or a check after the election,
    // if that came later), and 1 a limit after the election: before, both
    // waited a limit from the election.
    expect(sinceCrash).toBeLessThanOrEqual(Math.max(silence, electedAt) + 4)
    run(h, silence + 5)
    for (const id of ['2', '3', '5']) expect(members(h, id)).toEqual(['2', '3', '5'])
  })

  it('M5a: a member leaves gracefully; the crown prince is still 5', () => {
    const h = cluster(all, '0')
    h.replica('2').step({ type: 'leave' })
    run(h, 40)
    for (const id of ['0', '1', '3', '4', '5']) expect(members(h, id)).toEqual(['0', '1', '3', '4', '5'])
    expect(crownPrince(members(h, '0'))).toBe('5')
    // It stays out (it does not ask to join again).
    run(h, 40)
    expect(members(h, '0')).not.toContain('2')
  })

  it('M5b: a member that stops heartbeating is removed after the silence limit', () => {
    const h = cluster(all, '0')
    h.crash('1')
    run(h, 40)
    for (const id of ['0', '2', '3', '4', '5']) expect(members(h, id)).toEqual(['0', '2', '3', '4', '5'])
  })

  it('M5c: two members fail together: one reconfiguration removes both', () => {
    const h = cluster(all, '0')
    h.crash('1')
    h.crash('4')
    run(h, 40)
    for (const id of ['0', '2', '3', '5']) expect(members(h, id)).toEqual(['0', '2', '3', '5'])
    expect(changes(h, '0')).toEqual([['0', '2', '3', '5']])
  })

  it('M6d and M7: a series of failures, each judged relative to the previous membership, down to the prince alone', () => {
    const h = cluster(all, '3')
    const prince = ['3', '4', '5']
    run(h, 40, isolated(prince)) // 3 of 6 with the prince: it goes on and removes 0, 1, 2
    for (const id of prince) expect(members(h, id)).toEqual(prince)
    for (const id of ['0', '1', '2']) expect(members(h, id)).toEqual(all) // the other half never changed
    h.crash('4')
    run(h, 40, isolated(prince)) // 2 of 3 > 1.5
    for (const id of ['3', '5']) expect(members(h, id)).toEqual(['3', '5'])
    // M7: two members, the link between them cut. Ours (a deviation): the
    // crown prince alone is a quorum of two, in place of the seed's race for
    // a shared quorum device or an operator's choice.
    h.call('3', 'add', { by: 1 })
    h.call('5', 'add', { by: 10 })
    run(h, 60, (m) => m.from !== m.to)
    expect(h.replica('5').status().members).toEqual(['5'])
    expect(h.state('5')).toEqual({ n: 10 })
    expect(h.replica('3').status().members).toEqual(['3', '5'])
    expect(h.replica('3').status().issuedUpTo).toBeLessThan(h.replica('5').status().issuedUpTo)
  })

  it('M7, the crown prince crashed (ours): the survivor cannot go on alone; the dead replica, run again from its own disk by a tab of the same profile, leaves, and the survivor goes on', () => {
    const pair = ['3', '5']
    const prince = crownPrince(pair)
    const other = pair.find((id) => id !== prince)!
    const h = cluster(pair, prince, pair)
    h.call(other, 'add', { by: 1 })
    run(h, 20)
    expect(h.state(other)).toEqual({ n: 1 })
    h.crash(prince)
    h.call(other, 'add', { by: 10 })
    run(h, 80)
    expect(h.state(other)).toEqual({ n: 1 }) // exactly half, without the crown prince: it waits
    expect(members(h, other)).toEqual(pair)
    // Adoption (packages/worker/src/adopt.ts): the survivor's tab takes the
    // dead tab's Web Lock, so the replica runs nowhere else, and runs it
    // from its IndexedDB database: a restart from its own disk, on another
    // host, told to leave.
    h.restart(prince)
    h.replica(prince).step({ type: 'leave' })
    run(h, 80)
    expect(members(h, other)).toEqual([other])
    expect(h.state(other)).toEqual({ n: 11 })
    expect(h.node(other).replies.filter((r) => r.ok)).toHaveLength(2)
  })

  it('M8: a lone starter with no membership never forms a cluster; one that founds the room serves alone, and the next one joins it', () => {
    const lonely = new Harness(['0'], counter, { genesis: [] })
    lonely.call('0', 'add', { by: 1 })
    for (let t = 0; t < 100; t++) lonely.tick('0')
    expect(lonely.replica('0').status()).toMatchObject({ role: 'follower', issuedUpTo: 0, members: [] })
    expect(lonely.node('0').replies).toEqual([])

    const h = new Harness(['0', '1'], counter, { genesis: ['0'], running: ['0'], memberSilentTicks: silence, logGenesis: true })
    for (let t = 0; t < 30; t++) h.tick('0')
    h.deliverAll()
    h.call('0', 'add', { by: 1 })
    h.deliverAll()
    expect(h.state('0')).toEqual({ n: 1 })
    h.startNode('1')
    h.replica('1').step({ type: 'peers', peers: ['0'] }) // no membership of its own: it asks whoever is in the room
    for (let t = 0; t < 60; t++) {
      for (const id of ['0', '1']) h.tick(id)
      h.deliverAll()
    }
    expect(h.replica('1').status().members).toEqual(['0', '1'])
    expect(h.state('1')).toEqual({ n: 1 })
  })
})

describe('learners beyond the voter limit', () => {
  it('a joiner beyond votersMax learns and calls as a learner, and is promoted when a voter leaves', () => {
    const h = new Harness(all, counter, { genesis: ['0', '1', '2'], running: ['0', '1', '2'], memberSilentTicks: silence, logGenesis: true, votersMax: 3 })
    h.campaign('0')
    run(h, 5)
    h.startNode('3')
    run(h, 30)
    expect(members(h, '0')).toEqual(['0', '1', '2']) // full: 3 is a learner
    expect(members(h, '3')).toEqual(['0', '1', '2'])
    h.call('3', 'add', { by: 7 }) // a learner's call
    run(h, 10)
    for (const id of ['0', '1', '2', '3']) expect(h.state(id)).toEqual({ n: 7 })
    expect(h.node('3').replies.at(-1)).toMatchObject({ ok: true, result: 7 })
    h.replica('1').step({ type: 'leave' })
    run(h, 40)
    for (const id of ['0', '2', '3']) expect(members(h, id)).toEqual(['0', '2', '3']) // promoted
  })

  it('a learner by choice (an archiving edge replica) is fed every command and calls, but is never made a voter — not even when voters go', () => {
    const h = new Harness(all, counter, { genesis: ['0', '1', '2'], running: ['0', '1', '2'], memberSilentTicks: silence, logGenesis: true, learners: ['5'] })
    h.campaign('0')
    run(h, 5)
    h.startNode('5')
    run(h, 30)
    expect(members(h, '0')).toEqual(['0', '1', '2']) // room for 5 voters, yet 5 stays out
    h.call('1', 'add', { by: 3 })
    h.call('5', 'add', { by: 4 }) // a learner's call goes to the leader
    run(h, 10)
    for (const id of ['0', '1', '2', '5']) expect(h.state(id)).toEqual({ n: 7 })
    h.crash('2')
    h.startNode('3') // an ordinary joiner is added; the learner is not
    run(h, 80)
    for (const id of ['0', '1', '3']) expect(members(h, id)).toEqual(['0', '1', '3'])
    expect(members(h, '5')).toEqual(['0', '1', '3'])
    h.call('0', 'add', { by: 1 })
    run(h, 10)
    expect(h.state('5')).toEqual({ n: 8 })
    // Every reconfiguration the learner applied left it out.
    for (const change of changes(h, '5')) expect(change).not.toContain('5')
  })
})
