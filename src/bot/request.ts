import type { Lifetime } from '../delivery/delivery.js'
import type { Query } from '../protocol/push.js'

/**
 * The core's request and response: plain data, so that every runtime's adapter is a thin
 * translation (Node http, fetch, SCF, Lambda, FC…).
 */

/** A request as an adapter hands it to `bot.handle()`. */
export interface WempRequest {
  /** `GET` (URL verification) or `POST` (a push). */
  method: string
  /** The query-string parameters. */
  query: Query
  /** Lower-case header names. Optional: the protocol does not need them. */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>
  /** The raw body; UTF-8 when bytes. */
  body?: string | Uint8Array | null
  /**
   * Whether work may go on after the response (late replies): set by the serverless adapters
   * (`'invocation'`) and by runtimes with `waitUntil`. Default: `'process'`, or `'invocation'` when
   * the environment says it is SCF, Lambda or FC.
   */
  lifetime?: Lifetime
}

/** What to answer, as plain data. */
export interface WempResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** The body-size limit's default: WeChat's pushes are a few KB (compatible mode about three times that). */
export const DEFAULT_MAX_BODY_SIZE = 64 * 1024

const decoder = new TextDecoder()

/** Decodes a body to text (UTF-8). */
export function bodyText(body: string | Uint8Array | null | undefined): string {
  if (body === undefined || body === null) return ''
  return typeof body === 'string' ? body : decoder.decode(body)
}

/** Whether a body is larger than `limit` bytes (UTF-8), without encoding it when it cannot be. */
export function exceedsLimit(body: string | Uint8Array | null | undefined, limit: number): boolean {
  if (body === undefined || body === null) return false
  if (typeof body !== 'string') return body.byteLength > limit
  // Each UTF-16 code unit is 1 to 3 UTF-8 bytes: decide without encoding when the bounds allow.
  if (body.length > limit) return true
  if (body.length * 3 <= limit) return false
  return new TextEncoder().encode(body).byteLength > limit
}

/**
 * Reads a web-standard body stream, stopping as soon as it exceeds `limit` bytes.
 * @returns the bytes, or `undefined` when the limit was exceeded
 */
export async function readLimited(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (!stream) return new Uint8Array(0)
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => {})
      return undefined
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}
