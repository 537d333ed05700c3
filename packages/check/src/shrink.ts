import type { CallScript, SimConfig } from '@concord/sim'
import { failureKind, type Checker, type FailureKind, type MinimalCase } from './check.ts'

/**
 * Shrinking a failing run to the fewest calls that still fail the same way
 * (Zeller's delta debugging over the run's call slots). The run's faults come
 * from the seed, so each try replays the same seed with some calls taken
 * out; the calls left keep their client and turn. First it tries the same
 * calls with no faults at all: a bug that shows without crashes is the app's
 * logic alone, and its report should say so.
 */
export const shrinkRunsMax = 400

/** No faults: no crashes, partitions, loss, duplication or reordering. */
export function calmConfig(config: SimConfig): SimConfig {
  return { ...config, chaosInterval: Infinity, crashes: false, partitions: false, loss: 0, duplicate: 0, delaySpike: 0 }
}

export function shrink(checker: Checker, original: SimConfig, kind: FailureKind): MinimalCase {
  let runs = 0
  const fails = (config: SimConfig, script: CallScript): boolean => {
    runs++
    return failureKind(checker.run(config, script).result.violations) === kind
  }
  const recorded = checker.run(original).simulation.callScript()
  let config = original
  let script = recorded
  let needsFaults = true
  if (fails(calmConfig(original), recorded)) {
    config = calmConfig(original)
    needsFaults = false
  } else if (!fails(original, recorded)) {
    // The recorded script does not replay the failure (it should: the calls
    // draw from their own stream); report the run as it was.
    return finish(checker, original, recorded, needsFaults, runs)
  }
  const budgetLeft = () => runs < shrinkRunsMax
  script = removeCalls(script, (candidate) => fails(config, candidate), budgetLeft)
  // A call is often kept only for its timing: it brings another client's
  // call to the moment of the race. Moving a client's calls to earlier turns
  // (dropping its leading empty slots) can let those go too.
  for (let moved = true; moved && budgetLeft(); ) {
    moved = false
    for (const client of Object.keys(script)) {
      const slots = script[client]!
      let lead = 0
      while (lead < slots.length && slots[lead] === null) lead++
      for (let cut = lead; cut >= 1 && budgetLeft(); cut = Math.floor(cut / 2)) {
        const candidate = { ...script, [client]: slots.slice(cut) }
        if (fails(config, candidate)) {
          script = removeCalls(candidate, (c) => fails(config, c), budgetLeft)
          moved = true
          break
        }
      }
    }
  }
  return finish(checker, config, compact(script), needsFaults, runs)
}

/** Zeller's ddmin over the occupied slots: the calls whose removal keeps the failure go. */
function removeCalls(script: CallScript, fails: (script: CallScript) => boolean, budgetLeft: () => boolean): CallScript {
  let slots = occupied(script)
  let chunk = Math.max(1, Math.ceil(slots.length / 2))
  while (budgetLeft()) {
    let removedAny = false
    for (let i = 0; i < slots.length && budgetLeft(); ) {
      const without = slots.slice(i, i + chunk)
      const candidate = emptySlots(script, without)
      if (fails(candidate)) {
        script = candidate
        slots = occupied(script)
        removedAny = true
      } else {
        i += chunk
      }
    }
    if (chunk === 1 && !removedAny) break
    if (!removedAny || chunk > 1) chunk = Math.max(1, Math.floor(chunk / 2))
  }
  return script
}

function finish(checker: Checker, config: SimConfig, script: CallScript, needsFaults: boolean, runs: number): MinimalCase {
  const { simulation } = checker.run(config, script)
  return { needsFaults, calls: simulation.calls(), config, script, runs }
}

type Slot = [client: string, index: number]

function occupied(script: CallScript): Slot[] {
  const out: Slot[] = []
  for (const [client, slots] of Object.entries(script)) slots.forEach((call, index) => call !== null && out.push([client, index]))
  return out
}

function emptySlots(script: CallScript, remove: readonly Slot[]): CallScript {
  const out: CallScript = {}
  for (const [client, slots] of Object.entries(script)) out[client] = [...slots]
  for (const [client, index] of remove) out[client]![index] = null
  return out
}

/** Trailing empty slots add nothing. */
function compact(script: CallScript): CallScript {
  const out: CallScript = {}
  for (const [client, slots] of Object.entries(script)) {
    let end = slots.length
    while (end > 0 && slots[end - 1] === null) end--
    out[client] = slots.slice(0, end)
  }
  return out
}
