import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from '@playwright/test'
import { chromiumPath } from '../e2e/playwright.config.ts'
import type { BenchResult } from './results.ts'

/**
 * A chart per benchmark (issue 7): bench/results/<area>.html (inline SVG) and
 * <area>.png (that page, rendered by the same Chromium the benchmarks use),
 * drawn from bench/results/<area>.json alone. Three kinds of panel:
 *  - curves: figures per room size (`….r<N>.…`) or per document size
 *    (`scale.doc.<size>.…`), one line per figure;
 *  - comparisons: one figure measured for several systems (`….concord.…`,
 *    `….yjs.…`, `….automerge.…`), one bar per system;
 *  - the rest: one bar per figure, a panel per unit.
 * `npm run bench:charts` redraws them; `npm run bench` does at its end.
 */
type Results = { machine: string; browser: string | null; results: BenchResult[] }
const resultsDir = join(import.meta.dirname, 'results')
const systems = ['concord', 'concordSnapshot64', 'concordTypingOn', 'yjs', 'automerge']
const palette = ['#3060c0', '#d05030', '#30a050', '#a040b0', '#c0a020', '#40a0c0', '#805030', '#606060']
const docSizeOrder = ['1KB', '10KB', '100KB', '1MB', '10MB']

type Curve = { title: string; unit: string; xs: string[]; series: Map<string, Map<string, number>> }
type Bars = { title: string; unit: string; bars: [label: string, value: number][] }

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const fmt = (v: number) => (Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : Math.abs(v) >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : `${Math.round(v * 100) / 100}`)

export function panels(results: BenchResult[]): { curves: Curve[]; bars: Bars[] } {
  const curves = new Map<string, Curve>()
  const comparisons = new Map<string, Bars>()
  const rest = new Map<string, Bars>()
  for (const r of results) {
    const parts = r.name.split('.')
    const room = parts.findIndex((p) => /^r\d+$/.test(p))
    const doc = parts[0] === 'scale' && parts[1] === 'doc' ? 2 : -1
    const at = room >= 0 ? room : doc
    if (at >= 0) {
      // A curve: x is the room size or the document size; the figure's name without it picks the line.
      const x = room >= 0 ? parts[at]!.slice(1) : parts[at]!
      const line = parts.slice(at + 1).join('.')
      // One chart per family of figures (commitMs, failoverMs, callsPerSec…): a failover's seconds would flatten a commit's milliseconds.
      const family = parts.slice(at + 1).find((p) => /(Ms|PerSec)$/.test(p)) ?? r.unit
      const key = `${parts.slice(0, at).join('.')}|${r.unit}|${family}`
      const curve: Curve = curves.get(key) ?? { title: `${parts.slice(0, at).join('.')} ${family} (${r.unit}) by ${room >= 0 ? 'tabs in the room' : 'document size'}`, unit: r.unit, xs: [], series: new Map() }
      if (!curve.xs.includes(x)) curve.xs.push(x)
      const series = curve.series.get(line) ?? new Map<string, number>()
      series.set(x, r.value)
      curve.series.set(line, series)
      curves.set(key, curve)
      continue
    }
    const system = parts.findIndex((p) => systems.includes(p))
    if (system >= 0) {
      const title = [...parts.slice(0, system), ...parts.slice(system + 1)].join('.')
      const panel: Bars = comparisons.get(title) ?? { title: `${title} (${r.unit})`, unit: r.unit, bars: [] }
      panel.bars.push([parts[system]!, r.value])
      comparisons.set(title, panel)
      continue
    }
    const panel: Bars = rest.get(r.unit) ?? { title: `${parts[0]} (${r.unit})`, unit: r.unit, bars: [] }
    panel.bars.push([parts.slice(1).join('.'), r.value])
    rest.set(r.unit, panel)
  }
  for (const curve of curves.values()) {
    curve.xs.sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : docSizeOrder.indexOf(a) - docSizeOrder.indexOf(b)))
  }
  return { curves: [...curves.values()].filter((c) => c.xs.length > 1), bars: [...comparisons.values(), ...rest.values()] }
}

function curveSvg(c: Curve): string {
  const w = 460
  const h = 260
  const left = 56
  const bottom = 40
  const top = 28
  const right = 150
  const values = [...c.series.values()].flatMap((s) => [...s.values()])
  const max = Math.max(...values, 0) * 1.1 || 1
  const x = (i: number) => left + (c.xs.length === 1 ? 0 : (i / (c.xs.length - 1)) * (w - left - right))
  const y = (v: number) => h - bottom - (v / max) * (h - bottom - top)
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">`, `<text x="4" y="14" font-weight="bold">${escape(c.title)}</text>`]
  for (let t = 0; t <= 4; t++) {
    const v = (max / 4) * t
    out.push(`<line x1="${left}" x2="${w - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 4}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`)
  }
  c.xs.forEach((label, i) => out.push(`<text x="${x(i)}" y="${h - bottom + 16}" text-anchor="middle">${escape(label)}</text>`))
  ;[...c.series.entries()].forEach(([name, points], s) => {
    const color = palette[s % palette.length]
    const coords = c.xs.map((label, i) => (points.has(label) ? [x(i), y(points.get(label)!)] : null)).filter((p): p is number[] => p !== null)
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${coords.map((p) => p.join(',')).join(' ')}"/>`)
    for (const [px, py] of coords) out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`)
    out.push(`<rect x="${w - right + 10}" y="${top + s * 16 - 8}" width="10" height="10" fill="${color}"/><text x="${w - right + 24}" y="${top + s * 16 + 1}">${escape(name)}</text>`)
  })
  out.push('</svg>')
  return out.join('')
}

function barsSvg(b: Bars): string {
  const rowH = 18
  const labelW = 260
  const w = 620
  const h = 26 + b.bars.length * rowH
  const max = Math.max(...b.bars.map(([, v]) => Math.abs(v)), 0) || 1
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="11">`, `<text x="4" y="14" font-weight="bold">${escape(b.title)}</text>`]
  b.bars.forEach(([label, value], i) => {
    const y = 22 + i * rowH
    const len = (Math.abs(value) / max) * (w - labelW - 80)
    out.push(`<text x="${labelW - 6}" y="${y + 12}" text-anchor="end">${escape(label)}</text><rect x="${labelW}" y="${y + 2}" width="${len}" height="${rowH - 5}" fill="${palette[systems.includes(label) ? systems.indexOf(label) : 0]}"/><text x="${labelW + len + 4}" y="${y + 12}">${fmt(value)}</text>`)
  })
  out.push('</svg>')
  return out.join('')
}

export function chartHtml(area: string, r: Results): string {
  const { curves, bars } = panels(r.results)
  const figures = [...curves.map(curveSvg), ...bars.map(barsSvg)].map((svg) => `<figure>${svg}</figure>`).join('\n')
  return `<!doctype html><html><head><meta charset="utf-8"><title>Concord bench: ${escape(area)}</title><style>body{font-family:sans-serif;margin:16px;width:1300px}figure{display:inline-block;margin:8px;vertical-align:top}</style></head><body><h1>${escape(area)}</h1><p>${escape(r.machine)}${r.browser ? `; ${escape(r.browser)}` : ''}. Drawn from bench/results/${escape(area)}.json.</p>\n${figures}\n</body></html>\n`
}

export async function drawCharts(): Promise<string[]> {
  const written: string[] = []
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu'] })
  try {
    const page = await browser.newPage({ viewport: { width: 1340, height: 600 } })
    for (const file of readdirSync(resultsDir).filter((f) => f.endsWith('.json')).sort()) {
      const area = file.replace(/\.json$/, '')
      const html = chartHtml(area, JSON.parse(readFileSync(join(resultsDir, file), 'utf8')) as Results)
      writeFileSync(join(resultsDir, `${area}.html`), html)
      await page.setContent(html)
      await page.screenshot({ path: join(resultsDir, `${area}.png`), fullPage: true })
      written.push(`${area}.html`, `${area}.png`)
    }
  } finally {
    await browser.close()
  }
  return written
}

if (process.argv[1]?.endsWith('charts.ts')) console.log(`charts: ${(await drawCharts()).join(', ')}`)
