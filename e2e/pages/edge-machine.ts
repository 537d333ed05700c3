// The e2e room pages' machine, as the module an edge replica loads (`concord-edge --machine`).
export { e2eMachine as machine } from './machines.ts'
