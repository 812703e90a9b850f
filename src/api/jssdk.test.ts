import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { str, vectorsOfKind } from '../../test/support/vectors.js'
import { WempError } from '../protocol/errors.js'
import { MemoryStore } from '../storage/memory/index.js'
import { checkJssdkSignature, liveTickets } from '../testing/wechat-api/routes/jssdk.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type WechatApi } from './client.js'
import { WechatApiError } from './errors.js'
import { jssdkSignature, jssdkStringToSign, jssdkUrl } from './jssdk.js'

const appId = 'wx1234567890abcdef'
const appSecret = 'secret'
let clock = Date.UTC(2025, 0, 1, 8)
let wechat: WechatApiStandIn
let api: WechatApi

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: appSecret }, now: () => clock })
  api = createApi({ appId, appSecret, baseUrl: wechat.url, logger: false, now: () => clock })
})
after(() => wechat.close())

const errcode = (code: number) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, code, error.message)
  return true
}

const official = vectorsOfKind('jssdk_signature').find((v) => v.id === 'jssdk-official-signature')

describe('jssdkSignature', () => {
  test('the official JS-SDK example (附录1): string1 and signature', () => {
    assert.ok(official, 'the jssdk-official-signature vector is in the vector file')
    const fields = {
      jsapi_ticket: str(official.inputs, 'jsapi_ticket'),
      noncestr: str(official.inputs, 'noncestr'),
      timestamp: str(official.inputs, 'timestamp'),
      url: str(official.inputs, 'url'),
    }
    assert.equal(jssdkStringToSign(fields), str(official.expected, 'string1'))
    assert.equal(jssdkSignature(fields), str(official.expected, 'signature'))
    assert.equal(jssdkSignature(fields), '0f9de62fce790f9a083d5c99e95740ceb90c27ed')
    assert.equal(
      jssdkSignature({ ...fields, timestamp: Number(fields.timestamp) }),
      '0f9de62fce790f9a083d5c99e95740ceb90c27ed',
      'a numeric timestamp signs the same',
    )
  })

  test('the #fragment is not signed; the query is, raw', () => {
    assert.ok(official)
    const fields = {
      jsapi_ticket: str(official.inputs, 'jsapi_ticket'),
      noncestr: str(official.inputs, 'noncestr'),
      timestamp: str(official.inputs, 'timestamp'),
      url: `${str(official.inputs, 'url')}#/share?from=timeline`,
    }
    assert.equal(jssdkSignature(fields), '0f9de62fce790f9a083d5c99e95740ceb90c27ed')
    assert.equal(jssdkUrl('https://a.example/p?x=1#y'), 'https://a.example/p?x=1')
    assert.match(
      jssdkStringToSign({ ...fields, url: 'https://a.example/p?q=a%20b&c=中' }),
      /url=https:\/\/a\.example\/p\?q=a%20b&c=中$/,
    )
    assert.notEqual(
      jssdkSignature({ ...fields, url: 'http://mp.weixin.qq.com?params=other' }),
      '0f9de62fce790f9a083d5c99e95740ceb90c27ed',
    )
  })
})

describe('jssdk.config', () => {
  test('answers what wx.config takes, signed with the live ticket for the page URL', async () => {
    const url = 'https://example.com/share?id=1&from=singlemessage#top'
    const config = await api.jssdk.config(url, { jsApiList: ['updateAppMessageShareData'] })
    assert.equal(config.appId, appId)
    assert.equal(config.debug, false)
    assert.equal(config.timestamp, Math.floor(clock / 1000))
    assert.match(config.nonceStr, /^[A-Za-z0-9]{16}$/)
    assert.deepEqual(config.jsApiList, ['updateAppMessageShareData'])
    assert.equal(config.openTagList, undefined)
    assert.ok(checkJssdkSignature(wechat, config, url), 'WeChat accepts the signature for this page')
    assert.ok(
      !checkJssdkSignature(wechat, config, 'https://example.com/share?id=2'),
      'but not for another page',
    )
    assert.equal(
      config.signature,
      jssdkSignature({
        jsapi_ticket: await api.jssdk.ticket(),
        noncestr: config.nonceStr,
        timestamp: config.timestamp,
        url,
      }),
    )
    const query = wechat.calls.filter((c) => c.path === '/cgi-bin/ticket/getticket').at(-1)?.query
    assert.equal(query?.type, 'jsapi')
    assert.ok(query?.access_token, 'getticket takes the access token')
  })

  test('options: debug, openTagList; nonces differ between calls', async () => {
    const a = await api.jssdk.config('https://example.com/', {
      debug: true,
      openTagList: ['wx-open-launch-weapp'],
    })
    const b = await api.jssdk.config('https://example.com/')
    assert.equal(a.debug, true)
    assert.deepEqual(a.openTagList, ['wx-open-launch-weapp'])
    assert.deepEqual(b.jsApiList, [])
    assert.notEqual(a.nonceStr, b.nonceStr)
  })

  test('a URL that is not a full http(s) URL is refused before any call', async () => {
    const calls = wechat.calls.length
    await assert.rejects(
      api.jssdk.config('/share?id=1'),
      (e: unknown) => e instanceof WempError && e.code === 'invalid_config',
    )
    assert.equal(wechat.calls.length, calls)
  })
})

describe('the jsapi ticket is shared like the token', () => {
  test('20 instances on one store, asking at once, fetch it once', async () => {
    const local = await startWechatApiStandIn({ apps: { [appId]: appSecret }, latency: 30 })
    try {
      const store = new MemoryStore()
      const clients = Array.from({ length: 20 }, () =>
        createApi({ appId, appSecret, baseUrl: local.url, logger: false, store }),
      )
      const tickets = await Promise.all(clients.map((client) => client.jssdk.ticket()))
      assert.equal(new Set(tickets).size, 1, 'every instance got the same ticket')
      assert.equal(local.count('/cgi-bin/ticket/getticket'), 1)
      assert.equal(
        clients.reduce((n, c) => n + c.jssdk.jsapiTicket.fetches, 0),
        1,
      )
      assert.deepEqual(liveTickets(local, appId), tickets.slice(0, 1))
      const stored = await store.get<{ value: string }>(`ticket:${appId}:jsapi`)
      assert.equal(stored?.value.value, tickets[0])
    } finally {
      await local.close()
    }
  })

  test('it is reused while fresh and fetched again before it expires (shared fake clock)', async () => {
    const client = createApi({
      appId,
      appSecret,
      baseUrl: wechat.url,
      logger: false,
      store: new MemoryStore(),
      now: () => clock,
    })
    const start = wechat.count('/cgi-bin/ticket/getticket')
    const fetched = () => wechat.count('/cgi-bin/ticket/getticket') - start
    const first = await client.jssdk.ticket()
    assert.equal(await client.jssdk.ticket(), first)
    assert.equal(fetched(), 1)
    clock += (7200 - 5 * 60 - 1) * 1000 // just before the renewal margin
    assert.equal(await client.jssdk.ticket(), first)
    assert.equal(fetched(), 1)
    clock += 2000 // within 5 minutes of expiry: renewed
    const second = await client.jssdk.ticket()
    assert.notEqual(second, first)
    assert.equal(fetched(), 2)
    const page = 'https://example.com/after'
    const config = await client.jssdk.config(page)
    assert.ok(checkJssdkSignature(wechat, config, page))
    clock += 7200 * 1000
    assert.ok(!checkJssdkSignature(wechat, config, page), 'the ticket died with time')
    const renewed = await client.jssdk.config(page)
    assert.equal(fetched(), 3)
    assert.ok(checkJssdkSignature(wechat, renewed, page))
  })

  test('the card ticket is fetched with type=wx_card and kept under its own key', async () => {
    const store = new MemoryStore()
    const client = createApi({
      appId,
      appSecret,
      baseUrl: wechat.url,
      logger: false,
      store,
      now: () => clock,
    })
    const card = await client.jssdk.cardTicket()
    const jsapi = await client.jssdk.ticket()
    assert.notEqual(card, jsapi)
    assert.equal(
      wechat.calls.filter((c) => c.path === '/cgi-bin/ticket/getticket').at(-2)?.query.type,
      'wx_card',
    )
    assert.equal((await store.get<{ value: string }>(`ticket:${appId}:wx_card`))?.value.value, card)
    assert.equal((await store.get<{ value: string }>(`ticket:${appId}:jsapi`))?.value.value, jsapi)
    assert.deepEqual(liveTickets(wechat, appId, 'wx_card').slice(0, 1), [card])
  })

  test('a refused access token is renewed and the ticket request retried once', async () => {
    const store = new MemoryStore()
    const client = createApi({
      appId,
      appSecret,
      baseUrl: wechat.url,
      logger: false,
      store,
      now: () => clock,
      accessToken: 'classic',
    })
    // WeChat forgets the token (as when another system refreshed it with the AppSecret, and 5
    // minutes passed)
    wechat.tokens.delete(await client.accessToken())
    const tokens = wechat.count('/cgi-bin/token')
    const ticket = await client.jssdk.ticket()
    assert.ok(ticket)
    assert.equal(wechat.count('/cgi-bin/token'), tokens + 1)
    const getticket = wechat.calls.filter((c) => c.path === '/cgi-bin/ticket/getticket').slice(-2)
    assert.deepEqual(
      getticket.map((c) => c.errcode),
      [40001, 0],
    )
  })

  test('a failed fetch (daily quota, 45009) is reported and not cached', async () => {
    const store = new MemoryStore()
    const client = createApi({
      appId,
      appSecret,
      baseUrl: wechat.url,
      logger: false,
      store,
      now: () => clock,
    })
    wechat.failNext('/cgi-bin/ticket/getticket', 45009, 'reach max api daily quota limit')
    await assert.rejects(client.jssdk.ticket(), errcode(45009))
    assert.ok(await client.jssdk.ticket())
  })

  test('the stand-in refuses an unknown ticket type (40097)', async () => {
    await assert.rejects(api.call('/cgi-bin/ticket/getticket', { query: { type: 'bogus' } }), errcode(40097))
  })
})
