/**
 * A selection kept stable across renders: React's useSyncExternalStore wants
 * the same value back while nothing changed, or it renders forever. The
 * store hands out a new frozen state object only when a command is applied
 * (or an optimistic call shown or rolled back), so the selector runs again
 * only for a new state or a new selector; a selection equal to the last one
 * (by `isEqual`) is returned as the very same value, so a component
 * re-renders only when what it selected changed.
 */
export function selectWith<S, T>(isEqual: (a: T, b: T) => boolean = Object.is): (state: S, select: (state: S) => T) => T {
  let hasLast = false
  let lastState: S
  let lastSelect: (state: S) => T
  let lastSelection: T
  return (state, select) => {
    if (hasLast && Object.is(state, lastState) && select === lastSelect) return lastSelection
    const selection = select(state)
    lastState = state
    lastSelect = select
    if (hasLast && isEqual(lastSelection, selection)) return lastSelection
    hasLast = true
    lastSelection = selection
    return selection
  }
}
