export { openStore, callTimeoutMsDefault, type CallOptions, type OpenStoreOptions, type Store, type StoreStatus } from './store.ts'
export { ConcordError, RejectedError, ValidationError, TimeoutError, ClosedError, RoomFullError } from './errors.ts'
export { claimSlot, slotIds, type SlotClaim } from './slots.ts'
export { openStores } from './registry.ts'
