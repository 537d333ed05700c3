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

/** The stored state was written by a newer version of the app than the one running (a rollback): this replica will not run it. */
export class MachineVersionError extends Error {
  override name = 'MachineVersionError'
  constructor(readonly machine: string, readonly stateVersion: number, readonly runningVersion: number) {
    super(`the stored state is of ${machine} version ${stateVersion}, newer than the version ${runningVersion} this replica runs: reload the app to update it`)
  }
}
