/**
 * The room token for a test page: the development signaling server hands
 * them out at GET /dev-token (a real app's own server would sign them).
 */
/** The room key, as the app's server would hand it out with the token (here: the development signaling server). */
export async function devRoomKey(signaling: string, room: string): Promise<string> {
  const res = await fetch(`${signaling.replace(/^ws/, 'http')}/dev-token?room=${encodeURIComponent(room)}&peer=room-key`)
  return ((await res.json()) as { roomKey: string }).roomKey
}

export function devToken(signaling: string, room: string): (peer: string) => Promise<string> {
  const httpSignaling = signaling.replace(/^ws/, 'http')
  return async (peer) => {
    const res = await fetch(`${httpSignaling}/dev-token?room=${encodeURIComponent(room)}&peer=${encodeURIComponent(peer)}`)
    return ((await res.json()) as { token: string }).token
  }
}
