export { serveReplica, type AppItem, type AppRequest, type ReplicaPorts, type ReplicaWorkerApi, type StartOptions, type StartOutcome, type ReplicaStatusView } from './serve.ts'
export { portTransport, type InboundFrame, type OutboundFrame } from './port-transport.ts'
