/**
 * Platform events for a request WeChat would send, in each platform's recorded shape, written from
 * the documented shapes in `../shared/reference/serverless-platforms.md` (§1.1 SCF API gateway,
 * §1.2 SCF function URL, §1.4 SCF timer, §1.5 AWS REST v1 / HTTP API v2 / function URL / ALB, §1.6
 * Aliyun FC 3). Every builder takes the plain request (method, query, body) the test kit builds
 * and wraps it the way that platform delivers it, with the fields a real event carries.
 */

import type { FcHttpEvent } from '../../src/adapters/aliyun-fc/types.js'
import type {
  AlbEvent,
  ApiGatewayProxyEvent,
  ApiGatewayProxyEventV2,
} from '../../src/adapters/aws-lambda/types.js'
import type {
  ScfApiGatewayEvent,
  ScfFunctionUrlEvent,
  ScfTimerEvent,
} from '../../src/adapters/tencent-scf/types.js'

/** What every builder wraps: a request as `kit.request()` / `kit.handshake()` build it. */
export interface PlainRequest {
  method: string
  query: Readonly<Record<string, string>>
  body?: string | null
}

/** Options shared by the builders. */
export interface EventOptions {
  /** Send the body base64-encoded, with `isBase64Encoded: true`. */
  base64?: boolean
  /** The path the function was reached at (before any stage prefix). Default `/wechat`. */
  path?: string
}

const WECHAT_UA = 'Mozilla/4.0'
const SOURCE_IP = '203.0.113.7'
const REQUEST_ID = 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef'

function bodyOf(
  request: PlainRequest,
  options: EventOptions,
): { body: string | null; isBase64Encoded: boolean } {
  if (request.method === 'GET' || request.body === undefined || request.body === null) {
    return { body: null, isBase64Encoded: false }
  }
  if (options.base64)
    return { body: Buffer.from(request.body, 'utf8').toString('base64'), isBase64Encoded: true }
  return { body: request.body, isBase64Encoded: false }
}

/** The headers WeChat's servers send (their User-Agent is `Mozilla/4.0`). */
function wechatHeaders(request: PlainRequest, host: string): Record<string, string> {
  const headers: Record<string, string> = {
    accept: '*/*',
    host,
    pragma: 'no-cache',
    'user-agent': WECHAT_UA,
  }
  if (request.method === 'POST' && typeof request.body === 'string') {
    headers['content-type'] = 'text/xml'
    headers['content-length'] = String(Buffer.byteLength(request.body))
  }
  return headers
}

function capitalise(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    out[name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())] = value
  }
  return out
}

function rawQuery(query: Readonly<Record<string, string>>): string {
  return new URLSearchParams(query as Record<string, string>).toString()
}

// ── Tencent SCF ──────────────────────────────────────────────────────────────

/** Options of the SCF API-gateway event. */
export interface ScfApiGatewayOptions extends EventOptions {
  /** The release stage; its name prefixes the path on the default domain. Default `release`. */
  stage?: string
  /** Add query values of SCF's other two types: a list (repeated key) and `true` (a bare key). */
  extraQuery?: boolean
  /** Deliver `<` and `>` as the literal text `\u003c` / `\u003e`, as the 2018 gateway did. */
  escapedBody?: boolean
  /** Capitalised header names, as Tencent's documentation examples show them. */
  capitalisedHeaders?: boolean
  /** Leave `isBase64Encoded` out, as older recorded events do. */
  omitIsBase64Encoded?: boolean
}

/**
 * An API-gateway trigger event (legacy path): top-level `httpMethod` is the request's,
 * `requestContext.httpMethod` is the API's configured `ANY`; the path carries `/<stage>`.
 */
export function scfApiGatewayEvent(
  request: PlainRequest,
  options: ScfApiGatewayOptions = {},
): ScfApiGatewayEvent {
  const stage = options.stage ?? 'release'
  const path = options.path ?? '/wechat'
  const host = 'service-abc12345-1250000000.gz.apigw.tencentcs.com'
  const headers = {
    ...wechatHeaders(request, host),
    'x-anonymous-consumer': 'true',
    'x-api-requestid': 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    'x-b3-traceid': 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    'x-qualifier': '$LATEST',
    'endpoint-timeout': '15',
  }
  const { body, isBase64Encoded } = bodyOf(request, options)
  const queryString: ScfApiGatewayEvent['queryString'] = { ...request.query }
  if (options.extraQuery) {
    queryString.a = ['1', '2']
    queryString.flag = true
  }
  const event: ScfApiGatewayEvent = {
    requestContext: {
      serviceId: 'service-abc12345',
      path,
      httpMethod: 'ANY',
      requestId: REQUEST_ID,
      identity: {},
      sourceIp: SOURCE_IP,
      stage,
    },
    headers: options.capitalisedHeaders ? capitalise(headers) : headers,
    body:
      options.escapedBody && body !== null
        ? body.replaceAll('<', '\\u003c').replaceAll('>', '\\u003e')
        : (body ?? undefined),
    isBase64Encoded,
    httpMethod: request.method,
    path: `/${stage}${path}`,
    queryString,
    queryStringParameters: {},
    pathParameters: {},
    headerParameters: {},
    stageVariables: { stage },
  }
  if (options.omitIsBase64Encoded) delete event.isBase64Encoded
  return event
}

/**
 * A function-URL (函数 URL) event: only `body, headers, httpMethod, path, queryString`, plus the
 * client-IP header `x-scf-remote-addr`.
 */
export function scfFunctionUrlEvent(request: PlainRequest, options: EventOptions = {}): ScfFunctionUrlEvent {
  const { body, isBase64Encoded } = bodyOf(request, options)
  const event: ScfFunctionUrlEvent = {
    body: body ?? '',
    headers: {
      ...wechatHeaders(request, '1250000000-abcd1234ef.ap-guangzhou.tencentscf.com'),
      'x-scf-remote-addr': SOURCE_IP,
    },
    httpMethod: request.method,
    path: options.path ?? '/',
    queryString: { ...request.query },
  }
  // Not documented for function URLs; included only when a test asks for a base64 body.
  if (isBase64Encoded) event.isBase64Encoded = true
  return event
}

/** A timer trigger's event (keep-warm or a scheduled job). */
export function scfTimerEvent(): ScfTimerEvent {
  return { Type: 'Timer', TriggerName: 'keepwarm', Time: '2024-01-01T00:00:00Z', Message: '' }
}

/** The SCF console's default "Hello World" test event. */
export function scfConsoleTestEvent(): Record<string, string> {
  return { key1: 'test value 1', key2: 'test value 2' }
}

/** A COS trigger's event (an object was uploaded). */
export function scfCosEvent(): Record<string, unknown> {
  return {
    Records: [
      {
        cos: {
          cosSchemaVersion: '1.0',
          cosObject: { key: '/1250000000/bucket/a.txt', size: 1, url: 'https://example.com/a.txt' },
          cosBucket: { name: 'bucket', appid: '1250000000', region: 'gz' },
        },
        event: { eventName: 'cos:ObjectCreated:Put', eventVersion: '1.0', eventSource: 'qcs::cos' },
      },
    ],
  }
}

// ── AWS Lambda ───────────────────────────────────────────────────────────────

function multi(values: Readonly<Record<string, string>>): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [key, value] of Object.entries(values)) out[key] = [value]
  return out
}

/** An API Gateway REST API (v1) Lambda-proxy event, with single- and multi-value maps as AWS sends them. */
export function lambdaRestEvent(request: PlainRequest, options: EventOptions = {}): ApiGatewayProxyEvent {
  const path = options.path ?? '/wechat'
  const headers = capitalise(wechatHeaders(request, 'abc123defg.execute-api.us-east-1.amazonaws.com'))
  headers['X-Forwarded-For'] = SOURCE_IP
  headers['X-Forwarded-Proto'] = 'https'
  const { body, isBase64Encoded } = bodyOf(request, options)
  const hasQuery = Object.keys(request.query).length > 0
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: multi(headers),
    queryStringParameters: hasQuery ? { ...request.query } : null,
    multiValueQueryStringParameters: hasQuery ? multi(request.query) : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      resourcePath: '/{proxy+}',
      httpMethod: request.method,
      path: `/prod${path}`,
      stage: 'prod',
      requestId: REQUEST_ID,
      accountId: '123456789012',
      apiId: 'abc123defg',
      protocol: 'HTTP/1.1',
      requestTime: '14/Nov/2023:22:13:20 +0000',
      requestTimeEpoch: 1700000000000,
      identity: { sourceIp: SOURCE_IP, userAgent: WECHAT_UA },
    },
    body,
    isBase64Encoded,
  }
}

/** Options of the payload 2.0 builders. */
export interface HttpApiOptions extends EventOptions {
  /** A named stage (its name prefixes rawPath); default `$default`. */
  stage?: string
}

function v2Event(request: PlainRequest, options: HttpApiOptions, domainName: string): ApiGatewayProxyEventV2 {
  const stage = options.stage ?? '$default'
  const path = options.path ?? '/wechat'
  const rawPath = stage === '$default' ? path : `/${stage}${path}`
  const headers = wechatHeaders(request, domainName)
  headers['x-forwarded-for'] = SOURCE_IP
  headers['x-forwarded-proto'] = 'https'
  const { body, isBase64Encoded } = bodyOf(request, options)
  const event: ApiGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: rawQuery(request.query),
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: domainName.split('.')[0],
      domainName,
      domainPrefix: domainName.split('.')[0],
      http: {
        method: request.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: SOURCE_IP,
        userAgent: WECHAT_UA,
      },
      requestId: REQUEST_ID,
      routeKey: '$default',
      stage,
      time: '14/Nov/2023:22:13:20 +0000',
      timeEpoch: 1700000000000,
    },
    isBase64Encoded,
  }
  if (Object.keys(request.query).length > 0) event.queryStringParameters = { ...request.query }
  if (body !== null) event.body = body
  return event
}

/** An API Gateway HTTP API (payload 2.0) event. */
export function lambdaHttpApiEvent(
  request: PlainRequest,
  options: HttpApiOptions = {},
): ApiGatewayProxyEventV2 {
  return v2Event(request, options, 'abc123defg.execute-api.us-east-1.amazonaws.com')
}

/** A Lambda function URL event: the payload 2.0 shape on a `lambda-url` domain. */
export function lambdaFunctionUrlEvent(
  request: PlainRequest,
  options: EventOptions = {},
): ApiGatewayProxyEventV2 {
  return v2Event(
    request,
    { ...options, stage: '$default' },
    'a1b2c3d4e5f6g7h8i9j0.lambda-url.us-east-1.on.aws',
  )
}

/** Options of the ALB event. */
export interface AlbOptions extends EventOptions {
  /** The target group's `lambda.multi_value_headers.enabled`: multi-value maps instead of single ones. */
  multiValue?: boolean
}

/** An ALB target's event: query values as sent (not URL-decoded, spaces as `+`). */
export function albEvent(request: PlainRequest, options: AlbOptions = {}): AlbEvent {
  const headers = wechatHeaders(request, 'wechat-alb-1234567890.us-east-1.elb.amazonaws.com')
  headers['x-amzn-trace-id'] = 'Root=1-5bdb40ca-556d8b0c50dc66f0511bf520'
  headers['x-forwarded-for'] = SOURCE_IP
  headers['x-forwarded-port'] = '443'
  headers['x-forwarded-proto'] = 'https'
  const query: Record<string, string> = {}
  for (const [key, value] of Object.entries(request.query)) {
    query[encodeURIComponent(key)] = encodeURIComponent(value).replaceAll('%20', '+')
  }
  const { body, isBase64Encoded } = bodyOf(request, options)
  const event: AlbEvent = {
    requestContext: {
      elb: {
        targetGroupArn:
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/wechat/0123456789abcdef',
      },
    },
    httpMethod: request.method,
    path: options.path ?? '/wechat',
    body: body ?? '',
    isBase64Encoded,
  }
  if (options.multiValue) {
    event.multiValueQueryStringParameters = multi(query)
    event.multiValueHeaders = multi(headers)
  } else {
    event.queryStringParameters = query
    event.headers = headers
  }
  return event
}

/** An EventBridge scheduled event. */
export function lambdaScheduleEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: '2024-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/keep-warm'],
    detail: {},
  }
}

/** An SQS event. */
export function lambdaSqsEvent(): Record<string, unknown> {
  return {
    Records: [{ messageId: '1', body: 'hi', eventSource: 'aws:sqs', awsRegion: 'us-east-1' }],
  }
}

// ── Aliyun FC 3 ──────────────────────────────────────────────────────────────

/**
 * An FC 3.0 HTTP-trigger event as the Node runtime hands it over: a Buffer of the JSON. Header
 * names are canonicalised (`Content-Type`).
 */
export function fcHttpEvent(request: PlainRequest, options: EventOptions = {}): Buffer {
  return Buffer.from(JSON.stringify(fcHttpEventObject(request, options)))
}

/** The same event before FC serialises it. */
export function fcHttpEventObject(request: PlainRequest, options: EventOptions = {}): FcHttpEvent {
  const path = options.path ?? '/wechat'
  const domain = 'wechat-abcdefghij.cn-hangzhou.fcapp.run'
  const headers = capitalise(wechatHeaders(request, domain))
  headers['X-Forwarded-For'] = SOURCE_IP
  headers['X-Forwarded-Proto'] = 'https'
  const { body, isBase64Encoded } = bodyOf(request, options)
  return {
    version: 'v1',
    rawPath: encodeURI(path),
    body: body ?? '',
    isBase64Encoded,
    headers,
    queryParameters: { ...request.query },
    requestContext: {
      accountId: '1234567890123456',
      domainName: domain,
      domainPrefix: 'wechat-abcdefghij',
      http: { method: request.method, path, protocol: 'HTTP/1.1', sourceIp: SOURCE_IP, userAgent: WECHAT_UA },
      requestId: '1-64f6cd87-15a6d1a7-8e3f1e1bd7c3',
      time: '2023-09-05T06:41:11Z',
      timeEpoch: '1693896071895',
    },
  }
}

/** An FC timer trigger's event, as the Node runtime hands it over. */
export function fcTimerEvent(): Buffer {
  return Buffer.from(
    JSON.stringify({ triggerTime: '2024-01-01T00:00:00Z', triggerName: 'keepwarm', payload: 'awake' }),
  )
}
