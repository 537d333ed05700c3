import { openStore, type Store } from '@concord/client'
import { mountBanner, mountInspector } from '@concord/inspector'
import { devRoom } from '@concord/app-shared'
import type { Functions, MachineDefinition } from '@concord/machine'

/**
 * The inspector page (issue 6 §4): a replica of a demo app's room (the
 * same machine, so its peers accept it: a link says the app and machine
 * version), showing the room with the embeddable panel, unfolded.
 */
const apps: Record<string, () => Promise<{ machine: MachineDefinition<Functions>; worker: () => Worker }>> = {
  warehouse: async () => ({ machine: (await import('../../warehouse/src/machine.ts')).warehouse as unknown as MachineDefinition<Functions>, worker: () => new Worker(new URL('../../warehouse/src/replica.worker.ts', import.meta.url), { type: 'module' }) }),
  game: async () => ({ machine: (await import('../../game/src/machine.ts')).game as unknown as MachineDefinition<Functions>, worker: () => new Worker(new URL('../../game/src/replica.worker.ts', import.meta.url), { type: 'module' }) }),
  editor: async () => ({ machine: (await import('../../editor/src/machine.ts')).editorMachine as unknown as MachineDefinition<Functions>, worker: () => new Worker(new URL('../../editor/src/replica.worker.ts', import.meta.url), { type: 'module' }) }),
}
const panel = document.getElementById('panel')!
// The links to the other rooms keep the rest of the query (?signaling=, ?room=).
for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
  const params = new URLSearchParams(location.search)
  params.set('app', new URLSearchParams(link.search).get('app')!)
  link.search = params.toString()
}
const name = new URLSearchParams(location.search).get('app') ?? 'warehouse'
try {
  const app = apps[name]
  if (app === undefined) throw new Error(`no demo app named ${JSON.stringify(name)} (warehouse, game or editor)`)
  const { machine, worker } = await app()
  const store: Store<Functions> = await openStore({ machine, worker: worker(), ...(await devRoom()) })
  panel.textContent = ''
  mountBanner(store, document.getElementById('banner')!)
  mountInspector(store, panel)
  Object.assign(window, { inspectorStore: store })
} catch (error) {
  panel.textContent = ''
  panel.append(Object.assign(document.createElement('p'), { className: 'error', textContent: `The inspector could not start: ${error instanceof Error ? error.message : String(error)}` }))
}
