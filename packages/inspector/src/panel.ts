import type { Store } from '@concord/client'
import type { Functions } from '@concord/machine'
import { InspectorModel, problemOf, type EventKind, type TimelineSample } from './model.ts'

/**
 * The replica inspector as a panel any app can embed:
 * `mountInspector(store, element)`. Each second it asks every peer for its
 * report (over the data channels, see @concord/client reports.ts), takes
 * its own, and shows the room: a row per replica (role, ballot, issued /
 * voted / cleared, log size, snapshot, digest, message rate, writes,
 * storage), the recent events and a timeline of each replica's issued
 * instance with the events marked on it.
 */
export const inspectorRefreshMs = 1_000

export interface InspectorOptions {
  refreshMs?: number
  /** Start folded (a summary line) — the apps embed it so. Default false. */
  folded?: boolean
}

export interface MountedPanel {
  close(): void
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const palette = ['#2080f0', '#d03050', '#18a058', '#f0a020', '#8a2be2', '#00a0a0', '#c05621', '#5f6b7a', '#e0559a']
const markColor: Record<EventKind, string> = { election: '#8a2be2', join: '#18a058', leave: '#5f6b7a', network: '#f0a020', storage: '#d03050', 'out-of-sync': '#d03050' }
const styles = `
.concord-inspector { font: 13px/1.4 system-ui, sans-serif; border: 1px solid #d0d7de; border-radius: 8px; padding: 0.5rem 0.7rem; background: #fbfcfd; color: #1b1f24; }
.concord-inspector summary { cursor: pointer; font-weight: 600; }
.concord-inspector table { border-collapse: collapse; width: 100%; margin: 0.4rem 0; font-variant-numeric: tabular-nums; }
.concord-inspector th, .concord-inspector td { text-align: right; padding: 0.1rem 0.4rem; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
.concord-inspector th:first-child, .concord-inspector td:first-child { text-align: left; }
.concord-inspector .leader { color: #1a7f37; font-weight: 600; }
.concord-inspector .stale { color: #8c959f; }
.concord-inspector .bad { color: #cf222e; font-weight: 600; }
.concord-inspector ol { list-style: none; padding: 0; margin: 0.3rem 0; max-height: 9rem; overflow: auto; }
.concord-inspector svg { width: 100%; height: 120px; background: #fff; border: 1px solid #eaeef2; border-radius: 4px; }
.concord-banner { font: 14px/1.4 system-ui, sans-serif; border-radius: 8px; padding: 0.5rem 0.8rem; margin: 0.5rem 0; }
.concord-banner[data-level=warning] { background: #fff8c5; border: 1px solid #d4a72c; }
.concord-banner[data-level=error] { background: #ffebe9; border: 1px solid #cf222e; }
.concord-banner:empty { display: none; }
`

function addStyles(): void {
  if (document.getElementById('concord-inspector-styles') !== null) return
  const style = document.createElement('style')
  style.id = 'concord-inspector-styles'
  style.textContent = styles
  document.head.append(style)
}

/**
 * A banner that says, in words, what a user must know now (offline, a lost
 * peer, no majority, a storage failure or a full disk) and is empty
 * otherwise. Every demo app shows one.
 */
export function mountBanner<F extends Functions>(store: Store<F>, parent: HTMLElement): MountedPanel {
  addStyles()
  const banner = document.createElement('div')
  banner.className = 'concord-banner'
  banner.setAttribute('role', 'status')
  parent.append(banner)
  const render = () => {
    const problem = problemOf(store.status)
    banner.textContent = problem?.text ?? ''
    if (problem !== null) banner.dataset['level'] = problem.level
  }
  render()
  const stop = store.onStatus(render)
  return {
    close() {
      stop()
      banner.remove()
    },
  }
}

export function mountInspector<F extends Functions>(store: Store<F>, parent: HTMLElement, options: InspectorOptions = {}): MountedPanel {
  addStyles()
  const model = new InspectorModel()
  const root = document.createElement('details')
  root.className = 'concord-inspector'
  root.open = options.folded !== true
  root.innerHTML = `<summary>Replica inspector</summary><div data-part="body"></div>`
  parent.append(root)
  const body = root.querySelector<HTMLElement>('[data-part=body]')!
  const summary = root.querySelector('summary')!
  const stops = [
    store.onReport((report) => model.update(report, Date.now())),
    store.onStatus((status) => model.observe(status, Date.now())),
    store.onEvent((event) => model.event(Date.now(), 'out-of-sync', `out of sync: ${event.kind}`)),
  ]
  const tick = () => {
    const now = Date.now()
    store.requestReports()
    store.report().then((report) => model.update(report, Date.now()), () => {})
    model.sample(now)
    model.forget(store.status.members, now)
    render(now)
  }
  const render = (now: number) => {
    const s = store.status
    summary.textContent = `Replica inspector · ${s.replicaId} · ${s.role} · leader ${s.leader ?? '—'} · ballot ${s.ballot} · ${s.members.length} members · issued ${s.lastIssued}`
    if (!root.open) return
    const rows = model.rows(s.members, now)
    const colorOf = (id: string) => palette[[...s.members, ...rows.map((r) => r.report.id)].indexOf(id) % palette.length] ?? palette[0]!
    const table = rows
      .map(({ report: r, stale, messagesPerSec, digestDiffers }) => {
        const role = r.role === 'leader' ? '<span class="leader">leader</span>' : r.role
        return `<tr class="${stale ? 'stale' : ''}" data-replica="${escape(r.id)}">
          <td><span style="color:${colorOf(r.id)}">■</span> ${escape(r.id)}${r.id === s.replicaId ? ' (this tab)' : ''}${stale ? ' · unreachable' : ''}</td>
          <td>${role}</td><td>${escape(r.ballot)}</td><td data-field="issued">${r.issuedUpTo}</td><td>${r.votedUpTo}</td><td>${Math.max(0, r.logStart - 1)}</td>
          <td>${r.logSize}</td><td>${r.snapshotAt}</td><td class="${digestDiffers ? 'bad' : ''}" title="seed 000 digest">${escape(r.digest.slice(0, 8))}</td>
          <td>${messagesPerSec === null ? '…' : messagesPerSec.toFixed(0)}</td><td>${r.writes} (${r.writeMsAverage} ms)</td>
          <td>${r.storageBytes === null ? '—' : `${(r.storageBytes / 1024).toFixed(0)} KiB`}</td>
          <td class="${r.failed !== null ? 'bad' : ''}">${r.failed === null ? 'ok' : escape(r.failed)}</td></tr>`
      })
      .join('')
    const events = model.events
      .slice(0, 20)
      .map((e) => `<li><span style="color:${markColor[e.kind]}">●</span> ${new Date(e.at).toLocaleTimeString()} ${escape(e.text)}</li>`)
      .join('')
    body.innerHTML = `
      <table><thead><tr><th>replica</th><th>role</th><th>ballot</th><th>issued</th><th>voted</th><th>cleared</th><th>log</th><th>snapshot</th><th>digest</th><th>msg/s in</th><th>writes</th><th>origin storage</th><th>storage</th></tr></thead>
      <tbody>${table}</tbody></table>
      ${timeline(model.samples, colorOf)}
      <div><b>Recent events</b><ol data-part="events">${events || '<li class="stale">none yet</li>'}</ol></div>`
  }
  const timer = setInterval(tick, options.refreshMs ?? inspectorRefreshMs)
  tick()
  return {
    close() {
      clearInterval(timer)
      for (const stop of stops) stop()
      root.remove()
    },
  }
}

/** Each replica's issued instance over the last samples, as an SVG chart; events as vertical marks. */
function timeline(samples: readonly TimelineSample[], colorOf: (id: string) => string): string {
  if (samples.length < 2) return '<svg viewBox="0 0 600 120"></svg>'
  const ids = [...new Set(samples.flatMap((s) => Object.keys(s.issued)))]
  const values = samples.flatMap((s) => Object.values(s.issued))
  const low = Math.min(...values, 0)
  const high = Math.max(...values, low + 1)
  const x = (i: number) => ((i / (samples.length - 1)) * 590 + 5).toFixed(1)
  const y = (v: number) => (115 - ((v - low) / (high - low)) * 105).toFixed(1)
  const lines = ids
    .map((id) => {
      const points = samples.flatMap((s, i) => (s.issued[id] === undefined ? [] : [`${x(i)},${y(s.issued[id]!)}`]))
      return `<polyline fill="none" stroke="${colorOf(id)}" stroke-width="1.5" points="${points.join(' ')}"><title>${escape(id)}</title></polyline>`
    })
    .join('')
  const marks = samples
    .flatMap((s, i) => s.events.map((kind) => `<line x1="${x(i)}" x2="${x(i)}" y1="5" y2="115" stroke="${markColor[kind]}" stroke-dasharray="3 2"><title>${kind}</title></line>`))
    .join('')
  return `<svg viewBox="0 0 600 120" role="img" aria-label="issued instance per replica over time">${marks}${lines}<text x="6" y="14" font-size="10" fill="#5f6b7a">issued ${high}</text></svg>`
}
