export { IdbStorage, databaseName, durabilityOf, seal, storageVersion, type Sealed } from './storage.ts'
