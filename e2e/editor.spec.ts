import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { roomTest, expect } from '@concord/playwright'
import type { textMachine } from './pages/machines.ts'

/**
 * The CodeMirror binding (issue 10 §3) in real tabs: a real editing trace
 * typed into one tab's editor, one transaction per edit, as fast as the tab
 * can; the other two tabs must end with exactly the trace's final text.
 */
type EditorApi = {
  text(): string
  storeText(): string
  type(at: number, text: string): string
  select(anchor: number, head?: number): void
  carets(): { name: string | null; at: number }[]
  sync(): { version: number; pending: boolean } | null
  resets(): string[]
  replay(url: string): Promise<{ edits: number; ms: number; endContent: string }>
}
declare const editor: EditorApi

const test = roomTest<typeof textMachine>()
test.use({ concord: { page: '/editor.html', tabs: 3 } })

const paper = gunzipSync(readFileSync(new URL('../bench/traces/automerge-paper.json.gz', import.meta.url)))
const endContent = (JSON.parse(paper.toString('utf8')) as { endContent: string }).endContent

test('the automerge-paper trace (259,778 edits) typed in one tab: the other two end with exactly its final text', async ({ room }) => {
  test.setTimeout(300_000)
  for (const tab of room.tabs) await tab.page.route('**/traces/automerge-paper.json', (route) => route.fulfill({ body: paper, contentType: 'application/json' }))
  await room.leader()
  const [typist, ...others] = room.tabs as [typeof room.tabs[0], ...typeof room.tabs]
  const result = await typist.page.evaluate(() => editor.replay('/traces/automerge-paper.json'))
  expect(result.edits).toBe(259_778)
  // The typist's own editor holds the trace's text at once (optimistic), before anything is issued.
  expect(await typist.page.evaluate(() => editor.text())).toBe(endContent)
  for (const tab of [typist, ...others]) {
    await expect.poll(() => tab.page.evaluate(() => editor.sync()?.pending), { timeout: 120_000 }).toBe(false)
  }
  await expect.poll(async () => Promise.all(room.tabs.map((t) => t.page.evaluate(() => editor.text().length))), { timeout: 120_000 }).toEqual([endContent.length, endContent.length, endContent.length])
  for (const tab of room.tabs) {
    expect(await tab.page.evaluate(() => editor.text())).toBe(endContent)
    expect(await tab.page.evaluate(() => editor.resets())).toEqual([])
  }
  const state = await others[0]!.state()
  expect(state.doc).toBe(endContent)
  console.log(`automerge-paper: ${result.edits} edits typed in ${Math.round(result.ms)} ms in one tab; ${state['doc#v']} text commands issued; final text ${endContent.length} characters in all 3 tabs`)
})

test('three tabs type at once: every keystroke of every author is kept, in one text everywhere; each tab sees its own typing before any round trip', async ({ room }) => {
  await room.leader()
  const letters = ['a', 'b', 'c']
  const perTab = 150
  // Speculative: the editor shows the keystroke at once; the store's state has not issued it yet.
  const [first] = room.tabs
  const seen = await first!.page.evaluate(() => ({ editor: editor.type(0, 'S'), store: editor.storeText() }))
  expect(seen).toEqual({ editor: 'S', store: '' })
  await Promise.all(room.tabs.map((tab, i) => tab.page.evaluate(async ({ letter, count, seed }) => {
    let x = seed
    for (let k = 0; k < count; k++) {
      x = (x * 1103515245 + 12345) % 2147483648
      editor.type(x % (editor.text().length + 1), letter)
      if (k % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    }
  }, { letter: letters[i]!, count: perTab, seed: i + 1 })))
  for (const tab of room.tabs) await expect.poll(() => tab.page.evaluate(() => editor.sync()?.pending), { timeout: 30_000 }).toBe(false)
  await expect.poll(async () => new Set(await Promise.all(room.tabs.map((t) => t.page.evaluate(() => editor.text())))).size, { timeout: 30_000 }).toBe(1)
  const text = await first!.page.evaluate(() => editor.text())
  expect(text).toHaveLength(1 + 3 * perTab)
  for (const letter of letters) expect(text.split(letter).length - 1).toBe(perTab)
  expect(await first!.page.evaluate(() => editor.storeText())).toBe(text)
})

test('each tab shows the other tabs\' cursors (presence over the data channels), mapped through later edits', async ({ room }) => {
  await room.leader()
  const [a, b] = room.tabs as [typeof room.tabs[0], typeof room.tabs[0]]
  await a.page.evaluate(() => editor.type(0, 'hello world'))
  await expect.poll(() => b.page.evaluate(() => editor.text()), { timeout: 20_000 }).toBe('hello world')
  await a.page.evaluate(() => editor.select(6))
  const caretOf = (id: string) => b.page.evaluate((id) => editor.carets().find((c) => c.name === id)?.at ?? null, id)
  await expect.poll(() => caretOf(a.id), { timeout: 20_000 }).toBe(6)
  // b types before a's caret: b's view of it moves along.
  await b.page.evaluate(() => editor.type(0, '>> '))
  await expect.poll(() => caretOf(a.id), { timeout: 20_000 }).toBe(9)
  // A tab that closes takes its cursor with it.
  await a.close()
  await expect.poll(() => caretOf(a.id), { timeout: 20_000 }).toBe(null)
})
