import type { Functions } from '@concord/machine'
import type { Store } from './store.ts'

/**
 * The stores open in this page, for tools that drive or inspect a page from
 * outside (the Playwright fixtures, an inspector panel) without the app
 * exporting anything. Keyed by a global symbol so that two copies of the
 * client library in one page share it.
 */
const registryKey = Symbol.for('concord.stores')

type Registry = Store<Functions>[]

export function openStores(): readonly Store<Functions>[] {
  return ((globalThis as Record<symbol, unknown>)[registryKey] as Registry | undefined) ?? []
}

export function registerStore(store: Store<Functions>): void {
  const global = globalThis as Record<symbol, unknown>
  const registry = (global[registryKey] ??= []) as Registry
  registry.push(store)
}

export function unregisterStore(store: Store<Functions>): void {
  const registry = (globalThis as Record<symbol, unknown>)[registryKey] as Registry | undefined
  const index = registry?.indexOf(store) ?? -1
  if (index >= 0) registry!.splice(index, 1)
}
