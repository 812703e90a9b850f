import { WempError } from '../protocol/errors.js'

/**
 * An error answer from WeChat's HTTP API: `errcode` and `errmsg` as WeChat sent them, and the
 * path that was called. Branch on `errcode` (the global return codes: 40001 invalid credential,
 * 45009 daily quota reached, 45015 outside the customer-service window, 48001 unauthorized, …).
 *
 * @example
 * try { await api.customService.send(openid, { type: 'text', content: 'hi' }) }
 * catch (error) { if (error instanceof WechatApiError && error.errcode === 45015) … }
 */
export class WechatApiError extends WempError {
  /** WeChat's numeric error code. */
  declare readonly errcode: number
  /** WeChat's error message (English, often with an `rid` for WeChat's support). */
  readonly errmsg: string
  /** The API path called, e.g. `/cgi-bin/message/custom/send`. */
  readonly path: string

  constructor(path: string, errcode: number, errmsg: string) {
    super('api_error', `WeChat API ${path} failed: errcode ${errcode} ${errmsg}`, { errcode })
    this.name = 'WechatApiError'
    this.errmsg = errmsg
    this.path = path
  }
}

/** WeChat's API could not be reached, or answered something that is not its API (a network error, a timeout, an HTTP error status, a body that is not JSON). */
export class ApiUnreachableError extends WempError {
  /** The API path called. */
  readonly path: string
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined

  constructor(path: string, message: string, options?: { status?: number; cause?: unknown }) {
    super('api_unreachable', `WeChat API ${path}: ${message}`, { cause: options?.cause })
    this.name = 'ApiUnreachableError'
    this.path = path
    this.status = options?.status
  }
}

/** The global return codes wemp acts on. */
export const ApiErrorCode = {
  /** System busy: retried once after a pause. */
  SystemBusy: -1,
  /** Invalid credential: wrong AppSecret, or the access token is invalid or not the latest. */
  InvalidCredential: 40001,
  InvalidAccessToken: 40014,
  AccessTokenExpired: 42001,
  AccessTokenMissing: 41001,
  /** The caller's IP is not on the account's API whitelist. */
  IpNotWhitelisted: 40164,
  DailyQuotaReached: 45009,
  MinuteQuotaReached: 45011,
  /** Outside the customer-service window (or the follower unsubscribed). */
  OutOfResponseWindow: 45015,
  /** Over the customer-service message quota of the window. */
  CustomerServiceQuota: 45047,
  Unauthorized: 48001,
} as const

/** The codes that mean "this access token is no good": refresh it and retry once. */
export const TOKEN_ERRORS: ReadonlySet<number> = new Set([40001, 40014, 42001])
