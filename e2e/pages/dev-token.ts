/**
 * The room token for a test page: the development signaling server hands
 * them out at GET /dev-token (a real app's own server would sign them).
 */
export function devToken(signaling: string, room: string): (peer: string) => Promise<string> {
  const httpSignaling = signaling.replace(/^ws/, 'http')
  return async (peer) => {
    const res = await fetch(`${httpSignaling}/dev-token?room=${encodeURIComponent(room)}&peer=${encodeURIComponent(peer)}`)
    return ((await res.json()) as { token: string }).token
  }
}
