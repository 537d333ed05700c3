/** Every limit of the signaling server is a named constant (qualifier last). */

/** One frame from a client, in bytes (an SDP is a few KiB; 64 KiB is generous). */
export const frameBytesMax = 64 * 1024
/** Frames per second per connection (token bucket: this rate, bursts of frameBurstMax). */
export const framesPerSecondMax = 50
export const frameBurstMax = 100
/** Peers in one room (the core's membersMax). */
export const peersPerRoomMax = 64
/** Rooms one server holds at once. */
export const roomsMax = 10_000
/** Open connections, authenticated or not. */
export const connectionsMax = 20_000
/** A connection must say hello within this time. */
export const helloTimeoutMs = 5_000
/** Length of room and peer names. */
export const nameLengthMax = 64
/** Lifetime a development token is issued for. */
export const devTokenLifetimeMs = 24 * 60 * 60 * 1000
/** Scale-out on Redis (cluster.ts): a process's liveness key lives this long unless refreshed… */
export const serverAliveTtlMs = 10_000
/** …every this often (the sweep of dead processes' peers runs with it). */
export const serverHeartbeatMs = 3_000
/** A Redis command that takes longer fails (the connection that waited on it gets an error frame). */
export const clusterCommandTimeoutMs = 5_000
