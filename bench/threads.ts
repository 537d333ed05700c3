/**
 * Where a call's CPU goes, thread by thread: Linux's per-thread counters
 * (/proc/<pid>/task) for every process of the browser while the leader tab
 * of a 3-tab room makes sequential calls, as the browser benchmark does.
 * Unlike a JavaScript profile (bench:profile) it sees the threads no
 * profiler reaches (the IndexedDB backend in the browser process, WebRTC's
 * network thread, IPC) and costs nothing to the threads it measures. Not
 * part of `npm run bench`: a tool for issue 4's latency work.
 *
 *   npx tsx bench/threads.ts [calls] [--memory]
 *
 * --memory: the replicas keep their storage in memory (no IndexedDB).
 */
import { sampleThreads, threadMsPerOp } from './cpu.ts'
import { leaderOf, openRoomTabs, percentile, round, startRig, timeCalls, warmUpCalls } from './browser.ts'

const calls = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2000)
const memory = process.argv.includes('--memory')

const rig = await startRig()
try {
  const context = await rig.newContext()
  const profile = rig.profileOf(context)
  const tabs = await openRoomTabs(context, `${rig.base}/room.html?room=threads-${Date.now()}&slots=3&signaling=${encodeURIComponent(rig.signalingUrl)}${memory ? '&storage=memory' : ''}`, 3)
  const leader = await leaderOf(tabs)
  await timeCalls(leader, warmUpCalls)
  const before = sampleThreads(profile)
  const started = Date.now()
  const times = await timeCalls(leader, calls)
  const wallMs = Date.now() - started
  const perThread = threadMsPerOp(before, sampleThreads(profile), calls)
  // Threads of one name in one kind of process, added up (the three renderers' workers, the backend's pool).
  const perName = new Map<string, number>()
  for (const [key, ms] of perThread) {
    const [kind, , name] = key.split(' ')
    const group = `${kind} ${name!.replace(/\d+$/, '')}`
    perName.set(group, (perName.get(group) ?? 0) + ms)
  }
  const total = [...perThread.values()].reduce((a, b) => a + b, 0)
  console.log(`${calls} sequential calls from the leader tab${memory ? ' (storage in memory)' : ''}: p50 ${round(percentile(times, 50))} ms, ${round(wallMs / calls)} ms of wall time and ${round(total)} ms of CPU per call`)
  console.log('\nCPU per call by thread name (threads of one name added up):')
  for (const [group, ms] of [...perName].sort((a, b) => b[1] - a[1])) if (ms >= 0.005) console.log(`  ${ms.toFixed(3).padStart(7)} ms  ${group}`)
  console.log('\nthe busiest threads:')
  for (const [key, ms] of [...perThread].sort((a, b) => b[1] - a[1]).slice(0, 16)) console.log(`  ${ms.toFixed(3).padStart(7)} ms  ${key}`)
} finally {
  await rig.close()
}
