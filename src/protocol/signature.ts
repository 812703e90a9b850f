import * as nodeCrypto from 'node:crypto'
import { createHash, timingSafeEqual } from 'node:crypto'

// crypto.hash (Node 20.12+) hashes a string in one call, at about half the cost of createHash.
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash
const sha1Hex: (data: string) => string = oneShot
  ? (data) => oneShot('sha1', data, 'hex')
  : (data) => createHash('sha1').update(data).digest('hex')

/**
 * WeChat's signature: the lower-case hex SHA-1 of the parts sorted in code-unit order and joined
 * with no separator. Plain mode signs `[token, timestamp, nonce]`; the encrypted modes sign
 * `[token, timestamp, nonce, Encrypt]` (`msg_signature`).
 *
 * @example
 * computeSignature(['AAAAA', '1714036504', '1514711492']) // 'f464b24f…'
 */
export function computeSignature(parts: readonly string[]): string {
  // Array#sort with no comparator compares UTF-16 code units: exactly WeChat's 字典序 (never localeCompare).
  const sorted = parts.length === 3 ? sort3(parts[0]!, parts[1]!, parts[2]!) : [...parts].sort()
  return sha1Hex(sorted.join(''))
}

function sort3(a: string, b: string, c: string): string[] {
  if (a > b) [a, b] = [b, a]
  if (b > c) [b, c] = [c, b]
  if (a > b) [a, b] = [b, a]
  return [a, b, c]
}

const HEX = /^[0-9a-fA-F]+$/

/** Compares two signatures in constant time (for equal lengths); case-insensitive hex. */
export function signaturesEqual(expected: string, received: string): boolean {
  if (expected.length !== received.length || expected.length === 0 || !HEX.test(received)) return false
  // Only ASCII hex digits get here: lower-casing keeps the length, and latin1 keeps every character.
  const lower = received.toLowerCase()
  const a = Buffer.from(expected, 'latin1')
  const b = Buffer.from(lower, 'latin1')
  return timingSafeEqual(a, b)
}

/** Checks the plain `signature` of a handshake or plaintext-mode push. */
export function verifySignature(token: string, timestamp: string, nonce: string, signature: string): boolean {
  return signaturesEqual(computeSignature([token, timestamp, nonce]), signature)
}

/** Checks the `msg_signature` of a compatible- or safe-mode push over its `Encrypt` field. */
export function verifyMsgSignature(
  token: string,
  timestamp: string,
  nonce: string,
  encrypt: string,
  msgSignature: string,
): boolean {
  return signaturesEqual(computeSignature([token, timestamp, nonce, encrypt]), msgSignature)
}
