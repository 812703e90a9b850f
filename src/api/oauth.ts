import { WempError } from '../protocol/errors.js'
import type { WechatApi } from './client.js'
import { WechatApiError } from './errors.js'

/**
 * OAuth2 web authorization (网页授权): a page opened inside WeChat learns who the visitor is.
 * 1. Redirect the visitor to {@link OAuthApi.authorizeUrl}; WeChat sends them back to
 *    `redirect_uri?code=CODE&state=STATE` (only `state` when they refuse).
 * 2. {@link OAuthApi.exchangeCode} turns the code (single use, 5 minutes) into the visitor's openid
 *    and a web access token: NOT the account's access token, and these calls take the AppID and
 *    AppSecret instead of it.
 * 3. With `snsapi_userinfo`, {@link OAuthApi.userInfo} reads their nickname and avatar.
 */

/** Where WeChat's authorization page lives (not the API host). */
export const OAUTH_AUTHORIZE_URL = 'https://open.weixin.qq.com/connect/oauth2/authorize'

/**
 * `snsapi_base`: silent, gives the openid only. `snsapi_userinfo`: asks the visitor (once), then
 * also gives nickname and avatar through {@link OAuthApi.userInfo}.
 */
export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo'

/** Options of {@link OAuthApi.authorizeUrl}. */
export interface AuthorizeOptions {
  scope: OAuthScope
  /** Comes back unchanged with the code: letters and digits, up to 128. Use it against CSRF. */
  state?: string
  /** `forcePopup=true`: always show the consent popup for `snsapi_userinfo`. */
  forcePopup?: boolean
}

/** What `sns/oauth2/access_token` answers. */
export interface OAuthToken {
  /** The web access token (for `sns/userinfo` and `sns/auth`), valid `expires_in` seconds. */
  access_token: string
  expires_in: number
  /** Renews the access token for 30 days ({@link OAuthApi.refresh}). */
  refresh_token: string
  openid: string
  /** The scope(s) granted, comma-separated. */
  scope: string
  /** Present when the account is bound to an Open Platform account. */
  unionid?: string
  /** 1 when the visitor is in snapshot-page mode (朋友圈快照页): a virtual openid, no real identity. */
  is_snapshotuser?: number
}

/** What `sns/userinfo` answers (scope `snsapi_userinfo`). */
export interface OAuthUserInfo {
  openid: string
  nickname: string
  /** Avatar URL (the last path segment is the size: 0, 46, 64, 96, 132). Empty when none. */
  headimgurl: string
  /** Always 0 since 2021-10-20. */
  sex: number
  /** Always empty since 2021-10-20. */
  province: string
  /** Always empty since 2021-10-20. */
  city: string
  /** Always empty since 2021-10-20. */
  country: string
  privilege: string[]
  unionid?: string
}

/** The codes `sns/auth` answers for a token that is not (or no longer) good for this openid. */
export const OAUTH_TOKEN_REJECTED: ReadonlySet<number> = new Set([40001, 40003, 40014, 41001, 42001])

const STATE = /^[A-Za-z0-9]{0,128}$/

function invalid(message: string): never {
  throw new WempError('invalid_config', message)
}

function required(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') invalid(`${what} must be a non-empty string`)
  return value
}

function pick<T extends object>(answer: T & { errcode?: number; errmsg?: string }): T {
  const { errcode: _errcode, errmsg: _errmsg, ...rest } = answer
  return rest as T
}

/** OAuth2 web authorization (`open.weixin.qq.com/connect/oauth2/authorize`, `/sns/*`). */
export class OAuthApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * The URL to send a visitor to (302 them there, from a page opened inside WeChat). The
   * `redirect_uri` domain must be the account's 网页授权域名. No call is made.
   *
   * @example
   * const url = api.oauth.authorizeUrl('https://example.com/oauth/callback', {
   *   scope: 'snsapi_userinfo',
   *   state: 'a1b2c3',
   * })
   */
  authorizeUrl(redirectUri: string, options: AuthorizeOptions): string {
    if (typeof redirectUri !== 'string' || !/^https?:\/\/[^\s/?#]+/i.test(redirectUri)) {
      invalid(`the OAuth2 redirect_uri must be a full http(s) URL; got ${String(redirectUri)}`)
    }
    const scope = options?.scope
    if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo') {
      invalid(`the OAuth2 scope is snsapi_base or snsapi_userinfo; got ${String(scope)}`)
    }
    const state = options.state
    if (state !== undefined && (typeof state !== 'string' || !STATE.test(state))) {
      invalid(`the OAuth2 state is up to 128 letters and digits; got ${JSON.stringify(state)}`)
    }
    // WeChat is known to be picky about the order of these parameters: keep the documented one.
    let url =
      `${OAUTH_AUTHORIZE_URL}?appid=${encodeURIComponent(this.api.appId)}` +
      `&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=${scope}`
    if (state !== undefined) url += `&state=${state}`
    if (options.forcePopup) url += '&forcePopup=true'
    return `${url}#wechat_redirect`
  }

  /**
   * Exchanges the code from the callback for the visitor's openid and a web access token. A code
   * works once (40163 when reused) and for 5 minutes (40029 after, or when unknown). Not retried on
   * "system busy": a retry could only meet a used code.
   *
   * @example
   * const { openid, access_token, scope } = await api.oauth.exchangeCode(query.code)
   */
  async exchangeCode(code: string): Promise<OAuthToken> {
    const answer = await this.api.call<OAuthToken>('/sns/oauth2/access_token', {
      auth: false,
      idempotent: false,
      query: {
        appid: this.api.appId,
        secret: this.api.appSecret,
        code: required(code, 'the OAuth2 code'),
        grant_type: 'authorization_code',
      },
    })
    return pick(answer)
  }

  /**
   * Renews a web access token with the refresh token (valid 30 days; 40030 when invalid, 42002
   * once expired: the visitor must authorize again).
   *
   * @example
   * const fresh = await api.oauth.refresh(saved.refresh_token)
   */
  async refresh(refreshToken: string): Promise<OAuthToken> {
    const answer = await this.api.call<OAuthToken>('/sns/oauth2/refresh_token', {
      auth: false,
      query: {
        appid: this.api.appId,
        grant_type: 'refresh_token',
        refresh_token: required(refreshToken, 'the OAuth2 refresh token'),
      },
    })
    return pick(answer)
  }

  /**
   * The visitor's nickname and avatar. Needs a token of scope `snsapi_userinfo` (48001 with
   * `snsapi_base`).
   *
   * @example
   * const { nickname, headimgurl } = await api.oauth.userInfo(token.access_token, token.openid)
   */
  async userInfo(
    accessToken: string,
    openid: string,
    lang: 'zh_CN' | 'zh_TW' | 'en' = 'zh_CN',
  ): Promise<OAuthUserInfo> {
    const answer = await this.api.call<OAuthUserInfo>('/sns/userinfo', {
      auth: false,
      query: {
        access_token: required(accessToken, 'the OAuth2 access token'),
        openid: required(openid, 'openid'),
        lang,
      },
    })
    return pick(answer)
  }

  /**
   * Whether a web access token is still good for an openid (`sns/auth`): true for errcode 0, false
   * for an invalid, expired or mismatched token (40001, 40003, 40014, 41001, 42001); other errors are
   * thrown.
   *
   * @example
   * if (!(await api.oauth.check(saved.access_token, saved.openid))) await api.oauth.refresh(saved.refresh_token)
   */
  async check(accessToken: string, openid: string): Promise<boolean> {
    try {
      await this.api.call('/sns/auth', {
        auth: false,
        query: {
          access_token: required(accessToken, 'the OAuth2 access token'),
          openid: required(openid, 'openid'),
        },
      })
      return true
    } catch (error) {
      if (error instanceof WechatApiError && OAUTH_TOKEN_REJECTED.has(error.errcode)) return false
      throw error
    }
  }
}
