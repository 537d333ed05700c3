export { ReplicaHost, describeStorageError, frameBytesMax, tickMsDefault, type HostOptions, type HostEvent } from './host.ts'
export { MemoryStorage, type StableStorage, type Transport } from './ports.ts'
export { MemoryNetwork } from './memory-transport.ts'
export { MachineVersionError, StorageCorruptError } from './errors.ts'
