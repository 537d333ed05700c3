export { Mesh, bufferedBytesHigh, queuedFramesMax, dataChannelId, type MeshOptions, type MeshStats, type IceServer } from './mesh.ts'
export { SignalingClient, type SignalingClientOptions, type SignalingState } from './signaling-client.ts'
export { encodeFrames, Reassembler, chunkCharsMax, messageCharsMax } from './framing.ts'
