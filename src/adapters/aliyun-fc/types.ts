/**
 * Aliyun Function Compute 3.0 HTTP-trigger event and result shapes, written from Aliyun's
 * documentation of HTTP-trigger invocation for built-in runtimes
 * (`../shared/reference/serverless-platforms.md` §1.6).
 */

/**
 * The HTTP trigger's event. A Node handler receives it as a Buffer of this JSON.
 * Header names arrive canonicalised (`Content-Type`); repeated headers and query values are
 * comma-joined.
 */
export interface FcHttpEvent {
  version?: string
  /** The path as requested, URL-encoded. */
  rawPath: string
  headers?: Record<string, string>
  /** Decoded query values; repeated keys comma-joined. */
  queryParameters?: Record<string, string>
  body?: string
  /** True when the body is base64 (binary bodies). */
  isBase64Encoded?: boolean
  requestContext: {
    accountId?: string
    domainName?: string
    domainPrefix?: string
    http: { method: string; path?: string; protocol?: string; sourceIp?: string; userAgent?: string }
    requestId?: string
    time?: string
    timeEpoch?: string
  }
}

/** What the handler returns to the HTTP trigger. */
export interface FcResult {
  statusCode: number
  headers: Record<string, string>
  isBase64Encoded: boolean
  body: string
}

/** The parts of FC's context argument wemp's docs mention. */
export interface FcContext {
  requestId?: string
  credentials?: { accessKeyId: string; accessKeySecret: string; securityToken: string }
  function?: { name?: string; handler?: string; memory?: number; timeout?: number }
  [key: string]: unknown
}

/** Options of `fc(bot, options)`. */
export interface FcOptions {
  /** Answer only this path (404 elsewhere). Default: every path. */
  path?: string
}

/**
 * The handler `fc(bot)` returns: export it as `handler` (handler setting `index.handler`). The
 * event is the Buffer FC passes, a string of JSON, or the parsed object.
 */
export type FcHandler = (event: unknown, context?: FcContext) => Promise<FcResult>
