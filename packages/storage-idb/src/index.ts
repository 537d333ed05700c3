export { IdbStorage, databaseName, storageVersion } from './storage.ts'
