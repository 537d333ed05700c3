import type { Page } from '@playwright/test'
import type { BenchResult } from './results.ts'
import { round, startRig } from './browser.ts'

/**
 * Issue 5 figures, in real Chromium tabs with dynamic membership:
 *  - membership.stateVisibleMs.10MB / joinMs.10MB: a new tab opens a room whose state is 10 MB
 *    (its log cleared behind snapshots, so it must get the snapshot) and
 *    serves a call: from opening the page to the call's answer;
 *  - membership.snapshotMBps: the state's size over the time from the
 *    store being open to the state being there (join, snapshot in chunks,
 *    install), end to end;
 *  - compaction.*: after N calls, issued entries held in IndexedDB and in the
 *    worker's memory by each tab (bounded by snapshotEvery when clearing
 *    works; N of them when it does not — the baseline).
 */
interface Api {
  room: {
    add(by: number): Promise<number>
    fill(key: string, size: number): Promise<number>
    stateChars(): number
    storedCounts(): Promise<{ issued: number }>
    status(): { voter: boolean; members: string[] }
    store: { debugWorkerStatus(): Promise<{ logStart: number; logSize: number; counters: Record<string, number> }> }
  }
}
declare const window: Api

const megabyte = 1_000_000

export async function benchMembership(quick: boolean): Promise<BenchResult[]> {
  const rig = await startRig()
  try {
    const context = await rig.browser.newContext()
    const results: BenchResult[] = []
    const room = `bench-membership-${Date.now()}`
    const snapshotEvery = 4
    const url = `${rig.base}/room.html?room=${room}&membership=dynamic&snapshotEvery=${snapshotEvery}&signaling=${encodeURIComponent(rig.signalingUrl)}`
    const open = async (): Promise<Page> => {
      const page = await context.newPage()
      await page.goto(url)
      await page.waitForFunction(() => 'room' in window, undefined, { timeout: 60_000 })
      return page
    }
    const until = async (what: () => Promise<boolean>, timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs
      while (!(await what())) {
        if (Date.now() > deadline) throw new Error('benchmark condition not reached')
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    const founder = await open()
    await until(() => founder.evaluate(() => window.room.status().voter))
    const second = await open()
    await until(() => second.evaluate(() => window.room.status().voter))
    // 10 MB of state, in 100 KB values written one after another (a pipeline
    // of large commands can make coalesced messages beyond what the
    // transport reassembles: see the closing note of issue 5); then enough
    // calls that every tab snapshots and clears.
    await founder.evaluate(async () => { for (let i = 0; i < 100; i++) await window.room.fill(`blob${i}`, 100_000) })
    for (let i = 0; i < 2 * snapshotEvery; i++) await founder.evaluate(() => window.room.add(1))
    await until(async () => (await Promise.all([founder, second].map((p) => p.evaluate(async () => (await window.room.store.debugWorkerStatus()).logStart)))).every((s) => s > 100))
    const stateChars = await founder.evaluate(() => window.room.stateChars())

    const opened = Date.now()
    const joiner = await open()
    const storeOpen = Date.now()
    await until(() => joiner.evaluate((chars) => window.room.stateChars() >= chars, stateChars))
    const stateThere = Date.now()
    const received = (await joiner.evaluate(async () => (await window.room.store.debugWorkerStatus()).counters['snapshots.received'])) ?? 0
    if (received < 1) throw new Error('the joining tab did not get a snapshot: the benchmark measured something else')
    results.push({ name: 'membership.stateVisibleMs.10MB', value: stateThere - opened, unit: 'ms' })
    // Serving a call: after a 10 MB transfer the new tab's data channels were
    // found closed in this benchmark (issue 5 closing note), so the call is
    // tried with a deadline and joinMs is written only when it is answered.
    const served = await joiner.evaluate(() => Promise.race([window.room.add(1).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))])).catch(() => false)
    if (served) results.push({ name: 'membership.joinMs.10MB', value: Date.now() - opened, unit: 'ms' })
    else console.log('  membership.joinMs.10MB: the new tab did not serve a call within 20 s of holding the state (not written)')
    results.push({ name: 'membership.snapshotMBps', value: round(stateChars / megabyte / ((stateThere - storeOpen) / 1000)), unit: 'MB/s' })
    results.push({ name: 'membership.stateMB', value: round(stateChars / megabyte), unit: 'MB' })

    // Compaction: a long run of calls; what each tab holds afterwards.
    await joiner.close()
    const tabs = [founder, second]
    const calls = quick ? 2_000 : 100_000
    const batch = 500
    for (let done = 0; done < calls; done += batch) {
      await tabs[(done / batch) % tabs.length]!.evaluate((n) => Promise.all(Array.from({ length: n }, () => window.room.add(1))), batch)
    }
    await new Promise((r) => setTimeout(r, 1_000)) // a few heartbeats: clearUpTo reaches everyone
    const held = await Promise.all(tabs.map((p) => p.evaluate(async () => ({ idb: (await window.room.storedCounts()).issued, memory: (await window.room.store.debugWorkerStatus()).logSize }))))
    results.push({ name: `compaction.calls`, value: calls, unit: 'calls' })
    results.push({ name: `compaction.idbIssuedEntries.max`, value: Math.max(...held.map((h) => h.idb)), unit: 'entries' })
    results.push({ name: `compaction.memoryLogEntries.max`, value: Math.max(...held.map((h) => h.memory)), unit: 'entries' })
    results.push({ name: `compaction.baselineEntriesWithoutClearing`, value: calls + 20, unit: 'entries' })
    return results
  } finally {
    await rig.close()
  }
}
