import { createHmac, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'

/**
 * Room tokens: HMAC-SHA256-signed claims (room, peer, expiry), in the compact
 * form `base64url(JSON claims).base64url(signature)`. The app's own server
 * signs them with the room secret; the signaling server (and, later, the
 * peers themselves) check them.
 */
export interface TokenClaims {
  room: string
  peer: string
  /** Expiry, milliseconds since the epoch. */
  exp: number
}

const claimsSchema = z.strictObject({ room: z.string().min(1).max(256), peer: z.string().min(1).max(256), exp: z.number().int().positive() })

/** The secret `npm start` runs with when none is configured. Never for production. */
export const developmentSecret = 'concord-development-secret-not-for-production'

export function signToken(claims: TokenClaims, secret: string): string {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url')
  return `${body}.${sign(body, secret)}`
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; code: 'malformed-token' | 'bad-signature' | 'expired-token'; message: string }

export function verifyToken(token: unknown, secret: string, now: number): TokenCheck {
  if (typeof token !== 'string' || token.length > 2048) return { ok: false, code: 'malformed-token', message: 'the token is not a string of at most 2048 characters' }
  const [body, signature, extra] = token.split('.')
  if (body === undefined || signature === undefined || extra !== undefined) return { ok: false, code: 'malformed-token', message: 'a token has the form <claims>.<signature>' }
  const expected = Buffer.from(sign(body, secret))
  const given = Buffer.from(signature)
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, code: 'bad-signature', message: 'the token was not signed with this room secret' }
  let claims: unknown
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
  } catch {
    return { ok: false, code: 'malformed-token', message: 'the token claims are not JSON' }
  }
  const parsed = claimsSchema.safeParse(claims)
  if (!parsed.success) return { ok: false, code: 'malformed-token', message: `the token claims are malformed: ${parsed.error.issues[0]?.message}` }
  if (parsed.data.exp <= now) return { ok: false, code: 'expired-token', message: `the token expired at ${new Date(parsed.data.exp).toISOString()}` }
  return { ok: true, claims: parsed.data }
}

/**
 * The room key peers prove to each other in the data channel handshake
 * (packages/transport-webrtc/src/peer-auth.ts): derived from the *room*
 * secret — a secret of the app's server (and its edge replicas) that the
 * signaling server never holds, unlike the signaling secret that signs
 * tokens — and handed by the app's server to a tab with its token, never
 * through signaling. So a compromised signaling server, which can sign any
 * token, still cannot make a room key, nor let in a peer the members accept.
 */
export function roomKeyFor(room: string, roomSecret: string): string {
  return createHmac('sha256', roomSecret).update(`concord-room-key\n${room}`).digest('base64url')
}

/** The room secret `npm start` runs with (public, like developmentSecret). Never for production. */
export const developmentRoomSecret = 'concord-development-room-secret-not-for-production'

function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url')
}
