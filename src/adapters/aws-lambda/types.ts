/**
 * AWS Lambda HTTP event and result shapes, written from AWS's documentation of the API Gateway
 * REST proxy (payload 1.0), HTTP API (payload 2.0), function URLs and Application Load Balancer
 * targets (`../shared/reference/serverless-platforms.md` §1.5). Not `@types/aws-lambda`: only what
 * the documents show, with the fields wemp reads required.
 */

/** API Gateway REST API (v1) Lambda proxy integration: payload format 1.0. */
export interface ApiGatewayProxyEvent {
  resource?: string
  /** The path, without the stage on the execute-api domain (the base path is kept on custom domains). */
  path: string
  httpMethod: string
  headers?: Record<string, string | undefined> | null
  /** Every header with all its values; preferred when present. */
  multiValueHeaders?: Record<string, string[] | undefined> | null
  /** Decoded query values; the last value of a repeated key. */
  queryStringParameters?: Record<string, string | undefined> | null
  /** Decoded query values, all of them. */
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null
  pathParameters?: Record<string, string | undefined> | null
  stageVariables?: Record<string, string | undefined> | null
  requestContext: {
    stage?: string
    requestId?: string
    httpMethod?: string
    path?: string
    identity?: { sourceIp?: string; [key: string]: unknown }
    [key: string]: unknown
  }
  body: string | null
  isBase64Encoded: boolean
}

/** API Gateway HTTP API (payload 2.0) and Lambda function URL events. */
export interface ApiGatewayProxyEventV2 {
  version: '2.0'
  routeKey?: string
  /** The path as requested (URL-encoded), with the stage when it is not `$default`. */
  rawPath: string
  /** The query string as sent: the only faithful source for repeated keys. */
  rawQueryString: string
  cookies?: string[]
  /** Lower-case names; repeated headers comma-joined. */
  headers?: Record<string, string | undefined>
  /** Repeated values comma-joined: wemp reads `rawQueryString` instead. */
  queryStringParameters?: Record<string, string | undefined>
  requestContext: {
    http: { method: string; path?: string; protocol?: string; sourceIp?: string; userAgent?: string }
    /** `<id>.execute-api.<region>.amazonaws.com`, or `<url-id>.lambda-url.<region>.on.aws` for a function URL. */
    domainName?: string
    requestId?: string
    stage?: string
    timeEpoch?: number
    [key: string]: unknown
  }
  body?: string
  isBase64Encoded: boolean
}

/** A Lambda function URL's event: the payload 2.0 shape. */
export type LambdaFunctionUrlEvent = ApiGatewayProxyEventV2

/** An Application Load Balancer target's event. */
export interface AlbEvent {
  requestContext: { elb: { targetGroupArn: string } }
  httpMethod: string
  path: string
  /** Present unless the target group's `lambda.multi_value_headers.enabled` is on. Values not URL-decoded. */
  queryStringParameters?: Record<string, string> | null
  /** Present when multi-value headers are on. Values not URL-decoded. */
  multiValueQueryStringParameters?: Record<string, string[]> | null
  headers?: Record<string, string> | null
  multiValueHeaders?: Record<string, string[]> | null
  body: string | null
  isBase64Encoded: boolean
}

/** Every HTTP event `lambda(bot)` answers. */
export type LambdaHttpEvent = ApiGatewayProxyEvent | ApiGatewayProxyEventV2 | AlbEvent

/** The proxy result of REST (v1), HTTP API (v2) and function URLs. */
export interface ApiGatewayProxyResult {
  statusCode: number
  headers: Record<string, string>
  body: string
  isBase64Encoded: boolean
}

/** An ALB target's result: with `statusDescription`, and `multiValueHeaders` when the event had them. */
export interface AlbResult {
  statusCode: number
  statusDescription: string
  headers?: Record<string, string>
  multiValueHeaders?: Record<string, string[]>
  body: string
  isBase64Encoded: boolean
}

/** What `lambda(bot)` resolves to. */
export type LambdaResult = ApiGatewayProxyResult | AlbResult

/** The parts of Lambda's context argument wemp's docs mention. */
export interface LambdaContext {
  functionName?: string
  awsRequestId?: string
  getRemainingTimeInMillis?: () => number
  callbackWaitsForEmptyEventLoop?: boolean
  [key: string]: unknown
}

/** Options of `lambda(bot, options)`. */
export interface LambdaOptions {
  /**
   * Answer only this path (404 elsewhere), compared after an HTTP API stage prefix is removed.
   * Default: every path.
   */
  path?: string
}

/** The handler `lambda(bot)` returns: export it as `handler` (handler setting `index.handler`). */
export type LambdaHandler = (event: unknown, context?: LambdaContext) => Promise<LambdaResult>
