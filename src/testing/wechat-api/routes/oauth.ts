import { type Route, StandInError, type WechatApiStandIn } from '../server.js'
import { followerOf } from './users.js'

/**
 * OAuth2 web authorization (网页授权), as WeChat runs it. Tests play the visitor who approves with
 * {@link approveAuthorization} (from an authorize URL) or {@link mintOAuthCode}; then:
 * - `sns/oauth2/access_token` (appid + secret + code): an unknown AppID is 40013, a wrong secret
 *   40125, a wrong grant_type 40002; a code is good once (40163 "code been used") and for 5 minutes
 *   (40029 "invalid code" after, or when unknown or another app's).
 * - `sns/oauth2/refresh_token`: the refresh token lives 30 days (42002 after; 40030 when unknown);
 *   an unexpired access token is kept and its lifetime renewed, an expired one replaced.
 * - `sns/userinfo`: needs scope `snsapi_userinfo` (48001 otherwise); an unknown token is 40001, an
 *   expired one 42001, an openid that is not the token's 40003. Since 2021-10 sex/province/city/
 *   country are blank.
 * - `sns/auth`: errcode 0 for a live token of that openid, else the same codes as `sns/userinfo`.
 */

export type StandInOAuthScope = 'snsapi_base' | 'snsapi_userinfo'

/** What the visitor approves (what WeChat knows about them). */
export interface OAuthGrant {
  appId: string
  openid: string
  scope: StandInOAuthScope
  /** Returned with the token and the user info when set (or when the follower has one). */
  unionid?: string
  /** A snapshot-page (朋友圈快照页) visitor: `is_snapshotuser: 1`. */
  snapshot?: boolean
  /** For `sns/userinfo`. Default: the follower's, else `微信用户` and no avatar. */
  nickname?: string
  headimgurl?: string
}

export const OAUTH_STAND_IN_TIMES = {
  /** A code is good this long (ms). */
  code: 5 * 60 * 1000,
  /** The web access token (s). */
  accessToken: 7200,
  /** The refresh token (ms). */
  refreshToken: 30 * 24 * 3600 * 1000,
} as const

interface CodeState {
  grant: OAuthGrant
  issuedAt: number
  used: boolean
}

interface TokenState {
  grant: OAuthGrant
  expiresAt: number
}

interface RefreshState {
  grant: OAuthGrant
  expiresAt: number
  accessToken: string
}

interface OAuthState {
  codes: Map<string, CodeState>
  tokens: Map<string, TokenState>
  refresh: Map<string, RefreshState>
}

const states = new WeakMap<WechatApiStandIn, OAuthState>()

function stateOf(standIn: WechatApiStandIn): OAuthState {
  let state = states.get(standIn)
  if (!state) {
    state = { codes: new Map(), tokens: new Map(), refresh: new Map() }
    states.set(standIn, state)
  }
  return state
}

/**
 * Issues an authorization code, as WeChat does when the visitor approves (or, for `snsapi_base`,
 * simply opens the page). Good once, for 5 minutes of the stand-in's clock.
 *
 * @example
 * const code = mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_userinfo', nickname: '小明' })
 */
export function mintOAuthCode(standIn: WechatApiStandIn, grant: OAuthGrant): string {
  if (!(grant.appId in standIn.options.apps)) throw new Error(`the stand-in has no app ${grant.appId}`)
  if (grant.scope !== 'snsapi_base' && grant.scope !== 'snsapi_userinfo') {
    throw new Error(`unknown OAuth2 scope ${String(grant.scope)}`)
  }
  const code = standIn.newId().slice(0, 32)
  stateOf(standIn).codes.set(code, { grant: { ...grant }, issuedAt: standIn.now(), used: false })
  return code
}

/**
 * What WeChat's authorization page does with an authorize URL when the visitor (`openid`) approves:
 * checks the URL (open.weixin.qq.com, known appid, `response_type=code`, a known scope, the state's
 * format, `#wechat_redirect`), mints a code, and returns the callback URL
 * `redirect_uri?code=CODE&state=STATE`. Throws (as the page would show an error) when the URL is bad.
 *
 * @example
 * const callback = new URL(approveAuthorization(wechat, api.oauth.authorizeUrl(uri, { scope: 'snsapi_base' }), openid))
 * const token = await api.oauth.exchangeCode(callback.searchParams.get('code')!)
 */
export function approveAuthorization(
  standIn: WechatApiStandIn,
  authorizeUrl: string,
  openid: string,
  grant: Partial<Pick<OAuthGrant, 'unionid' | 'snapshot' | 'nickname' | 'headimgurl'>> = {},
): string {
  const url = new URL(authorizeUrl)
  if (url.origin !== 'https://open.weixin.qq.com' || url.pathname !== '/connect/oauth2/authorize') {
    throw new Error(`not WeChat's authorization page: ${url.origin}${url.pathname}`)
  }
  if (url.hash !== '#wechat_redirect') throw new Error('the authorize URL must end with #wechat_redirect')
  const appId = url.searchParams.get('appid') ?? ''
  if (!(appId in standIn.options.apps)) throw new Error(`unknown appid ${appId}`)
  if (url.searchParams.get('response_type') !== 'code') throw new Error('response_type must be code')
  const scope = url.searchParams.get('scope')
  if (scope !== 'snsapi_base' && scope !== 'snsapi_userinfo')
    throw new Error(`invalid scope ${String(scope)}`)
  const state = url.searchParams.get('state')
  if (state !== null && !/^[A-Za-z0-9]{0,128}$/.test(state)) throw new Error(`invalid state ${state}`)
  const redirect = url.searchParams.get('redirect_uri')
  if (!redirect || !/^https?:\/\//.test(redirect)) throw new Error('redirect_uri must be a full URL')
  const callback = new URL(redirect)
  callback.searchParams.set('code', mintOAuthCode(standIn, { ...grant, appId, openid, scope }))
  callback.searchParams.set('state', state ?? '')
  return callback.toString()
}

export function oauthRoutes(standIn: WechatApiStandIn): Route[] {
  const state = stateOf(standIn)
  const T = OAUTH_STAND_IN_TIMES

  const checkApp = (appId: string | null, secret?: string | null): string => {
    if (!appId || !(appId in standIn.options.apps)) throw new StandInError(40013, 'invalid appid')
    if (secret !== undefined && standIn.options.apps[appId] !== secret) {
      throw new StandInError(40125, 'invalid appsecret')
    }
    return appId
  }

  const newAccessToken = (grant: OAuthGrant): string => {
    const token = standIn.newId('W_')
    state.tokens.set(token, { grant, expiresAt: standIn.now() + T.accessToken * 1000 })
    return token
  }

  const tokenAnswer = (accessToken: string, refreshToken: string, grant: OAuthGrant, withExtras: boolean) => {
    const answer: Record<string, unknown> = {
      access_token: accessToken,
      expires_in: T.accessToken,
      refresh_token: refreshToken,
      openid: grant.openid,
      scope: grant.scope,
    }
    const unionid = grant.unionid ?? followerOf(standIn, grant.appId, grant.openid)?.unionid
    if (withExtras && grant.snapshot) answer.is_snapshotuser = 1
    if (withExtras && unionid) answer.unionid = unionid
    return { raw: { headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer) } }
  }

  /** The grant of a live web access token that belongs to `openid`. */
  const liveToken = (token: string | null, openid: string | null): OAuthGrant => {
    if (!token) throw new StandInError(41001, 'access_token missing')
    const found = state.tokens.get(token)
    if (!found) throw new StandInError(40001, 'invalid credential, access_token is invalid or not latest')
    if (found.expiresAt <= standIn.now()) throw new StandInError(42001, 'access_token expired')
    if (!openid || openid !== found.grant.openid) throw new StandInError(40003, 'invalid openid')
    return found.grant
  }

  return [
    {
      method: 'GET',
      path: '/sns/oauth2/access_token',
      auth: 'none',
      handle(request) {
        const q = request.query
        const appId = checkApp(q.get('appid'), q.get('secret'))
        if (q.get('grant_type') !== 'authorization_code') throw new StandInError(40002, 'invalid grant_type')
        const code = state.codes.get(q.get('code') ?? '')
        if (!code || code.grant.appId !== appId) throw new StandInError(40029, 'invalid code')
        if (code.used) throw new StandInError(40163, 'code been used')
        if (code.issuedAt + T.code <= standIn.now()) throw new StandInError(40029, 'invalid code')
        code.used = true
        const accessToken = newAccessToken(code.grant)
        const refreshToken = standIn.newId('R_')
        state.refresh.set(refreshToken, {
          grant: code.grant,
          expiresAt: standIn.now() + T.refreshToken,
          accessToken,
        })
        return tokenAnswer(accessToken, refreshToken, code.grant, true)
      },
    },
    {
      method: 'GET',
      path: '/sns/oauth2/refresh_token',
      auth: 'none',
      handle(request) {
        const q = request.query
        const appId = checkApp(q.get('appid'))
        if (q.get('grant_type') !== 'refresh_token') throw new StandInError(40002, 'invalid grant_type')
        const refreshToken = q.get('refresh_token') ?? ''
        const found = state.refresh.get(refreshToken)
        if (!found || found.grant.appId !== appId) throw new StandInError(40030, 'invalid refresh_token')
        const now = standIn.now()
        if (found.expiresAt <= now) throw new StandInError(42002, 'refresh_token expired')
        const current = state.tokens.get(found.accessToken)
        if (current && current.expiresAt > now) {
          current.expiresAt = now + T.accessToken * 1000
        } else {
          state.tokens.delete(found.accessToken)
          found.accessToken = newAccessToken(found.grant)
        }
        return tokenAnswer(found.accessToken, refreshToken, found.grant, false)
      },
    },
    {
      method: 'GET',
      path: '/sns/userinfo',
      auth: 'none',
      handle(request) {
        const grant = liveToken(request.query.get('access_token'), request.query.get('openid'))
        if (grant.scope !== 'snsapi_userinfo') throw new StandInError(48001, 'api unauthorized')
        const follower = followerOf(standIn, grant.appId, grant.openid)
        const answer: Record<string, unknown> = {
          openid: grant.openid,
          nickname: grant.nickname ?? follower?.nickname ?? '微信用户',
          sex: 0,
          city: '',
          province: '',
          country: '',
          headimgurl: grant.headimgurl ?? follower?.headimgurl ?? '',
          privilege: [],
        }
        const unionid = grant.unionid ?? follower?.unionid
        if (unionid) answer.unionid = unionid
        return { raw: { headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer) } }
      },
    },
    {
      method: 'GET',
      path: '/sns/auth',
      auth: 'none',
      handle(request) {
        liveToken(request.query.get('access_token'), request.query.get('openid'))
        return {}
      },
    },
  ]
}
