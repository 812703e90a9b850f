import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  scfApiGatewayEvent,
  scfConsoleTestEvent,
  scfCosEvent,
  scfFunctionUrlEvent,
  scfTimerEvent,
} from '../../../test/adapters/events.js'
import { createBot } from '../../bot/bot.js'
import type { WempRequest } from '../../bot/request.js'
import { createTestKit } from '../../testing/index.js'
import { isScfApiGatewayEvent, isScfHttpEvent, scf, scfRequestParts } from './index.js'

const secrets = { token: 'scftest', appId: 'wx1111222233334444', encodingAESKey: 'A'.repeat(43) }

function setup(options?: { path?: string }) {
  const bot = createBot({ ...secrets, logger: false, maxBodySize: 4096 })
  const seen: WempRequest[] = []
  bot.text((ctx) => {
    seen.push(ctx.request)
    return `echo: ${ctx.message.content}`
  })
  return { handler: scf(bot, options), seen, kit: createTestKit(secrets) }
}

describe('tencent-scf adapter', () => {
  test('API gateway: the method comes from the top level (requestContext.httpMethod is ANY)', async () => {
    const { handler, kit } = setup()
    const handshake = kit.handshake()
    const event = scfApiGatewayEvent(handshake)
    assert.equal(event.requestContext.httpMethod, 'ANY')
    const result = await handler(event)
    assert.deepEqual(result, {
      isBase64Encoded: false,
      statusCode: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: handshake.query.echostr,
    })
  })

  test('query values that are lists or true, and headers in any case, reach the core normalised', async () => {
    const { handler, kit, seen } = setup()
    const request = kit.request(kit.text('hi'))
    const event = scfApiGatewayEvent(request, { extraQuery: true, capitalisedHeaders: true })
    assert.equal(event.headers['Content-Type'], 'text/xml')
    const result = await handler(event)
    assert.equal(result.statusCode, 200)
    const query = seen[0]?.query ?? {}
    assert.deepEqual(query.a, ['1', '2'])
    assert.equal(query.flag, '')
    assert.equal(query.nonce, request.query.nonce)
    assert.equal(seen[0]?.headers?.['content-type'], 'text/xml')
    assert.equal(seen[0]?.headers?.['user-agent'], 'Mozilla/4.0')
  })

  test('the /release stage prefix is removed before the path option is checked', async () => {
    const { handler, kit } = setup({ path: '/wechat' })
    const gateway = scfApiGatewayEvent(kit.request(kit.text('a')), { path: '/wechat' })
    assert.equal(gateway.path, '/release/wechat')
    assert.equal((await handler(gateway)).statusCode, 200)
    const prepub = scfApiGatewayEvent(kit.request(kit.text('a')), { path: '/wechat', stage: 'prepub' })
    assert.equal((await handler(prepub)).statusCode, 200)
    const other = scfApiGatewayEvent(kit.request(kit.text('a')), { path: '/other' })
    assert.equal((await handler(other)).statusCode, 404)
    // A custom domain: no stage in the path.
    const custom = scfApiGatewayEvent(kit.request(kit.text('a')), { path: '/wechat' })
    custom.path = '/wechat'
    assert.equal((await handler(custom)).statusCode, 200)
    assert.equal(scfRequestParts(custom).path, '/wechat')
    // A function URL has no stage: its path is used as is.
    assert.equal(
      (await handler(scfFunctionUrlEvent(kit.request(kit.text('a')), { path: '/wechat' }))).statusCode,
      200,
    )
    assert.equal((await handler(scfFunctionUrlEvent(kit.request(kit.text('a'))))).statusCode, 404)
  })

  test('the 2018 \\u003c-escaped body is undone only when the body has no real <', async () => {
    const { handler, kit } = setup()
    const escaped = scfApiGatewayEvent(kit.request(kit.text('x')), { escapedBody: true })
    assert.ok(String(escaped.body).startsWith('\\u003cxml\\u003e'))
    assert.equal((await handler(escaped)).statusCode, 200)
    // Real XML whose text contains the six characters \u003c is left alone.
    const literal = kit.request(kit.text('type \\u003c literally'))
    const result = await handler(scfApiGatewayEvent(literal))
    assert.deepEqual(
      kit.open({ status: result.statusCode, headers: result.headers, body: result.body }, literal).reply,
      {
        type: 'text',
        content: 'echo: type \\u003c literally',
      },
    )
  })

  test('function URL and API gateway events are told apart by shape', () => {
    const kit = createTestKit(secrets)
    const url = scfFunctionUrlEvent(kit.handshake())
    const gateway = scfApiGatewayEvent(kit.handshake())
    assert.ok(isScfHttpEvent(url) && isScfHttpEvent(gateway))
    assert.equal(isScfApiGatewayEvent(url), false)
    assert.equal(isScfApiGatewayEvent(gateway), true)
    assert.equal(url.headers['x-scf-remote-addr'], '203.0.113.7')
    assert.equal(isScfHttpEvent(scfTimerEvent()), false)
  })

  test('a bad base64 body, a non-string body or a method-less HTTP event is a 400', async () => {
    const { handler, kit } = setup()
    const bad = scfApiGatewayEvent(kit.request(kit.text('a')))
    bad.body = '<xml>not base64</xml>'
    bad.isBase64Encoded = true
    const result = await handler(bad)
    assert.equal(result.statusCode, 400)
    assert.match(result.body, /^invalid_body: isBase64Encoded is true/)
    const object = { ...scfApiGatewayEvent(kit.request(kit.text('a'))), body: { xml: 1 } }
    assert.equal((await handler(object)).statusCode, 400)
    const { httpMethod: _, ...methodless } = scfApiGatewayEvent(kit.request(kit.text('a')))
    const refused = await handler(methodless)
    assert.equal(refused.statusCode, 400)
    assert.match(refused.body, /httpMethod/)
  })

  test('non-HTTP invocations reject with an Error naming the event and what to configure', async () => {
    const { handler } = setup()
    await assert.rejects(
      handler(scfTimerEvent()),
      /timer trigger's event \(TriggerName "keepwarm"\).*函数 URL/s,
    )
    await assert.rejects(handler(scfConsoleTestEvent()), /"Hello World" test event.*API Gateway test-event/s)
    await assert.rejects(handler(scfCosEvent()), /a cos trigger's event/)
    await assert.rejects(handler(undefined), /an empty event/)
    await assert.rejects(handler('text'), /a string event/)
  })
})
