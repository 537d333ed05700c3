/** Typed errors of the public API: each says what went wrong, in words. */
export class ConcordError extends Error {
  override name = 'ConcordError'
  constructor(message: string, readonly code: string) {
    super(message)
  }
}

/** The function refused the call (`throw reject(reason)`); nothing happened. */
export class RejectedError extends ConcordError {
  override name = 'RejectedError'
  constructor(readonly reason: string) {
    super(`rejected: ${reason}`, 'rejected')
  }
}

/** The arguments (or the function name) are not what the machine accepts. */
export class ValidationError extends ConcordError {
  override name = 'ValidationError'
  constructor(message: string, readonly path: (string | number)[]) {
    super(message, 'invalid-args')
  }
}

/** No answer in time. The call may still take effect later, at most once. */
export class TimeoutError extends ConcordError {
  override name = 'TimeoutError'
  constructor(ms: number) {
    super(`no answer within ${ms} ms (the call may still take effect, at most once)`, 'timeout')
  }
}

/** The store is closed. */
export class ClosedError extends ConcordError {
  override name = 'ClosedError'
  constructor() {
    super('the store is closed', 'closed')
  }
}

/** Every replica slot of the room is taken in this browser. */
export class RoomFullError extends ConcordError {
  override name = 'RoomFullError'
  constructor(slots: number) {
    super(`all ${slots} replica slots of this room are taken in this browser`, 'room-full')
  }
}

/**
 * The replica's stable storage failed and the replica cannot be restarted
 * from it: 'lost' (cleared, deleted), 'corrupt' (a record failed its
 * checksum or shape), 'unavailable' (IndexedDB would not open).
 */
export class StorageFailedError extends ConcordError {
  override name = 'StorageFailedError'
  constructor(message: string, readonly storage: 'lost' | 'corrupt' | 'unavailable') {
    super(message, `storage-${storage}`)
  }
}
