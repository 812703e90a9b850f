import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { customServiceRoutes } from './routes/custom-service.js'
import { jssdkRoutes } from './routes/jssdk.js'
import { mediaRoutes } from './routes/media.js'
import { menuRoutes } from './routes/menu.js'
import { oauthRoutes } from './routes/oauth.js'
import { publishingRoutes } from './routes/publishing.js'
import { qrcodeRoutes } from './routes/qrcode.js'
import { templateRoutes } from './routes/template.js'
import { tokenRoutes } from './routes/token.js'
import { userRoutes } from './routes/users.js'

/**
 * A local stand-in for WeChat's HTTP API (`api.weixin.qq.com`), for tests and `wemp dev`. It is
 * NOT WeChat: it behaves as WeChat's documentation says where it matters to a client — access
 * tokens are issued, expire, overlap for 5 minutes after a classic refresh, and unknown ones get
 * 40001; daily quotas end in 45009; customer-service messages need an open window (45015) and
 * respect its quota (45047); bodies are checked (47001 for bad JSON, 40xxx for bad fields) — and
 * records every call so that tests can assert on what was sent.
 *
 * @example
 * import { startWechatApiStandIn } from 'wemp/testing'
 * const wechat = await startWechatApiStandIn({ apps: { wx123: 'secret' } })
 * const api = createApi({ appId: 'wx123', appSecret: 'secret', baseUrl: wechat.url })
 * wechat.openWindow('wx123', openid)
 * await api.customService.send(openid, 'hi')
 * assert.equal(wechat.sent[0]?.text?.content, 'hi')
 * await wechat.close()
 */

/** An error answer, as WeChat sends it: HTTP 200 with `{errcode, errmsg}`. */
export class StandInError extends Error {
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`${errcode} ${errmsg}`)
  }
}

/** A request as a route sees it. */
export interface StandInRequest {
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  body: Buffer
  /** The AppID the access token belongs to (routes with `auth: 'token'`). */
  appId: string
  /** The body as JSON: 44002 when empty, 47001 when not JSON. */
  json<T = Record<string, unknown>>(): T
  /** The body as multipart form data (media uploads). */
  form(): Promise<FormData>
}

/** A route's answer: JSON (errcode 0 and errmsg "ok" are added when absent), or a raw response. */
export type RouteResult =
  | Record<string, unknown>
  | { raw: { status?: number; headers?: Record<string, string>; body: string | Uint8Array } }

/** One API endpoint of the stand-in. */
export interface Route {
  method: 'GET' | 'POST'
  path: string
  /** `token`: needs a valid access_token (default); `none`: takes appid/secret or nothing. */
  auth?: 'token' | 'none'
  /** Counts against a daily quota (45009 beyond it). */
  quota?: number
  handle(request: StandInRequest): RouteResult | Promise<RouteResult>
}

/** One recorded call. */
export interface RecordedCall {
  method: string
  path: string
  query: Record<string, string>
  /** The JSON body, when there was one. */
  body: unknown
  appId: string | undefined
  /** What the stand-in answered (0 = success). */
  errcode: number
  at: number
}

/** A customer-service message the stand-in accepted, as WeChat received it. */
export type SentMessage = Record<string, unknown> & {
  touser: string
  msgtype: string
  appId: string
  at: number
  /** For `msgtype: 'text'`. */
  text?: { content: string }
}

export interface StandInOptions {
  /** The accounts: AppID → AppSecret. */
  apps: Record<string, string>
  /** The clock, ms (share a fake clock with the client to test expiry). Default `Date.now`. */
  now?: () => number
  /** Token lifetime in seconds. Default 7200. */
  tokenTtl?: number
  /** Daily quota of `/cgi-bin/token`. Default 2000. */
  tokenQuota?: number
  /** Check the customer-service window (45015/45047). Default true. */
  enforceWindow?: boolean
  /** Pretend the caller's IP is not whitelisted: every token request gets 40164. */
  rejectIp?: boolean
  /** Delay every answer by this many ms (to test timeouts and concurrency). */
  latency?: number
  /** Port; default a free one. */
  port?: number
}

/** The customer-service window a follower action opens (WeChat's rules since 2023). */
export const WINDOWS = {
  /** The follower sent a message: 5 messages within 48 hours. */
  message: { duration: 48 * 3600 * 1000, quota: 5 },
  /** A menu click, a follow or a scan: 3 messages within 1 minute. */
  event: { duration: 60 * 1000, quota: 3 },
} as const

interface Window {
  until: number
  left: number
}

/** The running stand-in. */
export class WechatApiStandIn {
  readonly options: StandInOptions
  readonly now: () => number
  /** Every call, in order. */
  readonly calls: RecordedCall[] = []
  /** Every customer-service message accepted, in order. */
  readonly sent: SentMessage[] = []
  /** Extra behaviour tests may inject: answer the next calls to a path with an error. */
  readonly failures = new Map<string, { errcode: number; errmsg: string; times: number }>()
  readonly #routes = new Map<string, Route>()
  readonly #quotaUsed = new Map<string, number>()
  readonly #windows = new Map<string, Window>()
  /** Valid access tokens → their app and expiry. */
  readonly tokens = new Map<string, { appId: string; expiresAt: number; kind: 'classic' | 'stable' }>()
  #server: Server | undefined
  url = ''

  constructor(options: StandInOptions) {
    this.options = options
    this.now = options.now ?? Date.now
    for (const routes of [
      tokenRoutes,
      customServiceRoutes,
      menuRoutes,
      templateRoutes,
      mediaRoutes,
      userRoutes,
      qrcodeRoutes,
      jssdkRoutes,
      oauthRoutes,
      publishingRoutes,
    ]) {
      for (const route of routes(this)) this.#routes.set(`${route.method} ${route.path}`, route)
    }
  }

  async listen(): Promise<this> {
    const server = createServer((req, res) => {
      this.#serve(req, res).catch((error: unknown) => {
        res.statusCode = 500
        res.end(String(error))
      })
    })
    await new Promise<void>((resolve) => server.listen(this.options.port ?? 0, '127.0.0.1', resolve))
    this.#server = server
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    const server = this.#server
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** A new opaque value (tokens, media ids, tickets). */
  newId(prefix = ''): string {
    return prefix + randomBytes(24).toString('base64url')
  }

  /** The AppID of a valid token, or the error WeChat gives for it. */
  checkToken(token: string | null): string {
    if (!token) throw new StandInError(41001, 'access_token missing')
    const found = this.tokens.get(token)
    if (!found) throw new StandInError(40001, 'invalid credential, access_token is invalid or not latest')
    if (found.expiresAt <= this.now()) throw new StandInError(42001, 'access_token expired')
    return found.appId
  }

  /** Opens (or renews) the customer-service window as a follower's action would. */
  openWindow(appId: string, openid: string, kind: keyof typeof WINDOWS = 'message'): void {
    const window = WINDOWS[kind]
    this.#windows.set(`${appId}:${openid}`, { until: this.now() + window.duration, left: window.quota })
  }

  /** Spends one customer-service message of a follower's window: 45015 outside it, 45047 over its quota. */
  spendWindow(appId: string, openid: string): void {
    if (this.options.enforceWindow === false) return
    const window = this.#windows.get(`${appId}:${openid}`)
    if (!window || window.until <= this.now()) {
      throw new StandInError(45015, 'response out of time limit or subscription is canceled')
    }
    if (window.left <= 0) throw new StandInError(45047, 'out of response count limit')
    window.left--
  }

  /** How many calls were made to a path (all apps). */
  count(path: string): number {
    return this.calls.filter((call) => call.path === path).length
  }

  /** Answers the next `times` calls to `path` with an error (e.g. -1 busy, 45009). */
  failNext(path: string, errcode: number, errmsg: string, times = 1): void {
    this.failures.set(path, { errcode, errmsg, times })
  }

  /** Counts one call against a daily quota; 45009 beyond it. */
  useQuota(appId: string, path: string, limit: number): void {
    const day = Math.floor(this.now() / 86_400_000)
    const key = `${appId}:${path}:${day}`
    const used = (this.#quotaUsed.get(key) ?? 0) + 1
    if (used > limit) throw new StandInError(45009, 'reach max api daily quota limit')
    this.#quotaUsed.set(key, used)
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const url = new URL(req.url ?? '/', 'http://stand-in')
    const method = req.method ?? 'GET'
    if (this.options.latency) await new Promise((resolve) => setTimeout(resolve, this.options.latency))
    const call: RecordedCall = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      appId: undefined,
      errcode: 0,
      at: this.now(),
    }
    if (body.length > 0 && /json/.test(req.headers['content-type'] ?? '')) {
      try {
        call.body = JSON.parse(body.toString('utf8'))
      } catch {
        call.body = body.toString('utf8')
      }
    }
    this.calls.push(call)
    const answer = (status: number, payload: Record<string, unknown>) => {
      res.writeHead(status, { 'content-type': 'application/json; encoding=utf-8' })
      res.end(JSON.stringify(payload))
    }
    const route = this.#routes.get(`${method} ${url.pathname}`)
    if (!route) {
      // WeChat answers unknown paths with errcode 40066 (invalid url) or a 404 page; a stand-in
      // that does not implement something must say so loudly.
      call.errcode = 404
      answer(404, { errcode: 404, errmsg: `the stand-in has no ${method} ${url.pathname}` })
      return
    }
    try {
      const appId = route.auth === 'none' ? '' : this.checkToken(url.searchParams.get('access_token'))
      call.appId = appId || url.searchParams.get('appid') || undefined
      const failure = this.failures.get(url.pathname)
      if (failure && failure.times > 0) {
        failure.times--
        throw new StandInError(failure.errcode, failure.errmsg)
      }
      if (route.quota !== undefined && appId) this.useQuota(appId, url.pathname, route.quota)
      const request: StandInRequest = {
        method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        appId,
        json: <T>() => {
          if (body.length === 0) throw new StandInError(44002, 'empty post data')
          try {
            return JSON.parse(body.toString('utf8')) as T
          } catch {
            throw new StandInError(47001, 'data format error')
          }
        },
        form: () =>
          new Request('http://stand-in/', {
            method: 'POST',
            headers: { 'content-type': req.headers['content-type'] ?? '' },
            body,
          }).formData(),
      }
      const result = await route.handle(request)
      if ('raw' in result && typeof result.raw === 'object' && result.raw !== null) {
        const raw = result.raw as {
          status?: number
          headers?: Record<string, string>
          body: string | Uint8Array
        }
        res.writeHead(raw.status ?? 200, raw.headers ?? {})
        res.end(raw.body)
        return
      }
      answer(200, { errcode: 0, errmsg: 'ok', ...result })
    } catch (error) {
      if (!(error instanceof StandInError)) throw error
      call.errcode = error.errcode
      answer(200, { errcode: error.errcode, errmsg: `${error.errmsg} rid: ${this.newId().slice(0, 8)}` })
    }
  }
}

/** Starts a stand-in on a free local port. */
export function startWechatApiStandIn(options: StandInOptions): Promise<WechatApiStandIn> {
  return new WechatApiStandIn(options).listen()
}
