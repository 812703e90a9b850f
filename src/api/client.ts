import { createConsoleLogger, type Logger, silentLogger } from '../bot/logger.js'
import { WempError } from '../protocol/errors.js'
import { MemoryStore } from '../storage/memory/index.js'
import type { Store } from '../storage/store.js'
import { type FetchedCredential, SharedCredential } from './credential.js'
import { CustomServiceApi } from './custom-service.js'
import { ApiErrorCode, ApiUnreachableError, TOKEN_ERRORS, WechatApiError } from './errors.js'
import { JssdkApi } from './jssdk.js'
import { MaterialApi, MediaApi } from './media.js'
import { MenuApi } from './menu.js'
import { OAuthApi } from './oauth.js'
import { DraftApi, PublishApi } from './publishing.js'
import { QrCodeApi } from './qrcode.js'
import { SubscribeMessageApi, TemplateApi } from './template.js'
import { BlacklistApi, TagApi, UserApi } from './users.js'

/** WeChat's API host. */
export const DEFAULT_API_BASE = 'https://api.weixin.qq.com'

/**
 * Where the access token comes from:
 * - `'stable'` (default): `POST /cgi-bin/stable_token` without force: every caller within the
 *   validity period gets the same token, so instances cannot invalidate one another's.
 * - `'classic'`: `GET /cgi-bin/token`: each call issues a new token (the old one stays valid for 5
 *   minutes). Shared through the store all the same.
 * - a function: your own central token service (e.g. when another system already refreshes the
 *   token with the same AppSecret). Return the token, or the token and its lifetime in seconds.
 */
export type AccessTokenSource = 'stable' | 'classic' | (() => Promise<string | FetchedCredential>)

/** How to reach WeChat's API. */
export interface ApiOptions {
  appId: string
  /** The AppSecret (基本配置 → 开发者密码). Needed unless `accessToken` is your own function. */
  appSecret?: string
  /** See {@link AccessTokenSource}. Default `'stable'`. */
  accessToken?: AccessTokenSource
  /**
   * Where the token and tickets are shared between instances. Default: in memory (one process);
   * pass the bot's Redis/database/object store on serverless.
   */
  store?: Store
  /**
   * The API base URL. Default `https://api.weixin.qq.com`. Point it at a fixed-egress-IP proxy
   * when the function's IP changes (WeChat's IP whitelist, errcode 40164), or at a stand-in in tests.
   */
  baseUrl?: string
  /** The fetch to use. Default: the global one. */
  fetch?: typeof fetch
  /** Where to log. Default: the console logger; `false` for nothing. */
  logger?: Logger | false
  /** Per-call timeout, ms. Default 10 000. */
  timeout?: number
  /** The clock, ms. */
  now?: () => number
}

/** One call's details. */
export interface CallOptions {
  /** Default: POST when there is a body, GET otherwise. */
  method?: 'GET' | 'POST'
  /** Query parameters (the access token is added unless `auth` is false). */
  query?: Record<string, string | number | boolean | undefined>
  /** A JSON body. */
  json?: unknown
  /** A multipart body (media uploads). */
  form?: FormData
  /** Whether the call takes `access_token`. Default true. */
  auth?: boolean
  /**
   * Whether repeating the call is harmless. Calls that send something to a follower are not:
   * they are not retried on WeChat's "system busy" (-1). Default true.
   */
  idempotent?: boolean
  /** This call's timeout, ms (uploads of large files may need more than the client's). */
  timeout?: number
}

/** A file downloaded from WeChat. */
export interface DownloadedFile {
  data: Uint8Array
  contentType: string
  /** From Content-Disposition, when WeChat sent one. */
  filename: string | undefined
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * WeChat's HTTP API, typed. Inside handlers it is `ctx.api`; on its own, create it with the
 * AppID and AppSecret. The access token is fetched once and shared by every instance through the
 * store, refreshed before it expires, and a call refused for a bad token (40001, 40014, 42001)
 * is retried once with a fresh one. Errors are {@link WechatApiError} (with `errcode`/`errmsg`)
 * or {@link ApiUnreachableError}.
 *
 * @example
 * const api = createApi({ appId, appSecret, store })
 * await api.menu.create({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
 * await api.customService.send(openid, { type: 'text', content: 'done' })
 */
export class WechatApi {
  readonly appId: string
  readonly baseUrl: string
  readonly log: Logger
  readonly store: Store
  /** The shared access token. */
  readonly token: SharedCredential
  readonly #secret: string | undefined
  readonly #fetch: typeof fetch
  readonly #timeout: number
  readonly now: () => number

  /** Custom menus, conditional menus included. */
  readonly menu: MenuApi
  /** Customer-service messages (客服消息) and the typing indicator. */
  readonly customService: CustomServiceApi
  /** Template messages (模板消息). */
  readonly template: TemplateApi
  /** Subscribe messages (订阅通知). */
  readonly subscribeMessage: SubscribeMessageApi
  /** Temporary media. */
  readonly media: MediaApi
  /** Permanent material (永久素材). */
  readonly material: MaterialApi
  /** Followers: info, lists, remarks. */
  readonly user: UserApi
  /** Follower tags. */
  readonly tag: TagApi
  /** The blacklist. */
  readonly blacklist: BlacklistApi
  /** Parametric QR codes. */
  readonly qrcode: QrCodeApi
  /** JS-SDK configuration (the jsapi ticket is shared like the token). */
  readonly jssdk: JssdkApi
  /** OAuth2 web authorization (网页授权). */
  readonly oauth: OAuthApi
  /** Drafts (草稿箱). */
  readonly draft: DraftApi
  /** Free publishing (发布能力). */
  readonly publish: PublishApi

  constructor(options: ApiOptions) {
    if (typeof options?.appId !== 'string' || options.appId === '') {
      throw new WempError('invalid_config', 'the WeChat API client needs an appId')
    }
    const source = options.accessToken ?? 'stable'
    if (typeof source !== 'function' && !options.appSecret) {
      throw new WempError(
        'invalid_config',
        'the WeChat API client needs appSecret (or an accessToken function supplying the token)',
      )
    }
    this.appId = options.appId
    this.#secret = options.appSecret
    this.baseUrl = (options.baseUrl ?? DEFAULT_API_BASE).replace(/\/+$/, '')
    this.log = options.logger === false ? silentLogger : (options.logger ?? createConsoleLogger())
    this.store = options.store ?? new MemoryStore()
    this.#fetch = options.fetch ?? globalThis.fetch
    this.#timeout = options.timeout ?? 10_000
    this.now = options.now ?? Date.now
    const kind = typeof source === 'function' ? 'custom' : source
    this.token = new SharedCredential({
      store: this.store,
      key: `token:${this.appId}:${kind}`,
      fetch: () => this.#fetchToken(source),
      log: this.log,
      label: 'access token',
      now: this.now,
    })
    this.menu = new MenuApi(this)
    this.customService = new CustomServiceApi(this)
    this.template = new TemplateApi(this)
    this.subscribeMessage = new SubscribeMessageApi(this)
    this.media = new MediaApi(this)
    this.material = new MaterialApi(this)
    this.user = new UserApi(this)
    this.tag = new TagApi(this)
    this.blacklist = new BlacklistApi(this)
    this.qrcode = new QrCodeApi(this)
    this.jssdk = new JssdkApi(this)
    this.oauth = new OAuthApi(this)
    this.draft = new DraftApi(this)
    this.publish = new PublishApi(this)
  }

  /** The AppSecret, for the calls that take it instead of a token (OAuth2). */
  get appSecret(): string {
    if (!this.#secret) {
      throw new WempError('api_not_configured', 'this call needs the AppSecret: pass appSecret to the client')
    }
    return this.#secret
  }

  /** The current access token (fetched once across instances when needed). */
  accessToken(): Promise<string> {
    return this.token.get()
  }

  /**
   * Calls any API path that returns JSON, with the token, error checking and retry policy. The
   * typed methods use it; it also reaches APIs wemp has no method for.
   *
   * @example
   * const { ip_list } = await api.call<{ ip_list: string[] }>('/cgi-bin/get_api_domain_ip')
   */
  async call<T = Record<string, unknown>>(path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.#withToken(path, options, 'json')
    return response as T
  }

  /**
   * Calls an API that answers a file (media downloads). When WeChat answers JSON instead (a video's
   * `video_url`, a permanent news item), that JSON is returned.
   */
  async download<T = Record<string, unknown>>(
    path: string,
    options: CallOptions = {},
  ): Promise<DownloadedFile | T> {
    return (await this.#withToken(path, options, 'file')) as DownloadedFile | T
  }

  async #withToken(path: string, options: CallOptions, as: 'json' | 'file'): Promise<unknown> {
    if (options.auth === false) return this.#send(path, options, undefined, as)
    const token = await this.accessToken()
    try {
      return await this.#send(path, options, token, as)
    } catch (error) {
      if (!(error instanceof WechatApiError) || !TOKEN_ERRORS.has(error.errcode)) throw error
      await this.token.invalidate(token)
      const fresh = await this.accessToken()
      if (fresh === token) throw error
      this.log.warn('WeChat refused the access token; retrying once with a fresh one', {
        path,
        errcode: error.errcode,
      })
      return this.#send(path, options, fresh, as)
    }
  }

  async #send(
    path: string,
    options: CallOptions,
    token: string | undefined,
    as: 'json' | 'file',
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(path, options, token, as)
      } catch (error) {
        const busy = error instanceof WechatApiError && error.errcode === ApiErrorCode.SystemBusy
        if (!busy || attempt > 0 || options.idempotent === false) throw error
        this.log.warn('WeChat says it is busy (-1); retrying once', { path })
        await sleep(300)
      }
    }
  }

  async #once(
    path: string,
    options: CallOptions,
    token: string | undefined,
    as: 'json' | 'file',
  ): Promise<unknown> {
    const url = new URL(this.baseUrl + path)
    if (token !== undefined) url.searchParams.set('access_token', token)
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value))
    }
    const hasBody = options.json !== undefined || options.form !== undefined
    const init: RequestInit = {
      method: options.method ?? (hasBody ? 'POST' : 'GET'),
      signal: AbortSignal.timeout(options.timeout ?? this.#timeout),
    }
    if (options.form) init.body = options.form
    else if (options.json !== undefined) {
      // WeChat wants UTF-8 characters, not \u escapes, in bodies (e.g. menu names); JSON.stringify does that.
      init.body = JSON.stringify(options.json)
      init.headers = { 'content-type': 'application/json; charset=utf-8' }
    }
    let response: Response
    try {
      response = await this.#fetch(url, init)
    } catch (cause) {
      const reason =
        cause instanceof Error && cause.name === 'TimeoutError'
          ? `no answer within ${options.timeout ?? this.#timeout} ms`
          : `request failed (${cause instanceof Error ? cause.message : String(cause)})`
      throw new ApiUnreachableError(path, reason, { cause })
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {})
      throw new ApiUnreachableError(path, `HTTP ${response.status}`, { status: response.status })
    }
    const type = response.headers.get('content-type') ?? ''
    if (as === 'file' && !/json|text\/plain/i.test(type)) {
      const disposition = response.headers.get('content-disposition') ?? ''
      return {
        data: new Uint8Array(await response.arrayBuffer()),
        contentType: type,
        filename: filenameOf(disposition),
      } satisfies DownloadedFile
    }
    const text = await response.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch (cause) {
      throw new ApiUnreachableError(path, `the answer is not JSON: ${JSON.stringify(text.slice(0, 80))}`, {
        status: response.status,
        cause,
      })
    }
    if (typeof body === 'object' && body !== null && 'errcode' in body) {
      const { errcode, errmsg } = body as { errcode: unknown; errmsg?: unknown }
      if (typeof errcode === 'number' && errcode !== 0) {
        throw new WechatApiError(path, errcode, typeof errmsg === 'string' ? errmsg : '')
      }
    }
    return body
  }

  async #fetchToken(source: AccessTokenSource): Promise<FetchedCredential> {
    if (typeof source === 'function') {
      const got = await source()
      return typeof got === 'string' ? { value: got, expiresIn: 7200 } : got
    }
    const answer =
      source === 'classic'
        ? await this.call<{ access_token: string; expires_in: number }>('/cgi-bin/token', {
            auth: false,
            query: { grant_type: 'client_credential', appid: this.appId, secret: this.appSecret },
          })
        : await this.call<{ access_token: string; expires_in: number }>('/cgi-bin/stable_token', {
            auth: false,
            json: {
              grant_type: 'client_credential',
              appid: this.appId,
              secret: this.appSecret,
              force_refresh: false,
            },
          })
    if (typeof answer.access_token !== 'string') {
      throw new WempError('token_unavailable', 'WeChat answered the token request without an access_token')
    }
    return { value: answer.access_token, expiresIn: answer.expires_in }
  }
}

/** The file name of a Content-Disposition header: RFC 5987 `filename*=UTF-8''…` first, then `filename=`. */
function filenameOf(disposition: string): string | undefined {
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition)?.[1]
  if (extended) {
    try {
      return decodeURIComponent(extended.trim())
    } catch {
      // fall through to the plain form
    }
  }
  return /filename\s*=\s*"?([^";]+)"?/i.exec(disposition)?.[1]
}

/**
 * Creates a WeChat API client.
 *
 * @example
 * const api = createApi({ appId: process.env.WECHAT_APP_ID!, appSecret: process.env.WECHAT_APP_SECRET! })
 * const { openid } = await api.user.list()
 */
export function createApi(options: ApiOptions): WechatApi {
  return new WechatApi(options)
}
