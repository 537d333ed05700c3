export { concordText, textOf, textSyncState, textRetryMs, type TextStore, type TextBindingOptions, type TextSyncState } from './binding.ts'
export { TextClient, type Sendable, type Received } from './client.ts'
export { textFunctions, readText, editArgs, textLogEntriesMax, type TextLogEntry } from './machine.ts'
export { remoteCursors, cursorsFrom, type TextUser, type CursorPresence, type RemoteCursor } from './cursors.ts'
