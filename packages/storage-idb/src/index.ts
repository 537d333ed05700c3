export { IdbStorage, databaseName, storageVersion, type StableStorage } from './storage.ts'
