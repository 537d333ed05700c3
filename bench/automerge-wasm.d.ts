// Automerge 2 ships its wasm as base64 under this export, without types.
declare module '@automerge/automerge/automerge.wasm.base64.js' {
  export const automergeWasmBase64: string
}
