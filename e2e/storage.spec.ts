import { expect, test, type Page } from '@playwright/test'

/** One replica on real IndexedDB in real Chromium (issue 4 §3). */
type Solo = {
  call(by: number): Promise<{ ok: boolean; result?: unknown; instance?: number }>
  state(): Record<string, unknown>
  status(): { issuedUpTo: number; role: string }
  transactions(): { mode: string; durability: string | undefined }[]
  writes(): number
  recordsWritten(): number
  restoredIssued: number
}
declare const solo: Solo

async function open(page: Page, replica: string): Promise<void> {
  await page.goto(`/solo.html?replica=${replica}`)
  await page.waitForFunction(() => typeof (window as unknown as { solo?: unknown }).solo === 'object')
}

test('a lone replica leads, issues calls with one transaction per Ready (strict for votes), and recovers after a reload', async ({ page }) => {
  const replica = `r-${Date.now()}`
  await open(page, replica)
  await page.waitForFunction(() => solo.status().role === 'leader')
  const results = await page.evaluate(async () => {
    const out = []
    for (let i = 1; i <= 5; i++) out.push(await solo.call(i))
    return out
  })
  expect(results.map((r) => r.ok && r.result)).toEqual([1, 3, 6, 10, 15])
  expect(await page.evaluate(() => solo.state())).toEqual({ n: 15 })
  const writes = await page.evaluate(() => solo.transactions().filter((t) => t.mode === 'readwrite'))
  expect(writes.length).toBeGreaterThan(0)
  // Never Chromium's default: promises and votes are 'strict'; batches of
  // issued commands only may be 'relaxed' (storage-idb durabilityOf).
  expect(writes.every((t) => t.durability === 'strict' || t.durability === 'relaxed')).toBe(true)
  expect(writes.some((t) => t.durability === 'strict')).toBe(true)
  // Group commit: ten calls at once, and the records of one Ready share one
  // transaction — fewer transactions than records. (A fixed bound on the
  // transactions of sequential calls was flaky, and proved nothing: one
  // call at a time makes one record per Ready.)
  const [transactionsBefore, recordsBefore] = await page.evaluate(() => [solo.writes(), solo.recordsWritten()])
  await page.evaluate(() => Promise.all(Array.from({ length: 10 }, () => solo.call(1))))
  const [transactionsAfter, recordsAfter] = await page.evaluate(() => [solo.writes(), solo.recordsWritten()])
  expect(recordsAfter - recordsBefore).toBe(20) // a vote and an issued entry per call
  expect(transactionsAfter - transactionsBefore).toBeLessThan(20)

  await page.reload()
  await page.waitForFunction(() => typeof (window as unknown as { solo?: unknown }).solo === 'object')
  expect(await page.evaluate(() => solo.restoredIssued)).toBe(15)
  expect(await page.evaluate(() => solo.state())).toEqual({ n: 25 })
  await page.waitForFunction(() => solo.status().role === 'leader')
  expect(await page.evaluate(async () => (await solo.call(100)).result)).toBe(125)
})

test('two replicas of different rooms keep different databases', async ({ page }) => {
  const stamp = Date.now()
  await page.goto(`/solo.html?replica=x-${stamp}&room=one`)
  await page.waitForFunction(() => typeof (window as unknown as { solo?: Solo }).solo === 'object' && solo.status().role === 'leader')
  await page.evaluate(() => solo.call(7))
  await page.goto(`/solo.html?replica=x-${stamp}&room=two`)
  await page.waitForFunction(() => typeof (window as unknown as { solo?: Solo }).solo === 'object')
  expect(await page.evaluate(() => solo.state())).toEqual({})
  const names = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))
  expect(names).toContain(`e2e/one/x-${stamp}`)
  expect(names).toContain(`e2e/two/x-${stamp}`)
})
