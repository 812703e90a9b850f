/**
 * Tencent Cloud SCF (云函数) event and result shapes, written from the documented shapes
 * (`../shared/reference/serverless-platforms.md` §1.1–1.4: Tencent's trigger docs and the captured
 * events in tencentyun/scf-go-lib). Only the fields wemp reads are required; the rest are typed
 * for users who inspect events themselves.
 */

/** Query values as SCF gives them: a string, a list for a repeated key, `true` for a bare key. */
export type ScfQueryValue = string | string[] | true

/**
 * The API-gateway trigger's event (legacy: Tencent's API Gateway is being retired). The request
 * method is the top-level `httpMethod`; `requestContext.httpMethod` is the method the API was
 * configured with, often `ANY`.
 */
export interface ScfApiGatewayEvent {
  httpMethod: string
  /** The path as requested, with the stage (`/release/wechat`) on the default `*.apigw.tencentcs.com` domain. */
  path: string
  /** Header names as the gateway passes them (lower-case in captured events, capitalised in some docs). */
  headers: Record<string, string>
  /** The query: strings, lists (repeated keys) and `true` (keys without a value). */
  queryString?: Record<string, ScfQueryValue> | null
  body?: string | null
  /** Set when the API's Base64 setting encoded the body; absent in older events (meaning false). */
  isBase64Encoded?: boolean
  requestContext: {
    serviceId?: string
    path?: string
    /** The configured method, e.g. `ANY`: not the request's. */
    httpMethod?: string
    requestId?: string
    identity?: Record<string, unknown>
    /** The client's IP (not `identity.sourceIp` as on AWS). */
    sourceIp?: string
    stage?: string
  }
  queryStringParameters?: Record<string, string>
  pathParameters?: Record<string, string>
  headerParameters?: Record<string, string>
  stageVariables?: Record<string, string>
}

/**
 * The function-URL (函数 URL) event: the API-gateway event without `requestContext`,
 * `isBase64Encoded` and the parameter maps, plus the client-IP header `x-scf-remote-addr`.
 */
export interface ScfFunctionUrlEvent {
  httpMethod: string
  path: string
  headers: Record<string, string>
  queryString?: Record<string, ScfQueryValue> | null
  body?: string | null
  /** Not documented for function URLs; honoured when present. */
  isBase64Encoded?: boolean
}

/** Any HTTP event `scf(bot)` answers. */
export type ScfHttpEvent = ScfApiGatewayEvent | ScfFunctionUrlEvent

/** The timer trigger's event (keep-warm, scheduled jobs): not an HTTP request. */
export interface ScfTimerEvent {
  Type: 'Timer'
  TriggerName: string
  Time: string
  Message?: string
}

/**
 * The integration response (集成响应) an API-gateway trigger and a function URL expect; without
 * it the gateway answers "Invalid scf response".
 */
export interface ScfResult {
  isBase64Encoded: boolean
  statusCode: number
  headers: Record<string, string>
  body: string
}

/** The runtime's context argument (the fields wemp's docs mention; all optional). */
export interface ScfContext {
  request_id?: string
  function_name?: string
  function_version?: string
  namespace?: string
  time_limit_in_ms?: number
  memory_limit_in_mb?: number
  tencentcloud_region?: string
  tencentcloud_appid?: string
  callbackWaitsForEmptyEventLoop?: boolean
  [key: string]: unknown
}

/** Options of `scf(bot, options)`. */
export interface ScfOptions {
  /**
   * Answer only this path (404 elsewhere), compared after the stage prefix (`/release`) is
   * removed. Default: every path.
   */
  path?: string
}

/** The handler `scf(bot)` returns: export it as `main_handler` (execution method `index.main_handler`). */
export type ScfHandler = (event: unknown, context?: ScfContext) => Promise<ScfResult>
