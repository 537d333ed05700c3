/**
 * Peers authenticate each other in the data channel handshake (issue 9 §3):
 * the signaling server admits peers by room token, but a compromised one
 * could introduce anybody, so each side of a new link also proves it holds
 * the room key — HMAC(room secret, "concord-room-key" + room), where the room
 * secret is the app server's and not the signaling secret (the signaling
 * server can sign tokens; it cannot make room keys), handed to a tab by the
 * app's server with its token and never sent through signaling
 * (signaling/src/token.ts: roomKeyFor).
 *
 * Each side sends a fresh nonce; each answers the other's nonce with
 *   HMAC(room key, "concord-peer-auth" | room | prover | verifier | verifier's nonce | prover's DTLS fingerprint | verifier's DTLS fingerprint)
 * with both DTLS fingerprints as it sees them in the SDP. Without the key no
 * proof can be made; a replayed proof answers a stale nonce; and a
 * man in the middle (signaling swapping SDPs) gives each side a session whose
 * fingerprints differ from the other's, so the proofs do not match.
 */
export const authFramePrefix = 'A'
/** Links to a peer refused this many times in a row are not tried again while it stays in the room. */
export const authFailuresMax = 3
const nonceBytes = 32

const encoder = new TextEncoder()

function base64url(bytes: Uint8Array): string {
  let text = ''
  for (const b of bytes) text += String.fromCharCode(b)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function newNonce(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(nonceBytes)))
}

/**
 * The DTLS fingerprint an SDP announces ("" when there is none to read), or
 * null when it announces several different ones: the stack might check the
 * session against another line than the one the proof is bound to, so such
 * an SDP is not trusted.
 */
export function fingerprintOf(sdp: string | undefined | null): string | null {
  const all = new Set([...(sdp ?? '').matchAll(/a=fingerprint:(\S+ \S+)/g)].map((m) => m[1]!.toLowerCase()))
  if (all.size > 1) return null
  return [...all][0] ?? ''
}

export interface ProofInput {
  room: string
  prover: string
  verifier: string
  verifierNonce: string
  proverFingerprint: string
  verifierFingerprint: string
}

export async function peerProof(roomKey: string, input: ProofInput): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(roomKey), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const text = ['concord-peer-auth', input.room, input.prover, input.verifier, input.verifierNonce, input.proverFingerprint, input.verifierFingerprint].join('\n')
  return base64url(new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(text))))
}

/** Compares two proofs in time independent of where they differ. */
export function sameProof(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/** A peer's hello (its nonce, the app and machine version it runs, whether its worker takes compressed frames: deflate.ts, the form of its frames: wireVersion), or its proof. */
export type AuthFrame = { nonce: string; app?: string; deflate?: true; wire: number } | { proof: string }

export function parseAuthFrame(frame: string): AuthFrame | null {
  if (!frame.startsWith(authFramePrefix) || frame.length > 512) return null
  try {
    const value = JSON.parse(frame.slice(1)) as Record<string, unknown>
    if (value.app !== undefined && !(typeof value.app === 'string' && value.app.length <= 200)) return null
    if (typeof value.nonce === 'string' && value.nonce.length <= 64) {
      // A hello without a wire version is from a replica of version 1, which said none.
      const wire = value.wire === undefined ? 1 : value.wire
      if (typeof wire !== 'number' || !Number.isSafeInteger(wire) || wire < 1) return null
      return { nonce: value.nonce, ...(typeof value.app === 'string' ? { app: value.app } : {}), ...(value.deflate === 1 ? { deflate: true as const } : {}), wire }
    }
    if (typeof value.proof === 'string' && value.proof.length <= 64) return { proof: value.proof }
  } catch {
    // not JSON
  }
  return null
}
