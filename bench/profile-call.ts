/**
 * Where a call's CPU goes: a V8 CPU profile of every thread of a 3-tab room
 * (each tab's page and worker) while the leader tab makes sequential calls,
 * as the browser benchmark does. Prints, per thread, the CPU time per call
 * and the functions that take most of it (self time). Not part of
 * `npm run bench`: a tool for issue 4's latency work.
 *
 *   npx tsx bench/profile-call.ts [calls] [--follower]
 */
import { leaderOf, openRoomTabs, pageThreads, startRig, timeCalls, percentile, round, type PageThreads } from './browser.ts'

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
type Profile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const calls = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 500)
const fromFollower = process.argv.includes('--follower')
const samplingUs = Number(process.env.PROFILE_SAMPLING_US ?? 50)

/** The same CDP command in a page and in each of its workers, in turn. */
async function inAll(threads: PageThreads, method: string, params: object = {}): Promise<unknown[]> {
  const results: unknown[] = [await threads.session.send(method as 'Profiler.enable', params as never)]
  for (const worker of threads.workers) results.push(await threads.inWorker(worker, method, params))
  return results
}

/** Self time per function (ms), from the samples. */
function selfTimes(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const times = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!
    const f = node.callFrame
    const file = f.url.split('/').slice(-2).join('/').replace(/\?.*$/, '')
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`
    times.set(key, (times.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000)
  }
  return times
}

const rig = await startRig()
try {
  const context = await rig.newContext()
  const url = `${rig.base}/room.html?room=profile-${Date.now()}&slots=3&signaling=${encodeURIComponent(rig.signalingUrl)}`
  const tabs = await openRoomTabs(context, url, 3)
  const leader = await leaderOf(tabs)
  const caller = fromFollower ? tabs.find((t) => t !== leader)! : leader
  await timeCalls(caller, 50) // warm-up
  const threads = await Promise.all(tabs.map((t) => pageThreads(t)))
  for (const t of threads) {
    await inAll(t, 'Profiler.enable')
    await inAll(t, 'Profiler.setSamplingInterval', { interval: samplingUs })
    await inAll(t, 'Profiler.start')
  }
  const times = await timeCalls(caller, calls)
  const profiles: Profile[][] = []
  for (const t of threads) profiles.push((await inAll(t, 'Profiler.stop')).map((r) => (r as { profile: Profile }).profile))
  console.log(`${calls} sequential calls from the ${fromFollower ? 'follower' : 'leader'} tab: p50 ${round(percentile(times, 50))} ms, mean ${round(times.reduce((a, b) => a + b, 0) / times.length)} ms`)
  for (const [i, tabProfiles] of profiles.entries()) {
    const role = tabs[i] === leader ? 'leader' : 'follower'
    for (const [j, profile] of tabProfiles.entries()) {
      const self = selfTimes(profile)
      const idle = (self.get('(idle) :0') ?? 0)
      const wall = (profile.endTime - profile.startTime) / 1000
      const busy = [...self.entries()].filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(program)')).reduce((a, [, v]) => a + v, 0)
      const program = self.get('(program) :0') ?? 0
      console.log(`\n== tab ${i} (${role}${tabs[i] === caller ? ', caller' : ''}) ${j === 0 ? 'page' : `worker ${j}`}: JS ${round(busy / calls)} ms/call, (program) ${round(program / calls)} ms/call, idle ${round(idle)} of ${round(wall)} ms`)
      const top = [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 18)
      for (const [name, ms] of top) console.log(`  ${(ms / calls * 1000).toFixed(1).padStart(7)} µs/call  ${name}`)
    }
  }
} finally {
  await rig.close()
}
