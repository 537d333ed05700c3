export { Harness, type MessageFilter } from './harness.ts'
export { SimDisk } from './disk.ts'
export * from './models.ts'
