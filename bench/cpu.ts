import { readFileSync, readdirSync } from 'node:fs'
import { cpus } from 'node:os'

/**
 * CPU time spent by the processes of one Chromium (the browser process, its
 * renderers, its network service and other helpers), read from Linux's
 * /proc: what a stretch of work costs the whole machine, not only the
 * threads a JavaScript profiler sees. On a 2-core machine a call that costs
 * 5 ms of CPU over every process cannot take much less than 2.5 ms however
 * its messages and commits are ordered. Null where /proc is not there.
 */
export type ProcessKind = 'browser' | 'renderer' | 'network' | 'other'

export interface CpuSample {
  /** Clock ticks (user + system) per process, by pid. */
  perProcess: Map<number, { kind: ProcessKind; ticks: number }>
  /** All cores' busy and total ticks (/proc/stat). */
  busy: number
  total: number
}

/** Clock ticks per second of /proc's counters (USER_HZ: 100 on Linux). */
const ticksPerSecond = 100

function kindOf(cmdline: string): ProcessKind {
  const type = /--type=([\w-]+)/.exec(cmdline)?.[1]
  if (type === undefined) return 'browser'
  if (type === 'renderer') return 'renderer'
  if (type === 'utility' && cmdline.includes('network.mojom.NetworkService')) return 'network'
  return 'other'
}

/** A sample of the processes whose command line holds `marker` (a browser's profile directory), or null off Linux. */
export function sampleCpu(marker: string): CpuSample | null {
  let stat: string
  try {
    stat = readFileSync('/proc/stat', 'utf8')
  } catch {
    return null
  }
  const fields = stat.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  const total = fields.reduce((a, b) => a + b, 0)
  const perProcess = new Map<number, { kind: ProcessKind; ticks: number }>()
  for (const { pid, kind } of processesOf(marker)) {
    try {
      perProcess.set(pid, { kind, ticks: statTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks })
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return { perProcess, busy: total - idle, total }
}

/** The processes whose command line holds `marker`, and what kind each is. */
function* processesOf(marker: string): Iterable<{ pid: number; kind: ProcessKind }> {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let cmdline: string
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')
    } catch {
      continue // ended since the listing
    }
    if (cmdline.includes(marker)) yield { pid: Number(entry), kind: kindOf(cmdline) }
  }
}

/** A /proc stat line's command name and CPU ticks (user + system). */
export function statTicks(line: string): { name: string; ticks: number } {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const after = line.slice(line.lastIndexOf(')') + 2).split(' ')
  return { name: line.slice(line.indexOf('(') + 1, line.lastIndexOf(')')), ticks: Number(after[11]) + Number(after[12]) }
}

/**
 * CPU ticks of every thread of the processes whose command line holds
 * `marker`, keyed `kind pid/tid name` (Chromium names its threads:
 * DedicatedWorker, WebRTC_W_and_N, ThreadPoolForeg… for the IndexedDB
 * backend, the renderer's main thread takes the executable's name).
 */
export function sampleThreads(marker: string): Map<string, number> {
  const ticks = new Map<string, number>()
  for (const { pid, kind } of processesOf(marker)) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const thread = statTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'))
        ticks.set(`${kind} ${pid}/${tid} ${thread.name}`, thread.ticks)
      }
    } catch {
      // The process or thread ended between the listing and the read.
    }
  }
  return ticks
}

/** Milliseconds of CPU per operation between two thread samples. */
export function threadMsPerOp(before: Map<string, number>, after: Map<string, number>, operations: number): Map<string, number> {
  const ms = new Map<string, number>()
  for (const [key, ticks] of after) {
    const spent = ((ticks - (before.get(key) ?? 0)) * 1000) / ticksPerSecond / operations
    if (spent > 0) ms.set(key, spent)
  }
  return ms
}

/** CPU milliseconds per operation, by kind of process, between two samples; and the share of all cores that was busy. */
export function cpuBetween(before: CpuSample, after: CpuSample, operations: number): { msPerOp: Record<ProcessKind, number>; busyShare: number } {
  const msPerOp: Record<ProcessKind, number> = { browser: 0, renderer: 0, network: 0, other: 0 }
  for (const [pid, { kind, ticks }] of after.perProcess) {
    const was = before.perProcess.get(pid)?.ticks ?? 0
    msPerOp[kind] += ((ticks - was) * 1000) / ticksPerSecond / operations
  }
  const busyShare = (after.busy - before.busy) / Math.max(1, after.total - before.total)
  return { msPerOp, busyShare }
}

export const coreCount = cpus().length
