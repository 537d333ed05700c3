import { expect, test, type BrowserContext, type Page } from '@playwright/test'
import { signalingPort } from './playwright.config.ts'

/**
 * Multi-tab tests (issue 4 §6): real Chromium tabs, each a replica in its
 * worker with IndexedDB, talking over real WebRTC data channels introduced
 * by the real signaling server.
 */
type Status = { replicaId: string; role: string; leader: string | null; lastIssued: number; connected: string[]; framesDropped: number }
type RoomApi = {
  replicaId: string
  state(): Record<string, unknown>
  status(): Status
  add(by: number): Promise<number>
  append(item: string): Promise<number>
  attempt(name: string, args: Record<string, unknown>): Promise<{ ok: boolean; value?: unknown; error?: string; message?: string }>
  store: { lead(): void; cutLink(peer: string): void; injectFrame(peer: string, frame: string): void }
}
declare const room: RoomApi

const signaling = `ws://127.0.0.1:${signalingPort}`
let roomCount = 0
const newRoom = () => `room-${Date.now()}-${roomCount++}`

async function openTab(context: BrowserContext, name: string, slots = 3): Promise<Page> {
  const page = await context.newPage()
  page.on('pageerror', (error) => console.log(`[${name} page error] ${error.message}`))
  await page.goto(`/room.html?room=${name}&slots=${slots}&signaling=${encodeURIComponent(signaling)}`)
  await page.waitForFunction(() => typeof (window as unknown as { room?: unknown }).room === 'object', undefined, { timeout: 20_000 })
  return page
}

const status = (page: Page) => page.evaluate(() => room.status())
async function waitForLeader(pages: Page[]): Promise<Page> {
  await expect.poll(async () => (await Promise.all(pages.map(status))).filter((s) => s.role === 'leader').length, { timeout: 20_000 }).toBe(1)
  const all = await Promise.all(pages.map(status))
  return pages[all.findIndex((s) => s.role === 'leader')]!
}

test('three tabs take calls from all of them and converge', async ({ context }) => {
  const name = newRoom()
  const pages = [await openTab(context, name), await openTab(context, name), await openTab(context, name)]
  const ids = await Promise.all(pages.map((p) => p.evaluate(() => room.replicaId)))
  expect(new Set(ids).size).toBe(3)
  await expect.poll(async () => (await Promise.all(pages.map(status))).every((s) => s.connected.length === 2), { timeout: 20_000 }).toBe(true)
  await waitForLeader(pages)
  const perTab = 100
  await Promise.all(pages.map((p) => p.evaluate(async (n) => Promise.all(Array.from({ length: n }, () => room.add(1))), perTab)))
  await expect.poll(async () => (await Promise.all(pages.map((p) => p.evaluate(() => room.state().n)))), { timeout: 20_000 }).toEqual([300, 300, 300])
})
