import { commandCharsMax, type ExecEnv, type ExecOutcome, type Instance, type MachinePort } from '@concord/core'
import { Rejection, type FnContext, type Functions, type MachineDefinition, type Tx } from './define.ts'
import { StateDigest } from './digest.ts'
import { deepFreeze, isJson, type Json } from './json.ts'
import { applyOp, checkWriteSet, keyLengthMax, opsPerCommandMax, type Op, type WriteSet } from './ops.ts'

/**
 * A running machine: the machine state MS (a map of JSON values changed only
 * by issued commands, in order) and the leader state LS, kept as an overlay
 * of the writes of commands proposed but not yet applied to MS ([0071]:
 * "only the differences in state compared to the state of M(p)").
 */
interface OverlayEntry {
  value: Json | undefined
  /** The last instance that wrote it; dropped once MS applied that instance. */
  instance: Instance
}

/** Keys the app's functions may read but not write. */
export const reservedKeyPrefix = '@concord/'
/**
 * The version of the machine the state is laid out for (machines of version
 * 2 and up stamp it; absent, the state is of version 1 — or new, if empty).
 */
export const versionKey = `${reservedKeyPrefix}version`
/** The function a leader calls to bring the room's state up to its machine's version. */
export const upgradeFunction = `${reservedKeyPrefix}upgrade`

export class MachineInstance<F extends Functions = Functions> implements MachinePort {
  private readonly ms = new Map<string, Json>()
  private readonly overlay = new Map<string, OverlayEntry>()
  private readonly stateDigest = new StateDigest()

  constructor(readonly definition: MachineDefinition<F>) {}

  // ---- MS

  get(key: string): Json | undefined {
    return this.ms.get(key)
  }

  /** The state as a plain object with sorted keys (for views, checks and digests). */
  snapshot(): Record<string, Json> {
    const out: Record<string, Json> = {}
    for (const key of [...this.ms.keys()].sort()) out[key] = this.ms.get(key)!
    return out
  }

  /** Replace MS with a snapshot (a mirror of another replica's state, e.g. the
   *  browser's main thread mirroring its worker). Clears LS. */
  load(snapshot: Readonly<Record<string, Json>>): void {
    this.ms.clear()
    this.overlay.clear()
    this.stateDigest.reset()
    for (const [key, value] of Object.entries(snapshot)) {
      this.ms.set(key, deepFreeze(structuredCloneJson(value)))
      this.stateDigest.touch(key)
    }
  }

  /** The digest of MS (seed 000): equal states have equal digests. */
  digest(): string {
    return this.stateDigest.value((key) => this.ms.get(key))
  }

  validateSnapshot(state: unknown): string | null {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) return 'a snapshot state is an object of keys'
    for (const [key, value] of Object.entries(state)) {
      if (key.length === 0 || key.length > keyLengthMax) return `snapshot key of ${key.length} characters`
      if (!isJson(value)) return `snapshot value at ${JSON.stringify(key.slice(0, 64))} is not JSON`
    }
    return null
  }

  restore(state: unknown): void {
    const invalid = this.validateSnapshot(state)
    if (invalid !== null) throw new TypeError(invalid)
    this.load(state as Record<string, Json>)
  }

  apply(instance: Instance, payload: unknown): void {
    const ops = payload as WriteSet
    for (const op of ops) {
      const value = applyOp(this.ms.get(op.key), op)
      if (value === undefined) this.ms.delete(op.key)
      else this.ms.set(op.key, deepFreeze(value))
      this.stateDigest.touch(op.key)
      const pending = this.overlay.get(op.key)
      if (pending !== undefined && pending.instance <= instance) this.overlay.delete(op.key)
    }
  }

  // ---- LS

  leaderReset(): void {
    this.overlay.clear()
  }

  /** LS as a plain object with sorted keys: MS with the overlay's writes (a tab's optimistic view). */
  leaderSnapshot(): Record<string, Json> {
    if (this.overlay.size === 0) return this.snapshot()
    const out: Record<string, Json> = {}
    for (const key of [...new Set([...this.ms.keys(), ...this.overlay.keys()])].sort()) {
      const value = this.readLeader(key)
      if (value !== undefined) out[key] = value
    }
    return out
  }

  leaderApply(instance: Instance, payload: unknown): void {
    for (const op of payload as WriteSet) {
      this.overlay.set(op.key, { value: applyOp(this.readLeader(op.key), op), instance })
    }
  }

  /**
   * The version of the state (MS): what `versionKey` says, else 1 — or
   * null for an empty state, which any version may take as its own.
   */
  stateVersion(): number | null {
    const stamped = this.ms.get(versionKey)
    if (typeof stamped === 'number') return stamped
    return this.ms.size === 0 ? null : 1
  }

  /** The state is older than this machine: the leader should upgrade it (upgradeFunction). */
  needsUpgrade(): boolean {
    const version = this.stateVersion()
    return version !== null && version < this.definition.version
  }

  /**
   * Bring LS up to this machine's version inside `tx` (the app upgrade, run
   * before any function of the new version sees the state): each step from
   * the state's version on, then the stamp. Null if done (or nothing to do),
   * else why the call cannot run here.
   */
  private upgradeIn(tx: Transaction): ExecOutcome | null {
    const target = this.definition.version
    const stamped = tx.get(versionKey)
    const empty = stamped === undefined && this.ms.size === 0 && [...this.overlay.values()].every((entry) => entry.value === undefined)
    const from = typeof stamped === 'number' ? stamped : empty ? target : 1
    if (from > target) {
      return { ok: false, code: 'rejected', reason: `the room's state is of ${this.definition.name} version ${from}; this replica runs version ${target}, an older one: reload the app to update it` }
    }
    if (from === target && (stamped !== undefined || target === 1)) return null
    try {
      for (let version = from + 1; version <= target; version++) this.definition.upgrades[version]?.(tx)
    } catch (error) {
      return { ok: false, code: 'function-threw', reason: `the upgrade of ${this.definition.name} from version ${from} to ${target} threw: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}` }
    }
    tx.system = true
    tx.set(versionKey, target)
    tx.system = false
    return null
  }

  execute(instance: Instance, name: string, args: unknown, env: ExecEnv): ExecOutcome {
    const tx = new Transaction((key) => this.readLeader(key))
    const upgraded = this.upgradeIn(tx)
    if (upgraded !== null) return upgraded
    if (name === upgradeFunction) {
      if (tx.ops.length === 0) return { ok: false, code: 'rejected', reason: `the state is already of version ${this.definition.version}` }
      return this.commit(instance, tx, null)
    }
    const def = Object.hasOwn(this.definition.functions, name) ? this.definition.functions[name] : undefined
    if (def === undefined) return { ok: false, code: 'unknown-function', reason: `no function named ${JSON.stringify(name)}` }
    const parsed = def.args.safeParse(args)
    if (!parsed.success) return { ok: false, code: 'invalid-args', reason: parsed.error.message }
    // Read on use: a checker can tell which functions depend on time or chance.
    const ctx: FnContext = {
      get tick() {
        return env.tick
      },
      random: () => env.random.next(),
    }
    let result: unknown
    try {
      result = def.run(tx, parsed.data, ctx)
    } catch (error) {
      if (error instanceof Rejection) return { ok: false, code: 'rejected', reason: error.reason }
      return { ok: false, code: 'function-threw', reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
    }
    if (result === undefined) result = null
    if (!isJson(result)) return { ok: false, code: 'function-threw', reason: 'the function returned a value that is not JSON' }
    return this.commit(instance, tx, result)
  }

  private commit(instance: Instance, tx: Transaction, result: Json): ExecOutcome {
    const chars = JSON.stringify(tx.ops).length + JSON.stringify(result).length
    if (chars > commandCharsMax) return { ok: false, code: 'too-large', reason: `the command would hold ${chars} characters of JSON (writes and result); at most ${commandCharsMax}` }
    // Commit to LS only now: a rejected or failed call leaves LS unchanged.
    for (const [key, value] of tx.writes) this.overlay.set(key, { value, instance })
    return { ok: true, payload: tx.ops, result }
  }

  validatePayload(payload: unknown): string | null {
    return checkWriteSet(payload)
  }

  private readLeader(key: string): Json | undefined {
    const pending = this.overlay.get(key)
    return pending !== undefined ? pending.value : this.ms.get(key)
  }
}

/** The `tx` a function runs with: reads see its own writes; writes are recorded as ops. */
class Transaction implements Tx {
  readonly ops: Op[] = []
  readonly writes = new Map<string, Json | undefined>()
  /** Set while the machine itself writes (the version stamp): reserved keys are open to it only. */
  system = false

  constructor(private readonly read: (key: string) => Json | undefined) {}

  get<T extends Json = Json>(key: string): T | undefined {
    return (this.writes.has(key) ? this.writes.get(key) : this.read(key)) as T | undefined
  }

  has(key: string): boolean {
    return this.get(key) !== undefined
  }

  set(key: string, value: Json): void {
    if (!isJson(value)) throw new TypeError(`tx.set(${JSON.stringify(key)}): value is not JSON`)
    this.write({ op: 'set', key, value: deepFreeze(structuredCloneJson(value)) })
  }

  delete(key: string): void {
    this.write({ op: 'delete', key })
  }

  splice(key: string, index: number, remove: number, insert: string): void {
    const text = this.get(key) ?? ''
    if (typeof text !== 'string') throw new TypeError(`tx.splice(${JSON.stringify(key)}): the value is not a string`)
    checkIndex(index, text.length, 'index')
    checkIndex(remove, text.length - index, 'remove')
    this.write({ op: 'splice', key, index, remove, insert: String(insert) })
  }

  insert(key: string, index: number, value: Json): void {
    const list = this.list(key, 'insert')
    checkIndex(index, list.length, 'index')
    if (!isJson(value)) throw new TypeError(`tx.insert(${JSON.stringify(key)}): value is not JSON`)
    this.write({ op: 'insert', key, index, value: deepFreeze(structuredCloneJson(value)) })
  }

  remove(key: string, index: number): void {
    const list = this.list(key, 'remove')
    checkIndex(index, list.length - 1, 'index')
    this.write({ op: 'remove', key, index })
  }

  move(key: string, from: number, to: number): void {
    const list = this.list(key, 'move')
    checkIndex(from, list.length - 1, 'from')
    checkIndex(to, list.length - 1, 'to')
    this.write({ op: 'move', key, from, to })
  }

  private list(key: string, what: string): readonly Json[] {
    const list = this.get(key) ?? []
    if (!Array.isArray(list)) throw new TypeError(`tx.${what}(${JSON.stringify(key)}): the value is not a list`)
    return list
  }

  private write(op: Op): void {
    if (typeof op.key !== 'string' || op.key.length === 0 || op.key.length > keyLengthMax) {
      throw new TypeError(`key must be a string of 1..${keyLengthMax} characters`)
    }
    if (!this.system && op.key.startsWith(reservedKeyPrefix)) throw new TypeError(`keys starting with ${reservedKeyPrefix} are Concord's own: ${JSON.stringify(op.key)} cannot be written`)
    if (this.ops.length >= opsPerCommandMax) throw new RangeError(`a command holds at most ${opsPerCommandMax} ops`)
    this.ops.push(op)
    const value = applyOp(this.get(op.key), op)
    this.writes.set(op.key, value === undefined ? undefined : deepFreeze(value))
  }
}

function checkIndex(value: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} is outside 0..${Math.max(max, 0)}`)
}

function structuredCloneJson(value: Json): Json {
  return value !== null && typeof value === 'object' ? (JSON.parse(JSON.stringify(value)) as Json) : value
}

export function createMachine<F extends Functions>(definition: MachineDefinition<F>): MachineInstance<F> {
  return new MachineInstance(definition)
}
