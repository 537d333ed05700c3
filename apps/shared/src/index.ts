/**
 * The demo apps' room: `?room=` and `?signaling=` from the URL (defaults:
 * room "demo", the development signaling server on this host's port 8787),
 * and the token and room key the development signaling server hands out. A
 * real app's own server would issue both (README, "Security").
 */
export interface DevRoom {
  room: string
  signaling: string
  token: (peer: string) => Promise<string>
  roomKey: string
}

export async function devRoom(defaultRoom = 'demo'): Promise<DevRoom> {
  const params = new URLSearchParams(location.search)
  const room = params.get('room') ?? defaultRoom
  const signaling = params.get('signaling') ?? `ws://${location.hostname}:8787`
  const http = signaling.replace(/^ws/, 'http')
  const ask = async (peer: string) => {
    const response = await fetch(`${http}/dev-token?room=${encodeURIComponent(room)}&peer=${encodeURIComponent(peer)}`)
    if (!response.ok) throw new Error(`the development signaling server at ${http} answered ${response.status}`)
    return (await response.json()) as { token: string; roomKey: string }
  }
  const { roomKey } = await ask('room-key').catch((error: unknown) => {
    throw new Error(`Cannot reach the signaling server at ${signaling} (${error instanceof Error ? error.message : String(error)}). Is \`npm start\` running?`)
  })
  return { room, signaling, token: async (peer) => (await ask(peer)).token, roomKey }
}
