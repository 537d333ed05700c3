export { IdbStorage, databaseName, durabilityOf, storageVersion } from './storage.ts'
