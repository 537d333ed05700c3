export { ReplicaHost, frameBytesMax, tickMsDefault, type HostOptions, type HostEvent } from './host.ts'
export { MemoryStorage, type StableStorage, type Transport } from './ports.ts'
export { MemoryNetwork } from './memory-transport.ts'
export { StorageCorruptError, StorageLostError } from './errors.ts'
