import type { Bot } from '../../bot/bot.js'
import type { WempResponse } from '../../bot/request.js'
import {
  answerEvent,
  decodeQueryComponent,
  describeEvent,
  type EventParts,
  flattenQuery,
  type LooseValues,
  lowerCaseHeaders,
  parseQueryString,
  statusLine,
  stripStage,
} from '../event.js'
import type {
  AlbEvent,
  AlbResult,
  ApiGatewayProxyEvent,
  ApiGatewayProxyEventV2,
  ApiGatewayProxyResult,
  LambdaContext,
  LambdaHandler,
  LambdaHttpEvent,
  LambdaOptions,
  LambdaResult,
} from './types.js'

export type * from './types.js'

/**
 * Serving a bot from AWS Lambda behind an API Gateway REST API (v1 proxy), an HTTP API (v2), a
 * Lambda function URL or an Application Load Balancer: one handler tells them apart by shape.
 *
 * @example
 * import { createBot } from 'wemp'
 * import { lambda } from 'wemp/adapters/aws-lambda'
 * const bot = createBot({ token, appId, encodingAESKey })
 * bot.text((ctx) => `echo: ${ctx.message.content}`)
 * export const handler = lambda(bot)   // handler setting: index.handler
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Which HTTP integration an event came from. */
export type LambdaEventSource = 'alb' | 'v2' | 'v1'

/**
 * The integration an event came from (`requestContext.elb` → ALB, `version: "2.0"` → HTTP API or
 * function URL, a top-level `httpMethod` → REST v1), or `undefined` when it is not HTTP.
 *
 * @example
 * if (lambdaEventSource(event) === undefined) return handleSchedule(event)
 */
export function lambdaEventSource(event: unknown): LambdaEventSource | undefined {
  if (!isObject(event)) return undefined
  const context = event.requestContext
  if (isObject(context) && isObject(context.elb)) return 'alb'
  if (event.version === '2.0' && isObject(context) && isObject(context.http)) return 'v2'
  if (typeof event.httpMethod === 'string') return 'v1'
  return undefined
}

/**
 * Whether an event is an HTTP request this adapter answers.
 *
 * @example
 * export const handler = (event: unknown) => (isLambdaHttpEvent(event) ? answer(event) : onSchedule(event))
 */
export function isLambdaHttpEvent(event: unknown): event is LambdaHttpEvent {
  return lambdaEventSource(event) !== undefined
}

function describeLambdaEvent(event: unknown): string {
  if (isObject(event)) {
    if (event.source === 'aws.events' || 'detail-type' in event) return 'an EventBridge (schedule) event'
    const records = event.Records
    if (Array.isArray(records) && isObject(records[0])) {
      const source = records[0].eventSource ?? records[0].EventSource
      return `an event from ${typeof source === 'string' ? source : 'a Records source'}`
    }
    if ('key1' in event && 'key2' in event) return 'the console\'s "hello-world" test event'
  }
  return describeEvent(event)
}

function notHttp(event: unknown): Error {
  return new Error(
    `wemp/adapters/aws-lambda: this invocation is ${describeLambdaEvent(event)}, not an HTTP request. ` +
      'lambda(bot) answers WeChat through HTTP: add a function URL (Configuration → Function URL, auth type ' +
      'NONE), an API Gateway HTTP API or REST API with Lambda proxy integration, or an ALB target group, and ' +
      'enter that URL in the MP console. To test from the Lambda console, use the apigateway-aws-proxy or ' +
      'apigateway-http-api-proxy template. To serve other triggers from the same function, check ' +
      'isLambdaHttpEvent(event) before calling the handler.',
  )
}

function v1Parts(event: ApiGatewayProxyEvent): EventParts {
  return {
    method: event.httpMethod,
    query: flattenQuery(
      event.queryStringParameters as LooseValues | null,
      event.multiValueQueryStringParameters as LooseValues | null,
    ),
    headers: lowerCaseHeaders(
      event.headers as LooseValues | null,
      event.multiValueHeaders as LooseValues | null,
    ),
    path: event.path,
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
  }
}

function v2Parts(event: ApiGatewayProxyEventV2): EventParts {
  const headers = lowerCaseHeaders(event.headers as LooseValues | undefined)
  if (Array.isArray(event.cookies) && event.cookies.length > 0) headers.cookie = event.cookies.join('; ')
  // requestContext.http.path is rawPath decoded; both keep a named stage's prefix.
  const path = event.requestContext.http.path ?? event.rawPath ?? '/'
  return {
    method: event.requestContext.http.method,
    // queryStringParameters comma-joins repeated keys: the raw query string is the faithful one.
    query:
      typeof event.rawQueryString === 'string'
        ? parseQueryString(event.rawQueryString)
        : flattenQuery(event.queryStringParameters as LooseValues | undefined),
    headers,
    path: stripStage(path, event.requestContext.stage),
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
  }
}

function albParts(event: AlbEvent): EventParts {
  return {
    method: event.httpMethod,
    // An ALB passes the query as sent: not URL-decoded, spaces as `+`.
    query: flattenQuery(
      event.queryStringParameters as LooseValues | null,
      event.multiValueQueryStringParameters as LooseValues | null,
      decodeQueryComponent,
    ),
    headers: lowerCaseHeaders(
      event.headers as LooseValues | null,
      event.multiValueHeaders as LooseValues | null,
    ),
    path: event.path,
    body: event.body,
    isBase64Encoded: event.isBase64Encoded,
  }
}

/**
 * The event's parts in the core's terms, whatever the integration (method, query, lower-case
 * headers, path without a named stage, body as delivered).
 *
 * @example
 * const { method, query } = lambdaRequestParts(event)
 */
export function lambdaRequestParts(event: LambdaHttpEvent): EventParts {
  switch (lambdaEventSource(event)) {
    case 'alb':
      return albParts(event as AlbEvent)
    case 'v2':
      return v2Parts(event as ApiGatewayProxyEventV2)
    default:
      return v1Parts(event as ApiGatewayProxyEvent)
  }
}

function proxyResult(response: WempResponse): ApiGatewayProxyResult {
  return {
    statusCode: response.status,
    headers: response.headers,
    body: response.body,
    isBase64Encoded: false,
  }
}

function albResult(response: WempResponse, multiValue: boolean): AlbResult {
  const result: AlbResult = {
    statusCode: response.status,
    statusDescription: statusLine(response.status),
    body: response.body,
    isBase64Encoded: false,
  }
  // With multi-value headers on, the ALB reads only `multiValueHeaders` from the result.
  if (multiValue) {
    const headers: Record<string, string[]> = {}
    for (const [name, value] of Object.entries(response.headers)) headers[name] = [value]
    result.multiValueHeaders = headers
  } else result.headers = response.headers
  return result
}

/**
 * The Lambda handler for a bot: one function for REST (v1), HTTP API (v2), function-URL and ALB
 * events, answering each in its own result shape (ALB with `statusDescription`, and
 * `multiValueHeaders` when its target group sends them).
 *
 * A malformed HTTP event is answered with a 400; an invocation that is not HTTP (a schedule, a
 * queue, a console test) rejects with an Error that says what to configure.
 *
 * Late replies: a function is frozen once it returns, so when a handler outlasts the deadline
 * (`delivery.deadline`, 4 s) this handler returns only after the handler finished and its reply
 * went out (to WeChat's waiting retry, or through the customer-service API). Set the function's
 * timeout above the slowest handler plus about a second (e.g. 30 s for handlers up to 20 s), and
 * give the bot a shared store (Redis, a database) so that retries reaching other instances are
 * recognised.
 *
 * @example
 * export const handler = lambda(bot)
 */
export function lambda(bot: Bot, options: LambdaOptions = {}): LambdaHandler {
  return async (event: unknown, _context?: LambdaContext): Promise<LambdaResult> => {
    const source = lambdaEventSource(event)
    if (source === undefined) {
      if (isObject(event) && isObject(event.requestContext)) {
        return proxyResult(bot.refuse(400, 'invalid_event', 'the HTTP event has no method'))
      }
      throw notHttp(event)
    }
    const parts = lambdaRequestParts(event as LambdaHttpEvent)
    const response = await answerEvent(bot, parts, options.path)
    if (source !== 'alb') return proxyResult(response)
    const alb = event as AlbEvent
    return albResult(
      response,
      isObject(alb.multiValueHeaders) || isObject(alb.multiValueQueryStringParameters),
    )
  }
}
