export { IdbStorage, databaseName, deflateAboveChars, durabilityOf, seal, storageVersion, unseal, type Sealed, type SealedDeflated } from './storage.ts'
