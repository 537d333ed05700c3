export { useStore, useStatus, useCall, usePresence, type CallState, type UseCall } from './hooks.ts'
export { selectWith } from './select.ts'
