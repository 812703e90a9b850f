import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { WempError } from '../protocol/errors.js'
import { approveAuthorization, mintOAuthCode } from '../testing/wechat-api/routes/oauth.js'
import { addFollower } from '../testing/wechat-api/routes/users.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type WechatApi } from './client.js'
import { WechatApiError } from './errors.js'

const appId = 'wx1234567890abcdef'
const otherAppId = 'wxfedcba0987654321'
const openid = 'oOAuthVisitor00000000001'
const callbackUri = 'https://example.com/oauth/callback?next=/home'
let clock = Date.UTC(2025, 0, 1, 8)
let wechat: WechatApiStandIn
let api: WechatApi

before(async () => {
  wechat = await startWechatApiStandIn({
    apps: { [appId]: 'secret', [otherAppId]: 'secret2' },
    now: () => clock,
  })
  api = createApi({ appId, appSecret: 'secret', baseUrl: wechat.url, logger: false, now: () => clock })
})
after(() => wechat.close())

const errcode = (code: number) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, code, error.message)
  return true
}
const invalidConfig = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof WempError && !(error instanceof WechatApiError), String(error))
  assert.equal(error.code, 'invalid_config')
  assert.match(error.message, pattern)
  return true
}

/** The visitor approves on WeChat's page; answers the code WeChat puts in the callback. */
function approve(url: string, grant: Parameters<typeof approveAuthorization>[3] = {}): URL {
  return new URL(approveAuthorization(wechat, url, openid, grant))
}

describe('oauth.authorizeUrl', () => {
  test('is WeChat’s authorize URL, parameters in the documented order, ending with #wechat_redirect', () => {
    const calls = wechat.calls.length
    assert.equal(
      api.oauth.authorizeUrl(callbackUri, { scope: 'snsapi_userinfo', state: 'abc123' }),
      'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1234567890abcdef' +
        '&redirect_uri=https%3A%2F%2Fexample.com%2Foauth%2Fcallback%3Fnext%3D%2Fhome' +
        '&response_type=code&scope=snsapi_userinfo&state=abc123#wechat_redirect',
    )
    assert.equal(
      api.oauth.authorizeUrl('http://example.com/cb', { scope: 'snsapi_base', forcePopup: true }),
      'https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1234567890abcdef' +
        '&redirect_uri=http%3A%2F%2Fexample.com%2Fcb&response_type=code&scope=snsapi_base&forcePopup=true#wechat_redirect',
    )
    assert.equal(wechat.calls.length, calls, 'no call')
  })

  test('refuses a bad state, scope or redirect_uri', () => {
    assert.throws(
      () => api.oauth.authorizeUrl(callbackUri, { scope: 'snsapi_base', state: 'a-b' }),
      invalidConfig(/state/),
    )
    assert.throws(
      () => api.oauth.authorizeUrl(callbackUri, { scope: 'snsapi_base', state: 'a'.repeat(129) }),
      invalidConfig(/state/),
    )
    api.oauth.authorizeUrl(callbackUri, { scope: 'snsapi_base', state: 'a'.repeat(128) })
    assert.throws(
      () => api.oauth.authorizeUrl(callbackUri, { scope: 'snsapi_login' as 'snsapi_base' }),
      invalidConfig(/scope/),
    )
    assert.throws(
      () => api.oauth.authorizeUrl('/oauth/callback', { scope: 'snsapi_base' }),
      invalidConfig(/redirect_uri/),
    )
  })
})

describe('oauth: the full flow', () => {
  test('snsapi_userinfo: approve → code → token → user info → check → refresh', async () => {
    addFollower(wechat, appId, openid, {
      unionid: 'uOAuthUnion1',
      nickname: '小明',
      headimgurl: 'https://thirdwx.qlogo.cn/x/132',
    })
    const tokenCalls = wechat.count('/cgi-bin/stable_token') + wechat.count('/cgi-bin/token')
    const callback = approve(api.oauth.authorizeUrl(callbackUri, { scope: 'snsapi_userinfo', state: 'xyz' }))
    assert.equal(`${callback.origin}${callback.pathname}`, 'https://example.com/oauth/callback')
    assert.equal(callback.searchParams.get('next'), '/home')
    assert.equal(callback.searchParams.get('state'), 'xyz')
    const code = callback.searchParams.get('code')
    assert.ok(code)

    const token = await api.oauth.exchangeCode(code)
    assert.equal(token.openid, openid)
    assert.equal(token.scope, 'snsapi_userinfo')
    assert.equal(token.expires_in, 7200)
    assert.equal(token.unionid, 'uOAuthUnion1')
    assert.ok(token.access_token && token.refresh_token)
    assert.equal('errcode' in token, false)
    const exchange = wechat.calls.filter((c) => c.path === '/sns/oauth2/access_token').at(-1)
    assert.deepEqual(exchange?.query, {
      appid: appId,
      secret: 'secret',
      code,
      grant_type: 'authorization_code',
    })

    const info = await api.oauth.userInfo(token.access_token, token.openid)
    assert.deepEqual(info, {
      openid,
      nickname: '小明',
      sex: 0,
      city: '',
      province: '',
      country: '',
      headimgurl: 'https://thirdwx.qlogo.cn/x/132',
      privilege: [],
      unionid: 'uOAuthUnion1',
    })
    assert.equal(wechat.calls.filter((c) => c.path === '/sns/userinfo').at(-1)?.query.lang, 'zh_CN')
    assert.equal(await api.oauth.check(token.access_token, token.openid), true)

    const refreshed = await api.oauth.refresh(token.refresh_token)
    assert.equal(refreshed.access_token, token.access_token, 'an unexpired token is kept (and renewed)')
    assert.equal(refreshed.refresh_token, token.refresh_token)
    assert.equal(refreshed.openid, openid)
    assert.deepEqual(wechat.calls.filter((c) => c.path === '/sns/oauth2/refresh_token').at(-1)?.query, {
      appid: appId,
      grant_type: 'refresh_token',
      refresh_token: token.refresh_token,
    })
    assert.equal(
      wechat.count('/cgi-bin/stable_token') + wechat.count('/cgi-bin/token'),
      tokenCalls,
      'OAuth2 never needs the account access token',
    )
  })

  test('a code works once (40163) and for 5 minutes (40029); unknown or another app’s code is 40029', async () => {
    const code = mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_base' })
    await api.oauth.exchangeCode(code)
    await assert.rejects(api.oauth.exchangeCode(code), errcode(40163))

    const late = mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_base' })
    clock += 5 * 60 * 1000 - 1
    const onTime = mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_base' })
    clock += 1
    await assert.rejects(api.oauth.exchangeCode(late), errcode(40029))
    await api.oauth.exchangeCode(onTime)

    await assert.rejects(api.oauth.exchangeCode('not-a-code'), errcode(40029))
    const foreign = mintOAuthCode(wechat, { appId: otherAppId, openid, scope: 'snsapi_base' })
    await assert.rejects(api.oauth.exchangeCode(foreign), errcode(40029))
  })

  test('snsapi_base gives the openid but not the user info (48001)', async () => {
    const { searchParams } = approve(api.oauth.authorizeUrl(callbackUri, { scope: 'snsapi_base' }))
    assert.equal(searchParams.get('state'), '')
    const token = await api.oauth.exchangeCode(searchParams.get('code') ?? '')
    assert.equal(token.scope, 'snsapi_base')
    assert.equal(token.openid, openid)
    await assert.rejects(api.oauth.userInfo(token.access_token, openid), errcode(48001))
    assert.equal(await api.oauth.check(token.access_token, openid), true)
  })

  test('an expired web token: check is false, userInfo 42001; refresh gives a new one', async () => {
    const token = await api.oauth.exchangeCode(
      mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_userinfo' }),
    )
    clock += 7200 * 1000
    assert.equal(await api.oauth.check(token.access_token, openid), false)
    await assert.rejects(api.oauth.userInfo(token.access_token, openid), errcode(42001))
    const fresh = await api.oauth.refresh(token.refresh_token)
    assert.notEqual(fresh.access_token, token.access_token)
    assert.equal(await api.oauth.check(fresh.access_token, openid), true)
    assert.equal((await api.oauth.userInfo(fresh.access_token, openid, 'en')).openid, openid)
  })

  test('the refresh token lives 30 days (42002 after); an unknown one is 40030', async () => {
    const token = await api.oauth.exchangeCode(mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_base' }))
    clock += 29 * 86_400_000
    await api.oauth.refresh(token.refresh_token)
    clock += 86_400_000
    await assert.rejects(api.oauth.refresh(token.refresh_token), errcode(42002))
    await assert.rejects(api.oauth.refresh('R_unknown'), errcode(40030))
  })

  test('check: false for another openid or an unknown token; other errors are thrown', async () => {
    const token = await api.oauth.exchangeCode(mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_base' }))
    assert.equal(await api.oauth.check(token.access_token, 'oSomeoneElse000000000001'), false)
    assert.equal(await api.oauth.check('W_forged', openid), false)
    await assert.rejects(api.oauth.userInfo('W_forged', openid), errcode(40001))
    wechat.failNext('/sns/auth', 45011, 'api minute-quota reach limit')
    await assert.rejects(api.oauth.check(token.access_token, openid), errcode(45011))
  })

  test('unionid and is_snapshotuser come with the token when WeChat has them', async () => {
    const token = await api.oauth.exchangeCode(
      mintOAuthCode(wechat, {
        appId,
        openid: 'oSnapshot000000000000001',
        scope: 'snsapi_base',
        snapshot: true,
        unionid: 'uSnap',
      }),
    )
    assert.equal(token.is_snapshotuser, 1)
    assert.equal(token.unionid, 'uSnap')
    const plain = await api.oauth.exchangeCode(
      mintOAuthCode(wechat, { appId, openid: 'oPlain000000000000000001', scope: 'snsapi_base' }),
    )
    assert.equal('is_snapshotuser' in plain, false)
    assert.equal('unionid' in plain, false)
  })
})

describe('oauth: credentials and retries', () => {
  test('a wrong AppSecret is 40125, an unknown AppID 40013', async () => {
    const wrong = createApi({
      appId,
      appSecret: 'nope',
      baseUrl: wechat.url,
      logger: false,
      now: () => clock,
    })
    await assert.rejects(
      wrong.oauth.exchangeCode(mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_base' })),
      errcode(40125),
    )
    const unknown = createApi({
      appId: 'wx0000000000000000',
      appSecret: 'x',
      baseUrl: wechat.url,
      logger: false,
    })
    await assert.rejects(unknown.oauth.exchangeCode('code'), errcode(40013))
  })

  test('exchangeCode needs the AppSecret', async () => {
    const tokenOnly = createApi({ appId, accessToken: async () => 'T', baseUrl: wechat.url, logger: false })
    const calls = wechat.calls.length
    await assert.rejects(
      tokenOnly.oauth.exchangeCode('code'),
      (e: unknown) => e instanceof WempError && e.code === 'api_not_configured',
    )
    assert.equal(wechat.calls.length, calls)
  })

  test('exchangeCode is not retried on "system busy" (the code may already be spent)', async () => {
    const code = mintOAuthCode(wechat, { appId, openid, scope: 'snsapi_base' })
    const before = wechat.count('/sns/oauth2/access_token')
    wechat.failNext('/sns/oauth2/access_token', -1, 'system error')
    await assert.rejects(api.oauth.exchangeCode(code), errcode(-1))
    assert.equal(wechat.count('/sns/oauth2/access_token') - before, 1)
  })
})
