/**
 * Yjs types the sequential traces in steps of this many keystrokes, each
 * waiting until every tab shows the step and y-indexeddb has written it.
 * Unpaced, on profiles on disk, the automerge-paper replay through Yjs did
 * not finish in 20-27 minutes (three tries): y-indexeddb writes one
 * transaction per keystroke in every tab, the browsers fall behind the
 * typing and queue them (1.4-1.5 GB per browser process). The waits count
 * in Yjs's total time; they are time its tabs needed to catch up.
 */
export const yjsPaceEvery = 2_000
