import type { Bot } from '../../bot/bot.js'
import type { WempResponse } from '../../bot/request.js'
import {
  answerEvent,
  describeEvent,
  type EventParts,
  flattenQuery,
  type LooseValues,
  lowerCaseHeaders,
} from '../event.js'
import type { FcContext, FcHandler, FcHttpEvent, FcOptions, FcResult } from './types.js'

export type * from './types.js'

/**
 * Serving a bot from Aliyun Function Compute 3.0 through an HTTP trigger (built-in Node.js
 * runtimes). Custom-runtime and container functions get raw HTTP: use `wemp/adapters/node` there.
 *
 * @example
 * import { createBot } from 'wemp'
 * import { fc } from 'wemp/adapters/aliyun-fc'
 * const bot = createBot({ token, appId, encodingAESKey })
 * bot.text((ctx) => `echo: ${ctx.message.content}`)
 * export const handler = fc(bot)   // handler setting: index.handler
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const decoder = new TextDecoder()

/**
 * The event as an object: FC passes the HTTP trigger's JSON as a Buffer. Returns `undefined` for
 * anything that is not JSON of an object.
 *
 * @example
 * const event = parseFcEvent(raw)   // raw: the Buffer FC passed to the handler
 */
export function parseFcEvent(event: unknown): Record<string, unknown> | undefined {
  if (isObject(event) && !(event instanceof Uint8Array)) return event
  const text =
    typeof event === 'string' ? event : event instanceof Uint8Array ? decoder.decode(event) : undefined
  if (text === undefined) return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    return isObject(parsed) ? parsed : undefined
  } catch {
    return undefined
  }
}

/**
 * Whether a (parsed) event is an HTTP trigger's.
 *
 * @example
 * const event = parseFcEvent(raw)
 * if (!isFcHttpEvent(event)) return handleTimer(event)
 */
export function isFcHttpEvent(event: unknown): event is FcHttpEvent {
  if (!isObject(event) || !isObject(event.requestContext)) return false
  const http = event.requestContext.http
  return isObject(http) && typeof http.method === 'string'
}

function describeFcEvent(raw: unknown, event: Record<string, unknown> | undefined): string {
  if (event === undefined) {
    return raw instanceof Uint8Array || typeof raw === 'string'
      ? 'an event that is not JSON'
      : describeEvent(raw)
  }
  if ('triggerTime' in event && 'triggerName' in event)
    return `a timer trigger's event (${String(event.triggerName)})`
  if (Array.isArray(event.events)) return "an OSS or event-bridge trigger's event"
  return describeEvent(event)
}

function notHttp(raw: unknown, event: Record<string, unknown> | undefined): Error {
  return new Error(
    `wemp/adapters/aliyun-fc: this invocation is ${describeFcEvent(raw, event)}, not an HTTP request. ` +
      'fc(bot) answers WeChat through an HTTP trigger: add one (触发器 → HTTP 触发器, 认证方式 无需认证, ' +
      'methods GET and POST) and enter its URL in the MP console. To serve other triggers from the same ' +
      'function, check isFcHttpEvent(parseFcEvent(event)) before calling the handler.',
  )
}

/**
 * The event's parts in the core's terms (method, query, lower-case headers, decoded path, body as
 * delivered).
 *
 * @example
 * const event = parseFcEvent(raw)
 * if (isFcHttpEvent(event)) console.log(fcRequestParts(event).path)
 */
export function fcRequestParts(event: FcHttpEvent): EventParts {
  const http = event.requestContext.http
  let path = http.path
  if (path === undefined) {
    try {
      path = decodeURI(event.rawPath)
    } catch {
      path = event.rawPath
    }
  }
  return {
    method: http.method,
    query: flattenQuery(event.queryParameters as LooseValues | undefined),
    headers: lowerCaseHeaders(event.headers as LooseValues | undefined),
    path: path ?? '/',
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
  }
}

function toResult(response: WempResponse): FcResult {
  return {
    statusCode: response.status,
    headers: response.headers,
    isBase64Encoded: false,
    body: response.body,
  }
}

/**
 * The FC 3.0 handler for a bot: parses the Buffer FC passes, turns the HTTP trigger's event into
 * the core's request and the core's response into `{ statusCode, headers, isBase64Encoded, body }`.
 *
 * A malformed HTTP event is answered with a 400; an invocation that is not HTTP (a timer, a
 * console test) rejects with an Error that says what to configure.
 *
 * Late replies: a function is frozen once it returns, so when a handler outlasts the deadline
 * (`delivery.deadline`, 4 s) this handler returns only after the handler finished and its reply
 * went out (to WeChat's waiting retry, or through the customer-service API). Set the function's
 * timeout above the slowest handler plus about a second (e.g. 30 s for handlers up to 20 s), and
 * give the bot a shared store (Redis, a database) so that retries reaching other instances are
 * recognised.
 *
 * @example
 * export const handler = fc(bot)
 */
export function fc(bot: Bot, options: FcOptions = {}): FcHandler {
  return async (raw: unknown, _context?: FcContext): Promise<FcResult> => {
    const event = parseFcEvent(raw)
    if (!isFcHttpEvent(event)) {
      if (event !== undefined && (isObject(event.requestContext) || typeof event.rawPath === 'string')) {
        return toResult(bot.refuse(400, 'invalid_event', 'the HTTP event has no requestContext.http.method'))
      }
      throw notHttp(raw, event)
    }
    return toResult(await answerEvent(bot, fcRequestParts(event), options.path))
  }
}
