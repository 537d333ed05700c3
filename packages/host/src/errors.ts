/**
 * Stable storage holds something this replica must not start from: a record
 * whose checksum or shape is wrong. Its promises and votes may be lost, so
 * it may not vote under its id again (a replica that forgot a vote can break
 * quorum intersection): it is set aside and the tab or edge rejoins its room
 * as a new replica, recovered from a healthy peer.
 */
export class StorageCorruptError extends Error {
  override name = 'StorageCorruptError'
  constructor(readonly where: string, readonly why: string, message?: string) {
    super(message ?? `stable storage is corrupt at ${where} (${why}): this replica will not start from it`)
  }
}

/**
 * A replica's storage is gone though the replica has run before (the
 * browser's storage was cleared, the database deleted): like a corrupt one,
 * it may not vote under its id again.
 */
export class StorageLostError extends Error {
  override name = 'StorageLostError'
}
