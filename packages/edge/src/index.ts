export { startEdge, replicaIdIn, welcomeTimeoutMs, type EdgeOptions, type EdgeReplica } from './edge.ts'
export { serveEdgeHttp, httpBodyBytesMax, type EdgeHttp } from './http.ts'
export { spawnEdge, edgeBin, type EdgeProcess, type SpawnEdgeOptions } from './spawn.ts'
