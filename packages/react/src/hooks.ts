import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react'
import type { CallOptions, Store, StoreStatus } from '@concord/client'
import type { ArgsOf, Functions, Json, ResultOf } from '@concord/machine'
import { selectWith } from './select.ts'

type State = Readonly<Record<string, Json>>
const identity = (state: State): State => state

/**
 * The replicated state, or a part of it: `useStore(store, (s) => s.A as number)`.
 * The component re-renders when the selection changes (by `isEqual`,
 * `Object.is` by default): a command applied, this tab's optimistic call
 * shown or rolled back. Without a selector, the whole state.
 */
export function useStore<F extends Functions>(store: Store<F>): State
export function useStore<F extends Functions, T>(store: Store<F>, select: (state: State) => T, isEqual?: (a: T, b: T) => boolean): T
export function useStore<F extends Functions, T>(store: Store<F>, select?: (state: State) => T, isEqual?: (a: T, b: T) => boolean): T | State {
  const selected = useMemo(() => selectWith<State, T | State>(isEqual as ((a: T | State, b: T | State) => boolean) | undefined), [store, isEqual])
  const subscribe = useCallback((changed: () => void) => store.subscribe(changed), [store])
  return useSyncExternalStore(subscribe, () => selected(store.state, select ?? identity))
}

/** The store's status (role, leader, ballot, members, lag, failures), refreshed as the store refreshes it. */
export function useStatus<F extends Functions>(store: Store<F>): StoreStatus {
  const subscribe = useCallback((changed: () => void) => store.onStatus(changed), [store])
  return useSyncExternalStore(subscribe, () => store.status)
}

/** Other tabs' presence (cursors, names), by replica id. */
export function usePresence<F extends Functions>(store: Store<F>): ReadonlyMap<string, Json> {
  const [presence, setPresence] = useState(() => store.presence)
  useEffect(() => {
    setPresence(store.presence)
    return store.onPresence(setPresence)
  }, [store])
  return presence
}

export interface CallState<R> {
  /** Calls of this hook made and not yet answered. */
  pending: number
  /** The last answered call's result, or undefined. */
  result: R | undefined
  /** The last answered call's error (a RejectedError carries the function's reason), or null. */
  error: Error | null
  /** How long the last answered call took, from the call to its answer (ms). */
  lastMs: number | null
}

export interface UseCall<A, R> extends CallState<R> {
  /** Make the call. The promise also settles with the answer; the hook's state follows it. */
  call: (args: A) => Promise<R>
}

/**
 * One of the machine's functions, with the state of its calls:
 * `const move = useCall(store, 'move', { optimistic: true })`, then
 * `move.call({ dir: 'up' })`, `move.error?.message`, `move.lastMs`.
 * Its state follows the answers in the order they come.
 */
export function useCall<F extends Functions, K extends keyof F & string>(store: Store<F>, name: K, options?: CallOptions): UseCall<ArgsOf<F, K>, ResultOf<F, K>> {
  const [state, setState] = useState<CallState<ResultOf<F, K>>>({ pending: 0, result: undefined, error: null, lastMs: null })
  const mounted = useRef(true)
  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])
  const optimistic = options?.optimistic
  const timeoutMs = options?.timeoutMs
  const call = useCallback(
    async (args: ArgsOf<F, K>): Promise<ResultOf<F, K>> => {
      const started = performance.now()
      setState((s) => ({ ...s, pending: s.pending + 1 }))
      const settle = (next: Partial<CallState<ResultOf<F, K>>>) => {
        if (mounted.current) setState((s) => ({ ...s, ...next, pending: s.pending - 1, lastMs: performance.now() - started }))
      }
      try {
        const result = await store.call(name, args, { ...(optimistic !== undefined ? { optimistic } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) })
        settle({ result, error: null })
        return result
      } catch (error) {
        settle({ error: error instanceof Error ? error : new Error(String(error)) })
        throw error
      }
    },
    [store, name, optimistic, timeoutMs],
  )
  return { ...state, call }
}
