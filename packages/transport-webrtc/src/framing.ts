/**
 * Framing for data channels. A message (one core message as JSON text) goes
 * as one frame when it is small, else as chunks that are reassembled on the
 * other side: a data channel refuses sends above its message size limit
 * (256 KiB in Chromium, less elsewhere), so every frame stays under
 * `chunkCharsMax` characters (≤ 3 bytes each in UTF-8).
 *
 *   "0" + message                              a whole message
 *   "1" + id + "," + index + "," + count + ";" + part
 */
export const chunkCharsMax = 16_000
/** The largest message reassembled; bigger ones are dropped (and counted). */
export const messageCharsMax = 8 * 1024 * 1024
/** Messages being reassembled at once per peer; the oldest is dropped beyond. */
export const partialMessagesMax = 16

export function encodeFrames(message: string, id: number): string[] {
  if (message.length <= chunkCharsMax) return [`0${message}`]
  const count = Math.ceil(message.length / chunkCharsMax)
  const frames: string[] = []
  for (let i = 0; i < count; i++) frames.push(`1${id},${i},${count};${message.slice(i * chunkCharsMax, (i + 1) * chunkCharsMax)}`)
  return frames
}

export type Reassembled = { kind: 'message'; message: string } | { kind: 'partial' } | { kind: 'dropped'; reason: string }

interface Partial {
  parts: (string | undefined)[]
  received: number
}

export class Reassembler {
  private readonly partials = new Map<number, Partial>()

  push(frame: string): Reassembled {
    if (frame.startsWith('0')) return { kind: 'message', message: frame.slice(1) }
    if (!frame.startsWith('1')) return { kind: 'dropped', reason: 'unknown frame kind' }
    const header = /^1(\d{1,15}),(\d{1,9}),(\d{1,9});/.exec(frame)
    if (header === null) return { kind: 'dropped', reason: 'malformed chunk header' }
    const id = Number(header[1])
    const index = Number(header[2])
    const count = Number(header[3])
    if (count < 2 || index >= count || count * chunkCharsMax > messageCharsMax + chunkCharsMax) return { kind: 'dropped', reason: 'chunk out of bounds' }
    const part = frame.slice(header[0].length)
    if (part.length > chunkCharsMax) return { kind: 'dropped', reason: 'chunk too long' }
    let partial = this.partials.get(id)
    if (partial === undefined) {
      if (this.partials.size >= partialMessagesMax) this.partials.delete(this.partials.keys().next().value!)
      partial = { parts: new Array<string | undefined>(count), received: 0 }
      this.partials.set(id, partial)
    }
    if (partial.parts.length !== count) return { kind: 'dropped', reason: 'chunk count changed' }
    if (partial.parts[index] === undefined) partial.received++
    partial.parts[index] = part
    if (partial.received < count) return { kind: 'partial' }
    this.partials.delete(id)
    return { kind: 'message', message: partial.parts.join('') }
  }
}
