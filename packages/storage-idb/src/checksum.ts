/**
 * CRC-32 (IEEE, the polynomial of zlib and Ethernet) of a string's UTF-16
 * code units, low byte first. A checksum on every stored record (issue 9 §5)
 * catches a value damaged on disk or by another hand; it is not a defence
 * against someone who can write this origin's storage (SECURITY.md).
 */
const table = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

export function crc32OfText(text: string): number {
  let crc = 0xffffffff
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    crc = table[(crc ^ unit) & 0xff]! ^ (crc >>> 8)
    crc = table[(crc ^ (unit >>> 8)) & 0xff]! ^ (crc >>> 8)
  }
  return (crc ^ 0xffffffff) >>> 0
}
