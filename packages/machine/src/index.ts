export { defineMachine, fn, reject, Rejection, MachineDefinitionError, type Tx, type Upgrade, type FnContext, type FunctionDef, type Functions, type MachineDefinition, type ArgsOf, type ResultOf } from './define.ts'
export { MachineInstance, createMachine, reservedKeyPrefix, upgradeFunction, versionKey } from './machine.ts'
export { applyOp, opSchema, writeSetSchema, type Op, type WriteSet } from './ops.ts'
export { isJson, deepFreeze, jsonDepthMax, type Json } from './json.ts'
