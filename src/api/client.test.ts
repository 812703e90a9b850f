import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Logger } from '../bot/logger.js'
import { MemoryStore } from '../storage/memory/index.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { type ApiOptions, createApi } from './client.js'
import { ApiUnreachableError, WechatApiError } from './errors.js'

const appId = 'wx00000000000000aa'
const appSecret = 'the-app-secret'
let clock = Date.parse('2026-12-04T08:00:00Z')
const now = () => clock
let wechat: WechatApiStandIn

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: appSecret }, now })
})
after(() => wechat.close())

function api(options: Partial<ApiOptions> = {}) {
  return createApi({ appId, appSecret, baseUrl: wechat.url, logger: false, now, ...options })
}

const isApiError = (errcode: number) => (error: unknown) =>
  error instanceof WechatApiError && error.errcode === errcode && typeof error.errmsg === 'string'

function tokenCalls() {
  return wechat.count('/cgi-bin/stable_token') + wechat.count('/cgi-bin/token')
}

describe('the access token', () => {
  test('stable_token by default, with force_refresh false, fetched once and reused', async () => {
    const client = api({ store: new MemoryStore() })
    const before = wechat.calls.length
    const [a, b, c] = await Promise.all([client.accessToken(), client.accessToken(), client.accessToken()])
    assert.equal(a, b)
    assert.equal(b, c)
    const calls = wechat.calls.slice(before)
    assert.equal(calls.length, 1)
    assert.equal(calls[0]?.method, 'POST')
    assert.deepEqual(calls[0]?.body, {
      grant_type: 'client_credential',
      appid: appId,
      secret: appSecret,
      force_refresh: false,
    })
    await client.call('/cgi-bin/get_api_domain_ip')
    assert.equal(wechat.calls.at(-1)?.query.access_token, a)
  })

  test('instances sharing a store share the token; each new instance reads it from the store', async () => {
    const store = new MemoryStore()
    const first = await api({ store }).accessToken()
    const before = tokenCalls()
    const clients = Array.from({ length: 20 }, () => api({ store }))
    const tokens = await Promise.all(clients.map((c) => c.accessToken()))
    assert.ok(tokens.every((t) => t === first))
    assert.equal(tokenCalls(), before)
  })

  test('renewed 5 minutes before expiry; the stand-in expires it at 7200 s (42001)', async () => {
    const store = new MemoryStore()
    const client = api({ store })
    const token = await client.accessToken()
    clock += (7200 - 301) * 1000
    assert.equal(await client.accessToken(), token, 'still fresh with 301 s left')
    clock += 2000
    const renewed = await client.accessToken()
    assert.notEqual(renewed, token, 'renewed within the last 5 minutes')
    clock += 400 * 1000
    await assert.rejects(
      fetch(`${wechat.url}/cgi-bin/get_api_domain_ip?access_token=${token}`).then(async (r) => {
        const body = (await r.json()) as { errcode: number }
        if (body.errcode !== 0) throw new WechatApiError('/x', body.errcode, '')
      }),
      isApiError(42001),
    )
    await client.call('/cgi-bin/get_api_domain_ip')
  })

  test('classic /cgi-bin/token: a new token each fetch; the old one lives 5 more minutes', async () => {
    const a = await api({ accessToken: 'classic', store: new MemoryStore() }).accessToken()
    const client = api({ accessToken: 'classic', store: new MemoryStore() })
    const b = await client.accessToken()
    assert.notEqual(a, b)
    const call = wechat.calls.findLast((c) => c.path === '/cgi-bin/token')
    assert.deepEqual(call?.query, { grant_type: 'client_credential', appid: appId, secret: appSecret })
    // a is still valid (overlap), then dies after 5 minutes.
    const withToken = (token: string) =>
      fetch(`${wechat.url}/cgi-bin/get_api_domain_ip?access_token=${token}`).then(
        async (r) => ((await r.json()) as { errcode: number }).errcode,
      )
    assert.equal(await withToken(a), 0)
    clock += 5 * 60 * 1000 + 1
    assert.equal(await withToken(a), 42001)
    assert.equal(await withToken(b), 0)
  })

  test('a refused token (40001) is dropped and the call retried once with a fresh one', async () => {
    const store = new MemoryStore()
    const client = api({ accessToken: 'classic', store })
    const stale = await client.accessToken()
    wechat.tokens.delete(stale) // as if another system had refreshed it long ago
    const before = wechat.count('/cgi-bin/token')
    const answer = await client.call<{ ip_list: string[] }>('/cgi-bin/get_api_domain_ip')
    assert.deepEqual(answer.ip_list, ['127.0.0.1'])
    assert.equal(wechat.count('/cgi-bin/token'), before + 1)
    const stored = await store.get<{ value: string }>(`token:${appId}:classic`)
    assert.notEqual(stored?.value.value, stale)
  })

  test('no refresh storm: when a fresh token is refused too, the error surfaces after one retry', async () => {
    const client = api({ accessToken: 'classic', store: new MemoryStore() })
    await client.accessToken()
    const before = wechat.count('/cgi-bin/token')
    wechat.failNext('/cgi-bin/get_api_domain_ip', 40014, 'invalid access_token', 5)
    await assert.rejects(client.call('/cgi-bin/get_api_domain_ip'), isApiError(40014))
    assert.equal(wechat.count('/cgi-bin/token'), before + 1)
    assert.equal(wechat.failures.get('/cgi-bin/get_api_domain_ip')?.times, 3, 'two calls in all')
    wechat.failures.clear()
  })

  test('stable_token returning the same token: refused token is not retried in a loop', async () => {
    const client = api({ store: new MemoryStore() })
    await client.accessToken()
    wechat.failNext('/cgi-bin/get_api_domain_ip', 42001, 'access_token expired', 3)
    await assert.rejects(client.call('/cgi-bin/get_api_domain_ip'), isApiError(42001))
    assert.equal(
      wechat.failures.get('/cgi-bin/get_api_domain_ip')?.times,
      2,
      'one call, no retry with the same token',
    )
    wechat.failures.clear()
  })

  test('a wrong AppSecret, an unknown AppID and a missing IP whitelist entry are typed errors', async () => {
    await assert.rejects(
      api({ appSecret: 'wrong', store: new MemoryStore() }).accessToken(),
      isApiError(40125),
    )
    await assert.rejects(
      api({ appSecret: 'wrong', accessToken: 'classic', store: new MemoryStore() }).accessToken(),
      isApiError(40001),
    )
    await assert.rejects(
      api({ appId: 'wx_unknown', store: new MemoryStore() }).accessToken(),
      isApiError(40013),
    )
    const strict = await startWechatApiStandIn({ apps: { [appId]: appSecret }, rejectIp: true })
    try {
      await assert.rejects(
        createApi({ appId, appSecret, baseUrl: strict.url, logger: false }).accessToken(),
        (e: unknown) => isApiError(40164)(e) && /40164/.test((e as Error).message),
      )
    } finally {
      await strict.close()
    }
  })

  test('a token supplied by your own service', async () => {
    const store = new MemoryStore()
    const issued = await api({ store }).accessToken()
    let asked = 0
    const client = createApi({
      appId,
      baseUrl: wechat.url,
      logger: false,
      store: new MemoryStore(),
      accessToken: async () => {
        asked++
        return issued
      },
    })
    await client.call('/cgi-bin/get_api_domain_ip')
    await client.call('/cgi-bin/get_api_domain_ip')
    assert.equal(asked, 1)
    assert.equal(wechat.calls.at(-1)?.query.access_token, issued)
  })

  test('the daily quota of /cgi-bin/token ends in 45009', async () => {
    const limited = await startWechatApiStandIn({ apps: { [appId]: appSecret }, tokenQuota: 2 })
    try {
      const fresh = () =>
        createApi({
          appId,
          appSecret,
          baseUrl: limited.url,
          logger: false,
          accessToken: 'classic',
        }).accessToken()
      await fresh()
      await fresh()
      await assert.rejects(fresh(), isApiError(45009))
    } finally {
      await limited.close()
    }
  })

  test('a store that is down: the token is fetched without sharing, with a warning', async () => {
    const store = new MemoryStore()
    await store.close()
    const warnings: string[] = []
    const logger: Logger = { debug() {}, info() {}, warn: (m) => void warnings.push(m), error() {} }
    const client = createApi({ appId, appSecret, baseUrl: wechat.url, store, logger, now })
    const token = await client.accessToken()
    assert.ok(token.length > 10)
    assert.ok(warnings.some((w) => /without sharing/.test(w)))
    await client.call('/cgi-bin/get_api_domain_ip')
  })
})

describe('calls', () => {
  test('system busy (-1) is retried once for idempotent calls only', async () => {
    const client = api({ store: new MemoryStore() })
    wechat.failNext('/cgi-bin/get_api_domain_ip', -1, 'system error')
    await client.call('/cgi-bin/get_api_domain_ip')
    wechat.failNext('/cgi-bin/get_api_domain_ip', -1, 'system error')
    await assert.rejects(client.call('/cgi-bin/get_api_domain_ip', { idempotent: false }), isApiError(-1))
  })

  test('errors carry errcode, errmsg and the path', async () => {
    const client = api({ store: new MemoryStore() })
    wechat.failNext('/cgi-bin/get_api_domain_ip', 48001, 'api unauthorized')
    const error = await client.call('/cgi-bin/get_api_domain_ip').catch((e: unknown) => e)
    assert.ok(error instanceof WechatApiError)
    assert.equal(error.errcode, 48001)
    assert.equal(error.code, 'api_error')
    assert.equal(error.path, '/cgi-bin/get_api_domain_ip')
    assert.match(error.errmsg, /^api unauthorized/)
    assert.match(error.message, /errcode 48001/)
  })

  test('unreachable, HTTP errors, timeouts and non-JSON answers are ApiUnreachableError', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/slow')) return void setTimeout(() => res.end('{}'), 500)
      if (req.url?.startsWith('/html')) return void res.end('<html>gateway</html>')
      res.statusCode = 502
      res.end('bad gateway')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const client = createApi({
      appId,
      baseUrl: base,
      logger: false,
      timeout: 100,
      accessToken: async () => 'T',
    })
    try {
      await assert.rejects(
        client.call('/502'),
        (e: unknown) => e instanceof ApiUnreachableError && e.status === 502,
      )
      await assert.rejects(
        client.call('/slow'),
        (e: unknown) => e instanceof ApiUnreachableError && /100 ms/.test(e.message),
      )
      await assert.rejects(
        client.call('/html'),
        (e: unknown) => e instanceof ApiUnreachableError && /not JSON/.test(e.message),
      )
      const closed = createApi({
        appId,
        baseUrl: 'http://127.0.0.1:9',
        logger: false,
        accessToken: async () => 'T',
      })
      await assert.rejects(closed.call('/x'), ApiUnreachableError)
    } finally {
      server.close()
    }
  })

  test('configuration errors are clear', () => {
    assert.throws(() => createApi({ appId: '' }), /needs an appId/)
    assert.throws(() => createApi({ appId }), /needs appSecret/)
  })
})
