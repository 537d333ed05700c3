export { startSignalingServer, type SignalingOptions, type SignalingServer, type SignalingStats } from './server.ts'
export { signToken, verifyToken, developmentSecret, type TokenClaims, type TokenCheck } from './token.ts'
export { clientFrameSchema, signalDataSchema, closeCodes, type ClientFrame, type ServerFrame, type SignalData, type ErrorCode } from './protocol.ts'
export * from './limits.ts'
