import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { expect, test } from '@playwright/test'

/**
 * `npm start` as a user runs it: the process prints the URLs, and the
 * warehouse demo replicates between two tabs through its signaling server.
 */
const root = resolve(import.meta.dirname, '..')
let child: ChildProcess | null = null
test.afterAll(() => {
  child?.kill('SIGTERM')
})

test('npm start serves the demos: the warehouse replicates between two tabs and stock never goes negative; the editor takes real keystrokes in one tab and shows them in the other', async ({ context }) => {
  // Its clicks need the page's frames: in CI it can run beside the 9-tab grow/shrink test on two
  // cores, where a click once waited past the default 60 s for the renderer.
  test.slow()
  child = spawn(resolve(root, 'node_modules', '.bin', 'tsx'), ['scripts/start.ts'], {
    cwd: root,
    env: { ...process.env, CONCORD_SIGNALING_PORT: '8798', CONCORD_APPS_PORT: '5181' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const [url, editorUrl] = await new Promise<[string, string]>((resolveUrl, reject) => {
    let out = ''
    child!.stdout!.on('data', (d: Buffer) => {
      out += String(d)
      const m = /Warehouse[^:]*:\s+(http\S+)/.exec(out)
      const e = /Editor[^:]*:\s+(http\S+)/.exec(out)
      if (m && e) resolveUrl([m[1]!, e[1]!])
    })
    child!.on('exit', (code) => reject(new Error(`npm start exited ${code}: ${out}`)))
    setTimeout(() => reject(new Error(`npm start printed no URL: ${out}`)), 60_000)
  })
  const room = `start-${Date.now()}`
  const withRoom = `${url}${url.includes('?') ? '&' : '?'}room=${room}`
  const one = await context.newPage()
  const two = await context.newPage()
  for (const page of [one, two]) {
    await page.goto(withRoom)
    await page.waitForFunction(() => 'warehouseStore' in window, undefined, { timeout: 30_000 })
  }
  await expect(one.locator('#status')).toContainText('leader', { timeout: 20_000 })
  await one.locator('#inbound button').click()
  await expect(two.locator('#stock-A')).toHaveText('500', { timeout: 20_000 })
  await two.locator('#transfer input[name=v]').fill('600')
  await two.locator('#transfer button').click()
  await expect(two.locator('#log')).toContainText('insufficient stock in A: 500 < 600', { timeout: 20_000 })
  await two.locator('#transfer input[name=v]').fill('200')
  await two.locator('#transfer button').click()
  await expect(one.locator('#stock-B')).toHaveText('200', { timeout: 20_000 })
  await expect(one.locator('#stock-A')).toHaveText('300')

  // The editor: real keystrokes in one tab's CodeMirror, the same text in the other.
  const editorRoom = `${editorUrl}${editorUrl.includes('?') ? '&' : '?'}room=${room}-text`
  const writer = await context.newPage()
  const reader = await context.newPage()
  for (const page of [writer, reader]) {
    await page.goto(editorRoom)
    await page.waitForFunction(() => 'editorStore' in window, undefined, { timeout: 30_000 })
  }
  await expect(writer.locator('#status')).toContainText('peers', { timeout: 20_000 })
  await writer.locator('.cm-content').click()
  await writer.keyboard.type('Hello from Concord')
  await writer.keyboard.press('Enter')
  await writer.keyboard.type('second line')
  await expect(reader.locator('.cm-content')).toContainText('Hello from Concord', { timeout: 20_000 })
  await expect.poll(() => reader.evaluate(() => (window as unknown as { editorView: { state: { doc: { toString(): string } } } }).editorView.state.doc.toString()), { timeout: 20_000 }).toBe('Hello from Concord\nsecond line')
  // The writer's caret, in its colour and name, at the end of what it typed.
  const writerId = await writer.evaluate(() => (window as unknown as { editorStore: { replicaId: string } }).editorStore.replicaId)
  await expect(reader.locator('.cm-concord-caret-name')).toHaveText(writerId, { timeout: 20_000 })
  await expect(reader.locator('#status')).toContainText('saved')
})
