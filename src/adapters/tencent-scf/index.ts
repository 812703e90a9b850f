import type { Bot } from '../../bot/bot.js'
import type { WempResponse } from '../../bot/request.js'
import {
  answerEvent,
  describeEvent,
  type EventParts,
  flattenQuery,
  type LooseValues,
  lowerCaseHeaders,
  stripStage,
} from '../event.js'
import type {
  ScfApiGatewayEvent,
  ScfContext,
  ScfHandler,
  ScfHttpEvent,
  ScfOptions,
  ScfResult,
} from './types.js'

export type * from './types.js'

/**
 * Serving a bot from Tencent Cloud SCF (云函数), as an event function behind a function URL
 * (函数 URL, the default) or an API-gateway trigger with 集成响应 (integration response) on.
 * For a web function (HTTP-type function), use `wemp/adapters/node` on port 9000 instead.
 *
 * Late replies: a function is frozen once it returns, so when a handler outlasts the deadline
 * (`delivery.deadline`, 4 s) this handler returns only after the handler finished and its reply
 * went out (to WeChat's waiting retry, or through the customer-service API). Set the function's
 * timeout above the slowest handler plus about a second (e.g. 30 s for handlers up to 20 s), and
 * give the bot a shared store (Redis, a database) so that retries reaching other instances are
 * recognised.
 *
 * @example
 * import { createBot } from 'wemp'
 * import { scf } from 'wemp/adapters/tencent-scf'
 * const bot = createBot({ token, appId, encodingAESKey })
 * bot.text((ctx) => `echo: ${ctx.message.content}`)
 * export const main_handler = scf(bot)   // execution method: index.main_handler
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Whether an event is an HTTP request from a function URL or an API-gateway trigger (and not a
 * timer, a COS notification or a console test event). Use it to serve other triggers from the
 * same function.
 *
 * @example
 * const answer = scf(bot)
 * export const main_handler = (event: unknown, context: ScfContext) =>
 *   isScfHttpEvent(event) ? answer(event, context) : keepWarm(event)
 */
export function isScfHttpEvent(event: unknown): event is ScfHttpEvent {
  return isObject(event) && typeof event.httpMethod === 'string'
}

/**
 * Whether an HTTP event came through the API gateway (it has a `requestContext`) rather than a
 * function URL.
 *
 * @example
 * if (isScfHttpEvent(event) && isScfApiGatewayEvent(event)) console.log(event.requestContext.sourceIp)
 */
export function isScfApiGatewayEvent(event: ScfHttpEvent): event is ScfApiGatewayEvent {
  return isObject((event as Partial<ScfApiGatewayEvent>).requestContext)
}

/** What kind of non-HTTP invocation this is, in the words of the SCF console. */
function describeScfEvent(event: unknown): string {
  if (isObject(event)) {
    if (event.Type === 'Timer')
      return `a timer trigger's event (TriggerName ${JSON.stringify(event.TriggerName)})`
    const records = event.Records
    if (Array.isArray(records) && isObject(records[0])) {
      const source = Object.keys(records[0]).find((key) => key !== 'event') ?? 'Records'
      return `a ${source} trigger's event`
    }
    if ('key1' in event && 'key2' in event) return 'the console\'s "Hello World" test event'
  }
  return describeEvent(event)
}

function notHttp(event: unknown): Error {
  return new Error(
    `wemp/adapters/tencent-scf: this invocation is ${describeScfEvent(event)}, not an HTTP request. ` +
      'scf(bot) answers WeChat through HTTP: give the function a function URL (函数管理 → 函数 URL → 新建, ' +
      '公网访问 on, 授权类型 开放) or an API-gateway trigger with 集成响应 enabled, and enter that URL in the MP ' +
      'console (设置与开发 → 基本配置 → 服务器配置). To test from the SCF console, pick the API Gateway test-event ' +
      'template, not Hello World. To serve timers or other triggers from the same function, check ' +
      'isScfHttpEvent(event) before calling the handler.',
  )
}

// The 2018 gateway delivered `<` and `>` as the six characters `\u003c` / `\u003e` (a Go JSON
// encoder's escapes, encoded twice). A body with no `<` at all cannot be XML: undo them there only.
const ESCAPED = /\\u003c|\\u003e|\\u0026/gi
const UNESCAPED: Record<string, string> = { '\\u003c': '<', '\\u003e': '>', '\\u0026': '&' }

function unescapeQuirk(body: unknown, isBase64Encoded: unknown): unknown {
  if (typeof body !== 'string' || isBase64Encoded === true || body.includes('<')) return body
  if (!body.includes('\\u003')) return body
  return body.replace(ESCAPED, (match) => UNESCAPED[match.toLowerCase()] ?? match)
}

/** The path the function was reached at, without the gateway's stage prefix (`/release/wechat` → `/wechat`). */
function pathOf(event: ScfHttpEvent): string {
  const path = typeof event.path === 'string' ? event.path : '/'
  if (!isScfApiGatewayEvent(event)) return path
  const context = event.requestContext
  if (context.path !== undefined && context.path === path) return path
  return stripStage(path, context.stage)
}

/**
 * The event's parts in the core's terms (method, flattened query, lower-case headers, path without
 * the stage, body as delivered), for code that inspects an event before handing it on.
 *
 * @example
 * const { path, headers } = scfRequestParts(event)
 */
export function scfRequestParts(event: ScfHttpEvent): EventParts {
  const apiGateway = isScfApiGatewayEvent(event)
  const query = event.queryString ?? (apiGateway ? event.queryStringParameters : undefined)
  return {
    method: event.httpMethod,
    query: flattenQuery(query as LooseValues | undefined),
    headers: lowerCaseHeaders(event.headers as LooseValues | undefined),
    path: pathOf(event),
    body: unescapeQuirk(event.body, event.isBase64Encoded),
    isBase64Encoded: event.isBase64Encoded,
  }
}

function toResult(response: WempResponse): ScfResult {
  return {
    isBase64Encoded: false,
    statusCode: response.status,
    headers: response.headers,
    body: response.body,
  }
}

/**
 * The SCF handler for a bot: turns the function-URL or API-gateway event into the core's request
 * and the core's response into the integration-response shape
 * `{ isBase64Encoded, statusCode, headers, body }`.
 *
 * A malformed HTTP event is answered with a 400; an invocation that is not HTTP at all (a timer,
 * a console test) rejects with an Error that says what to configure.
 *
 * @example
 * export const main_handler = scf(bot)
 * // or, only at one path (after the /release stage prefix is removed):
 * export const main_handler = scf(bot, { path: '/wechat' })
 */
export function scf(bot: Bot, options: ScfOptions = {}): ScfHandler {
  return async (event: unknown, _context?: ScfContext): Promise<ScfResult> => {
    if (!isScfHttpEvent(event)) {
      if (isObject(event) && (isObject(event.requestContext) || 'queryString' in event)) {
        return toResult(bot.refuse(400, 'invalid_event', 'the HTTP event has no httpMethod'))
      }
      throw notHttp(event)
    }
    return toResult(await answerEvent(bot, scfRequestParts(event), options.path))
  }
}
