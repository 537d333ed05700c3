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
