export { FileStorage, type FileStorageOptions, StorageCorruptError, StorageLockedError, decodeFrames, encodeFrame, frameHeaderBytes, logFile, type Recovery } from './file-storage.ts'
