import { z } from 'zod'
import { nameLengthMax } from './limits.ts'

/**
 * The signaling protocol, JSON frames over one WebSocket per peer. Clients
 * say hello (room, peer, token), then send only WebRTC signals addressed to
 * a named peer in their room. Signals are checked against the shapes
 * simple-peer emits, so the server relays introductions and nothing else:
 * no application data passes through it.
 */
export const nameSchema = z.string().min(1).max(nameLengthMax).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only')

const sdpBytesMax = 60 * 1024

export const signalDataSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.enum(['offer', 'answer', 'pranswer', 'rollback']), sdp: z.string().max(sdpBytesMax) }),
  z.strictObject({
    type: z.literal('candidate'),
    candidate: z.strictObject({
      candidate: z.string().max(2048),
      sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
      sdpMid: z.string().max(256).nullable().optional(),
      usernameFragment: z.string().max(256).nullable().optional(),
    }),
  }),
  z.strictObject({ type: z.literal('renegotiate'), renegotiate: z.literal(true) }),
  z.strictObject({
    type: z.literal('transceiverRequest'),
    transceiverRequest: z.strictObject({ kind: z.enum(['audio', 'video']), init: z.record(z.string(), z.unknown()).optional() }),
  }),
])
export type SignalData = z.infer<typeof signalDataSchema>

export const clientFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), room: nameSchema, peer: nameSchema, token: z.string().max(2048) }),
  z.strictObject({ type: z.literal('signal'), to: nameSchema, data: signalDataSchema }),
])
export type ClientFrame = z.infer<typeof clientFrameSchema>

export type ErrorCode =
  | 'malformed-frame'
  | 'frame-too-large'
  | 'rate-limited'
  | 'hello-expected'
  | 'hello-timeout'
  | 'malformed-token'
  | 'bad-signature'
  | 'expired-token'
  | 'token-mismatch'
  | 'room-full'
  | 'too-many-rooms'
  | 'server-full'
  | 'unknown-peer'
  | 'replaced'
  | 'shutting-down'
  /** Scale-out: Redis did not answer; try again. */
  | 'unavailable'

export type ServerFrame =
  | { type: 'welcome'; room: string; peer: string; peers: string[] }
  | { type: 'peer-joined'; peer: string }
  | { type: 'peer-left'; peer: string }
  | { type: 'signal'; from: string; data: SignalData }
  | { type: 'error'; code: ErrorCode; message: string }

/** WebSocket close codes (4000–4999 are the application's). */
export const closeCodes: Record<ErrorCode, number> = {
  'malformed-frame': 4400,
  'frame-too-large': 4413,
  'rate-limited': 4429,
  'hello-expected': 4400,
  'hello-timeout': 4408,
  'malformed-token': 4401,
  'bad-signature': 4401,
  'expired-token': 4401,
  'token-mismatch': 4403,
  'room-full': 4503,
  'too-many-rooms': 4503,
  'server-full': 4503,
  'unknown-peer': 4404,
  replaced: 4409,
  'shutting-down': 4500,
  unavailable: 4503,
}
