import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { yjsPaceEvery } from './trace-pace.ts'

/**
 * The benchmark tables in README.md are generated from bench/results (issue 7:
 * not typed by hand): `npm run bench:readme` rewrites the text between
 * `<!-- bench:<area> -->` and `<!-- /bench:<area> -->`.
 */
const root = join(import.meta.dirname, '..')
type Results = { machine: string; browser: string | null; results: { name: string; value: number; unit: string }[] }

function load(area: string): Results | null {
  try {
    return JSON.parse(readFileSync(join(root, 'bench', 'results', `${area}.json`), 'utf8')) as Results
  } catch {
    return null
  }
}

const format = (value: number, unit: string) => {
  if (unit === 'B' || unit === 'B/tab') return value >= 1e6 ? `${(value / 1e6).toFixed(2)} MB` : `${(value / 1e3).toFixed(1)} KB`
  if (unit === 'B/s') return `${(value / 1e3).toFixed(1)} KB/s`
  return `${value.toLocaleString('en', { maximumFractionDigits: value >= 100 ? 0 : 1 })} ${unit}`
}

/** The results of one area under a name prefix: `get` a result, or its formatted `cell` ('—' when absent). */
function metrics(r: Results, prefix: string) {
  const get = (name: string) => r.results.find((x) => x.name === `${prefix}${name}`)
  const cell = (name: string) => {
    const x = get(name)
    return x ? format(x.value, x.unit) : '—'
  }
  return { get, cell }
}

const traceTitles: Record<string, string> = { paper: 'automerge-paper trace', blog1: 'seph-blog1 trace' }

function traceTable(r: Results): string {
  const tables = Object.keys(traceTitles)
    .filter((name) => r.results.some((x) => x.name.startsWith(`trace.${name}.`)))
    .map((name) => oneTraceTable(r, name))
  if (r.results.some((x) => x.name.startsWith('trace.friendsforever.'))) tables.push(concurrentTraceTable(r))
  return [...tables, 'Chart: [bench/results/trace.png](bench/results/trace.png) ([HTML](bench/results/trace.html)).'].join('\n\n')
}

function concurrentTraceTable(r: Results): string {
  const { get, cell } = metrics(r, 'trace.friendsforever.')
  const floor = r.results.find((x) => x.name === 'trace.floorMs')
  const rows: [string, string][] = [
    ['total time until all 3 tabs hold the final text', 'totalMs'],
    ['transactions per second (end to end)', 'editsPerSec'],
    ['time until the other tabs show a transaction, p50', 'latencyMs.p50'],
    ['… p99', 'latencyMs.p99'],
    ['bytes sent on the data channels (all tabs)', 'bytesSent'],
    ['bytes kept in IndexedDB per tab (every value and key)', 'bytesStored'],
    ['heap (page + workers), per tab', 'heapBytes'],
    ['text commands issued', 'commands'],
  ]
  const lines = ['| friendsforever (concurrent: 2 authors) | Concord, typing on | Concord, each acknowledged first | Yjs + y-webrtc + y-indexeddb |', '|---|---|---|---|']
  for (const [label, key] of rows) lines.push(`| ${label} | ${cell(`concordTypingOn.${key}`)} | ${cell(`concord.${key}`)} | ${cell(`yjs.${key}`)} |`)
  lines.push('', `${get('edits')?.value.toLocaleString('en') ?? '—'} transactions by two authors, one tab per author typing its own as recorded (each positioned in the version its author had seen), a third tab watching; every tab ends with the trace's final text, in every column. The same driver types for all, in the trace's order: an author types a transaction once every earlier transaction of the trace is in its view. Typing on, a Concord author types on while its edit is in flight, as a person at an editor does, and what it typed meanwhile goes as the next command (TraceAuthor.typeOn; Yjs, too, waits for no acknowledgement). Each acknowledged first, it types a transaction only once its previous one is acknowledged, so each is one command and one consensus round: that column's latency is a round's. Physical floor in the same run (one data-channel round trip + one strict IndexedDB commit): ${floor ? format(floor.value, floor.unit) : '—'}. Measured on ${r.machine}, ${r.browser ?? 'no browser'}.`)
  return lines.join('\n')
}

function scaleTable(r: Results): string {
  const { get, cell } = metrics(r, '')
  const rooms = [...new Set(r.results.map((x) => /^consensus\.r(\d+)\./.exec(x.name)?.[1]).filter((n): n is string => n !== undefined))].sort((a, b) => Number(a) - Number(b))
  const lines = [
    '| tabs | commit p50 / p99, leader tab | follower tab | calls/s one at a time | calls/s pipelined | calls/s, pipeline of one | failover |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const n of rooms) {
    const p = `consensus.r${n}.`
    lines.push(`| ${n} | ${cell(`${p}commitMs.leader.p50`)} / ${cell(`${p}commitMs.leader.p99`)} | ${cell(`${p}commitMs.follower.p50`)} / ${cell(`${p}commitMs.follower.p99`)} | ${cell(`${p}callsPerSec.oneAtATime`)} | ${cell(`${p}callsPerSec`)} | ${cell(`${p}unpipelined.callsPerSec`)} | ${cell(`${p}failoverMs`)} |`)
  }
  lines.push('', `Physical floor in the same run (one data-channel round trip + one strict IndexedDB commit): ${cell('consensus.floorMs')}.`, '')
  lines.push('| text size | load (edits of 200 KB) | edit p50 / p99 | edits/s one at a time |', '|---|---|---|---|')
  for (const size of ['1KB', '10KB', '100KB', '1MB', '10MB']) {
    const p = `scale.doc.${size}.`
    if (get(`${p}editMs.p50`) === undefined) continue
    lines.push(`| ${size.replace('KB', ' KB').replace('MB', ' MB')} | ${cell(`${p}loadMs`)} | ${cell(`${p}editMs.p50`)} / ${cell(`${p}editMs.p99`)} | ${cell(`${p}editsPerSec.oneAtATime`)} |`)
  }
  lines.push('', `All tabs in one browser; a text edit is one character typed in the leader's tab of a room of 3, timed until it is issued. Measured on ${r.machine}, ${r.browser ?? 'no browser'}. Charts: [bench/results/scale.png](bench/results/scale.png) ([HTML](bench/results/scale.html)).`)
  return lines.join('\n')
}

function oneTraceTable(r: Results, name: string): string {
  const get = (metric: string) => r.results.find((x) => x.name === `trace.${name}.${metric}`)
  const rows: [string, string][] = [
    ['total time until all 3 tabs hold the final text', 'totalMs'],
    ['keystrokes per second (end to end)', 'editsPerSec'],
    ['time until the other tabs show a keystroke, p50', 'latencyMs.p50'],
    ['… p99', 'latencyMs.p99'],
    ['bytes sent on the data channels (all tabs)', 'bytesSent'],
    ['bytes kept in IndexedDB per tab (every value and key)', 'bytesStored'],
    ['… as Chromium counts its disk use (compressed, lagging)', 'diskBytes'],
    ['heap (page + workers), per tab', 'heapBytes'],
  ]
  const lines = [`| ${traceTitles[name]} | Concord | Yjs + y-webrtc + y-indexeddb |`, '|---|---|---|']
  for (const [label, key] of rows) {
    const c = get(`concord.${key}`)
    const y = get(`yjs.${key}`)
    lines.push(`| ${label} | ${c ? format(c.value, c.unit) : '—'} | ${y ? format(y.value, y.unit) : '—'} |`)
  }
  const snap = get('concordSnapshot64.bytesStored')
  const snapDisk = get('concordSnapshot64.diskBytes')
  const edits = get('edits')
  const alone = get('typingAloneMs')
  lines.push('')
  if (snap !== undefined) lines.push(`With snapshots every 64 commands instead of the default 4,096 (a setting of the room), Concord keeps ${format(snap.value, snap.unit)} per tab (${snapDisk ? format(snapDisk.value, snapDisk.unit) : '—'} by Chromium's count).`, '')
  const paced = get('yjs.totalMs') !== undefined ? ` Yjs types in steps of ${yjsPaceEvery.toLocaleString('en')} keystrokes, each waiting until every tab shows the step and y-indexeddb has written it (unpaced, on profiles on disk, its browsers fell ever further behind and the replay did not finish in 20–27 minutes); the waits count in its time.` : ''
  lines.push(`${edits?.value.toLocaleString('en')} keystrokes, one tab typing and two following, each tab in its own browser (a profile of its own, on disk). Floor in the same run: the same keystrokes into a plain string, no sync: ${alone ? format(alone.value, alone.unit) : '—'}.${paced} Measured on ${r.machine}, ${r.browser ?? 'no browser'}.`)
  return lines.join('\n')
}

const crdtScenarios: [string, string][] = [
  ['b1_1', 'B1.1 append N chars'],
  ['b1_2', 'B1.2 insert a string of N'],
  ['b1_3', 'B1.3 prepend N chars'],
  ['b1_4', 'B1.4 N chars at random positions'],
  ['b1_5', 'B1.5 N words at random positions'],
  ['b1_6', 'B1.6 insert a string of N, delete it'],
  ['b1_7', 'B1.7 insert/delete strings at random'],
  ['b2_1', 'B2.1 two users insert N at 0'],
  ['b2_2', 'B2.2 two users, N chars at random'],
  ['b2_3', 'B2.3 two users, N words at random'],
  ['b2_4', 'B2.4 two users insert & delete'],
  ['b3_5', 'B3.5 20√N users insert at 0'],
  ['b4', 'B4 automerge-paper trace'],
]

function crdtTable(r: Results): string {
  const { get, cell } = metrics(r, 'crdt.')
  const systems = ['concord', 'yjs', 'automerge']
  const lines = [
    '| scenario (ops) | time: Concord | Yjs | Automerge | bytes sent: Concord | Yjs | Automerge | document: Concord | Yjs | Automerge |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const [id, label] of crdtScenarios) {
    const ops = get(`${id}.ops`)
    if (ops === undefined) continue
    const row = [`${label} (${ops.value.toLocaleString('en')})`]
    for (const metric of ['totalMs', 'bytes', 'docBytes']) for (const system of systems) row.push(cell(`${id}.${system}.${metric}`))
    lines.push(`| ${row.join(' | ')} |`)
  }
  const n = get('n')
  const refused = get('b3_5.concord.refusedStale')
  lines.push('')
  lines.push(`N = ${n?.value.toLocaleString('en') ?? '—'}. Time: first edit until every replica holds the final text (Concord: 3 replicas, each edit a call agreed by a majority; CPU times are in bench/results/crdt.json). Bytes: CRDTs, the update messages once; Concord, every frame among the 3 replicas. Document: CRDTs, the encoded document; Concord, the replicated state as JSON (the text, its version and the last 500 edits).${refused ? ` In B3.5, ${refused.value.toLocaleString('en')} Concord edits were refused as more than 500 versions behind and made again.` : ''} Measured on ${r.machine}.`)
  return lines.join('\n')
}

let readme = readFileSync(join(root, 'README.md'), 'utf8')
function sizeTable(r: Results): string {
  const labels: Record<string, string> = {
    'client.jsGzipBytes': '`@concord/client` (the main-thread library: openStore, the WebRTC mesh with simple-peer, the state mirror)',
    'baseline.yjsWebrtc.jsGzipBytes': 'Yjs + y-webrtc, bundled the same way (baseline)',
    'apps.editor.jsGzipBytes': 'apps/editor, initial JS (with CodeMirror)',
    'apps.warehouse.jsGzipBytes': 'apps/warehouse, initial JS (with React)',
    'apps.game.jsGzipBytes': 'apps/game, initial JS (with React)',
    'apps.inspector.jsGzipBytes': 'apps/inspector, initial JS',
  }
  const lines = ['| what a user downloads (minified, gzip -9) | bytes |', '|---|---|']
  for (const x of r.results) lines.push(`| ${labels[x.name] ?? x.name} | ${format(x.value, x.unit)} |`)
  lines.push('', `Measured on ${r.machine} (\`npm run bench:sizes\`). The replica (core, storage, the machine) runs in the app's worker, a file of its own loaded after the page: it is in none of these rows. The client is over the 20 KB goal because of simple-peer (about 16 KB of it: simple-peer, streamx, events), a required dependency; with a small hand-written peer in its place the client measured 22 KB.`)
  return lines.join('\n')
}

function browserTable(r: Results): string {
  const { get, cell } = metrics(r, 'browser.')
  const floor = get('floorMs')?.value
  const leader = get('commitMs.leader.p50')?.value
  const oneBrowser = get('floorMs.oneBrowser')?.value
  // The leader's call against each floor measured: " (4.0× the floor; 2.9× the one-browser floor)".
  const against = (f: number | undefined, name: string) => (f === undefined || leader === undefined ? [] : [`${(leader / f).toFixed(1)}× ${name}`])
  const ratios = [...against(floor, 'the floor'), ...against(oneBrowser, 'the one-browser floor')]
  const ratio = ratios.length > 0 ? ` (${ratios.join('; ')})` : ''
  const lines = ['| 3 tabs of one room | value |', '|---|---|']
  lines.push(`| physical floor: one data-channel round trip + one strict IndexedDB commit | ${cell('floorMs')} (${cell('dataChannelRttMs.p50')} + ${cell('idbStrictCommitMs.p50')}) |`)
  if (oneBrowser !== undefined) lines.push(`| … for tabs of one browser: one round trip + two strict commits started together in two databases (the browser runs them in turn) | ${cell('floorMs.oneBrowser')} (${cell('dataChannelRttMs.p50')} + ${cell('idbPairedStrictCommitMs.p50')}) |`)
  lines.push(`| commit latency of a call from the leader's tab, p50 / p99 | ${cell('commitMs.leader.p50')}${ratio} / ${cell('commitMs.leader.p99')} |`)
  lines.push(`| … from a follower's tab, p50 / p99 | ${cell('commitMs.follower.p50')} / ${cell('commitMs.follower.p99')} |`)
  if (get('workerRoundTripMs.p50') !== undefined) lines.push(`| a round trip between a tab and its worker with no call (its status), p50: every call makes this round trip, which neither floor has | ${cell('workerRoundTripMs.p50')} |`)
  if (get('cpuMsPerCall.total') !== undefined) {
    lines.push(`| CPU a leader's call costs the whole browser (all processes): browser process (its IndexedDB backend) + the 3 tabs' renderers + network service | ${cell('cpuMsPerCall.total')} (${cell('cpuMsPerCall.browserProcess')} + ${cell('cpuMsPerCall.renderers')} + ${cell('cpuMsPerCall.network')}) |`)
    lines.push(`| … the machine's cores busy meanwhile | ${cell('cpuBusyPercent')} |`)
  }
  if (get('commitMs.leader.memoryStorage.p50') !== undefined) lines.push(`| the same calls in a room whose replicas keep their storage in memory (no IndexedDB; not a mode to ship), p50, and their CPU per call | ${cell('commitMs.leader.memoryStorage.p50')}, ${cell('cpuMsPerCall.total.memoryStorage')} of CPU |`)
  if (get('idbStrictCommitCpuMs.browserProcess') !== undefined) lines.push(`| CPU of one strict commit, alone, in the browser process | ${cell('idbStrictCommitCpuMs.browserProcess')} |`)
  lines.push(`| calls/s, pipelined, from the leader's tab | ${cell('callsPerSec')} |`)
  lines.push(`| failover: the leader's tab closed until a survivor's call is applied | ${cell('failoverMs')} |`)
  lines.push(`| an idle room: bytes the 3 tabs send per second on their data channels | ${cell('idleBytesPerSec')} |`)
  lines.push('', `Measured on ${r.machine}, ${r.browser ?? 'no browser'} (\`npm run bench\`, \`bench/results/browser.json\`).`)
  return lines.join('\n')
}

function coreTable(r: Results): string {
  const { get } = metrics(r, 'core.')
  // Bare numbers: the header says the unit.
  const cell = (name: string) => {
    const x = get(name)
    return x === undefined ? '—' : x.unit === 'µs' ? x.value.toFixed(1) : x.value.toLocaleString('en')
  }
  const lines = ['| replicas | α | commands/s (leader core) | leader µs/command | all replicas µs/command |', '|---|---|---|---|---|']
  for (const n of [3, 5]) for (const a of [1, 8, 64]) lines.push(`| ${n} | ${a} | ${cell(`commandsPerSec.r${n}.a${a}`)} | ${cell(`cpuPerCommand.r${n}.a${a}`)} | ${cell(`clusterCpuPerCommand.r${n}.a${a}`)} |`)
  lines.push('', `The floor in the same run (the app's functions and applies alone, no protocol): ${cell('floor.machineOnly.r3')} commands/s for 3 replicas. A logged command takes about ${cell('memory.bytesPerCommand')} bytes per replica until log clearing drops it behind a snapshot. Measured on ${r.machine}.`)
  return lines.join('\n')
}

const areas: Record<string, (r: Results) => string> = { trace: traceTable, scale: scaleTable, crdt: crdtTable, size: sizeTable, browser: browserTable, core: coreTable }
for (const [area, table] of Object.entries(areas)) {
  const results = load(area)
  const start = `<!-- bench:${area} -->`
  const end = `<!-- /bench:${area} -->`
  const a = readme.indexOf(start)
  const b = readme.indexOf(end)
  if (results === null || a < 0 || b < a) continue
  readme = `${readme.slice(0, a + start.length)}\n${table(results)}\n${readme.slice(b)}`
}
writeFileSync(join(root, 'README.md'), readme)
console.log('README.md tables rewritten from bench/results')
