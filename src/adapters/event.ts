import type { Bot } from '../bot/bot.js'
import { exceedsLimit, type WempRequest, type WempResponse } from '../bot/request.js'
import type { Query } from '../protocol/push.js'

/**
 * What the JSON-event adapters (Tencent SCF, AWS Lambda, Aliyun FC) share: decoding and limiting
 * the body, lower-casing headers, flattening query values, stripping stage prefixes, and
 * answering the refusals that happen before the core sees a request. Nothing here knows a
 * platform; each adapter says which field is which.
 */

const TEXT_PLAIN = 'text/plain; charset=utf-8'

/** A header or query map as events carry them: single values, lists, or (SCF) `true` for a bare key. */
export type LooseValues = Readonly<
  Record<string, string | number | boolean | readonly (string | number | boolean)[] | null | undefined>
>

/** The body, ready for the core, or the answer that refuses it. */
export type DecodedBody = { body: string | Uint8Array | null } | { refused: WempResponse }

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/

/** How many bytes a base64 text decodes to, without decoding it. */
function base64Length(text: string): number {
  let end = text.length
  while (end > 0 && text.charCodeAt(end - 1) === 61 /* = */) end--
  return Math.floor((end * 3) / 4)
}

/**
 * Decodes an event's body: base64 when the event says so, text otherwise; `null` when there is
 * none. The size limit is checked on the decoded size (for base64, before decoding anything), so
 * an oversized body is refused without being copied.
 */
export function decodeBody(bot: Bot, raw: unknown, isBase64Encoded: unknown, method: string): DecodedBody {
  if (raw === undefined || raw === null) return { body: null }
  if (typeof raw !== 'string') {
    return {
      refused: bot.refuse(400, 'invalid_body', `the event's body is a ${typeof raw}, not a string`, method),
    }
  }
  if (isBase64Encoded !== true && isBase64Encoded !== 'true') {
    return exceedsLimit(raw, bot.maxBodySize) ? { refused: bot.tooLarge(method) } : { body: raw }
  }
  const text = raw.trim()
  if (base64Length(text) > bot.maxBodySize) return { refused: bot.tooLarge(method) }
  if (!BASE64.test(text) && !BASE64URL.test(text)) {
    return {
      refused: bot.refuse(400, 'invalid_body', 'isBase64Encoded is true but the body is not base64', method),
    }
  }
  const bytes = Buffer.from(text, BASE64.test(text) ? 'base64' : 'base64url')
  return bytes.byteLength > bot.maxBodySize ? { refused: bot.tooLarge(method) } : { body: bytes }
}

/**
 * Header names lower-cased, values as strings (a list is joined as HTTP joins it: `; ` for
 * cookies, `, ` otherwise). When both a single-value and a multi-value map are given (AWS), the
 * multi-value one wins.
 */
export function lowerCaseHeaders(
  headers: LooseValues | null | undefined,
  multiValue?: LooseValues | null,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const source of [headers, multiValue]) {
    if (!source || typeof source !== 'object') continue
    for (const [name, value] of Object.entries(source)) {
      if (value === undefined || value === null) continue
      const key = name.toLowerCase()
      out[key] = Array.isArray(value) ? value.map(String).join(key === 'cookie' ? '; ' : ', ') : String(value)
    }
  }
  return out
}

/**
 * A query map with every value a string or a list of strings: SCF's `true` (a key with no
 * value) becomes `''`, numbers become text, and `decode` (ALB's undecoded values) is applied to
 * keys and values. When a multi-value map is given it wins.
 */
export function flattenQuery(
  query: LooseValues | null | undefined,
  multiValue?: LooseValues | null,
  decode?: (text: string) => string,
): Query {
  const out: Record<string, string | string[]> = {}
  const source = multiValue && typeof multiValue === 'object' ? multiValue : query
  if (!source || typeof source !== 'object') return out
  const one = (value: string | number | boolean): string => {
    const text = value === true ? '' : String(value)
    return decode ? decode(text) : text
  }
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || value === null || value === false) continue
    const key = decode ? decode(name) : name
    if (Array.isArray(value)) {
      const list = value.map(one)
      if (list.length === 1) out[key] = list[0]!
      else if (list.length > 1) out[key] = list
    } else out[key] = one(value as string | number | boolean)
  }
  return out
}

/** A raw query string (`a=1&a=2&b=x`) as a query map; a repeated key becomes a list. */
export function parseQueryString(search: string | null | undefined): Query {
  const out: Record<string, string | string[]> = {}
  if (!search) return out
  for (const [key, value] of new URLSearchParams(search)) {
    const seen = out[key]
    if (seen === undefined) out[key] = value
    else if (Array.isArray(seen)) seen.push(value)
    else out[key] = [seen, value]
  }
  return out
}

/** Decodes a query component as a browser would (`+` is a space); malformed escapes are kept. */
export function decodeQueryComponent(text: string): string {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text
  if (!spaced.includes('%')) return spaced
  try {
    return decodeURIComponent(spaced)
  } catch {
    return spaced
  }
}

/** The path without a leading `/<stage>` segment, when it has one. */
export function stripStage(path: string, stage: string | null | undefined): string {
  if (!stage || stage === '$default') return path
  const prefix = `/${stage}`
  if (path === prefix) return '/'
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path
}

/** Whether a request's path is the one the adapter answers (every path when none is configured). */
export function pathMatches(expected: string | undefined, actual: string | null | undefined): boolean {
  if (expected === undefined) return true
  const path = actual || '/'
  return path === expected || (path.length > 1 && path.endsWith('/') && path.slice(0, -1) === expected)
}

/** The 404 answer for a path the adapter was not configured for. */
export function notFound(): WempResponse {
  return { status: 404, headers: { 'content-type': TEXT_PLAIN }, body: 'not_found' }
}

/** The parts of an HTTP event every adapter extracts, before the body is decoded. */
export interface EventParts {
  method: string
  query: Query
  headers: Record<string, string>
  /** The path the function was reached at, stage prefix removed. */
  path: string
  body: unknown
  isBase64Encoded: unknown
}

/**
 * Turns extracted event parts into the core's request and answers it: the path check, the body
 * decoding and limit, then `bot.handle`. Never throws.
 */
export async function answerEvent(
  bot: Bot,
  parts: EventParts,
  path: string | undefined,
): Promise<WempResponse> {
  if (!pathMatches(path, parts.path)) return notFound()
  const method = parts.method.toUpperCase()
  const decoded =
    method === 'POST' ? decodeBody(bot, parts.body, parts.isBase64Encoded, method) : { body: null }
  if ('refused' in decoded) return decoded.refused
  // A cloud function is frozen once it returns: late replies must be sent before it does.
  const request: WempRequest = {
    method,
    query: parts.query,
    headers: parts.headers,
    body: decoded.body,
    lifetime: 'invocation',
  }
  return bot.handle(request)
}

/** Names what a non-HTTP event looks like, for the error that says what to configure instead. */
export function describeEvent(event: unknown): string {
  if (event === null || event === undefined) return `an empty event (${String(event)})`
  if (typeof event !== 'object') return `a ${typeof event} event`
  const keys = Object.keys(event)
  return keys.length === 0 ? 'an empty object' : `an event with the fields ${keys.slice(0, 8).join(', ')}`
}

/** The reason phrases of the statuses the core and the adapters answer with (ALB's `statusDescription`). */
const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
}

/** `200 OK`, `413 Payload Too Large`, … */
export function statusLine(status: number): string {
  const reason = REASONS[status]
  return reason ? `${status} ${reason}` : String(status)
}
