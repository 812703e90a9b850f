import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  albEvent,
  lambdaFunctionUrlEvent,
  lambdaHttpApiEvent,
  lambdaRestEvent,
  lambdaScheduleEvent,
  lambdaSqsEvent,
} from '../../../test/adapters/events.js'
import { createBot } from '../../bot/bot.js'
import type { WempRequest } from '../../bot/request.js'
import { createTestKit } from '../../testing/index.js'
import { isLambdaHttpEvent, lambda, lambdaEventSource, lambdaRequestParts } from './index.js'
import type { AlbResult, ApiGatewayProxyResult } from './types.js'

const secrets = { token: 'lambdatest', appId: 'wx1111222233335555', encodingAESKey: 'B'.repeat(43) }

function setup(options?: { path?: string }) {
  const bot = createBot({ ...secrets, logger: false, maxBodySize: 4096 })
  const seen: WempRequest[] = []
  bot.text((ctx) => {
    seen.push(ctx.request)
    return `echo: ${ctx.message.content}`
  })
  return { handler: lambda(bot, options), seen, kit: createTestKit(secrets) }
}

describe('aws-lambda adapter', () => {
  test('each integration is recognised by shape', () => {
    const kit = createTestKit(secrets)
    const request = kit.request(kit.text('a'))
    assert.equal(lambdaEventSource(lambdaRestEvent(request)), 'v1')
    assert.equal(lambdaEventSource(lambdaHttpApiEvent(request)), 'v2')
    assert.equal(lambdaEventSource(lambdaFunctionUrlEvent(request)), 'v2')
    assert.equal(lambdaEventSource(albEvent(request)), 'alb')
    assert.equal(lambdaEventSource(albEvent(request, { multiValue: true })), 'alb')
    assert.equal(isLambdaHttpEvent(lambdaScheduleEvent()), false)
    assert.equal(isLambdaHttpEvent(null), false)
  })

  test('REST v1: multi-value maps win over single-value ones', () => {
    const kit = createTestKit(secrets)
    const event = lambdaRestEvent(kit.request(kit.text('a')))
    event.queryStringParameters = { ...event.queryStringParameters, a: '2' }
    event.multiValueQueryStringParameters = { ...event.multiValueQueryStringParameters, a: ['1', '2'] }
    const parts = lambdaRequestParts(event)
    assert.deepEqual(parts.query.a, ['1', '2'])
    assert.equal(parts.headers['content-type'], 'text/xml')
    assert.equal(parts.path, '/wechat')
  })

  test('HTTP API v2: the raw query string (repeated keys), cookies, and the named stage', async () => {
    const { handler, kit, seen } = setup({ path: '/wechat' })
    const request = kit.request(kit.text('v2'))
    const event = lambdaHttpApiEvent(request, { stage: 'prod' })
    event.rawQueryString += '&a=1&a=2'
    event.queryStringParameters = { ...event.queryStringParameters, a: '1,2' }
    event.cookies = ['s=1', 't=2']
    assert.equal(event.rawPath, '/prod/wechat')
    const result = (await handler(event)) as ApiGatewayProxyResult
    assert.equal(result.statusCode, 200)
    assert.deepEqual(seen[0]?.query.a, ['1', '2'])
    assert.equal(seen[0]?.headers?.cookie, 's=1; t=2')
    const elsewhere = lambdaHttpApiEvent(kit.request(kit.text('x')), { stage: 'prod', path: '/other' })
    assert.equal((await handler(elsewhere)).statusCode, 404)
  })

  test('ALB: query keys and values are URL-decoded (+ is a space)', async () => {
    const { handler, kit } = setup()
    const handshake = kit.handshake({ echostr: 'a b+c/d=é' })
    const event = albEvent(handshake)
    assert.equal(event.queryStringParameters?.echostr, 'a+b%2Bc%2Fd%3D%C3%A9')
    const result = (await handler(event)) as AlbResult
    assert.equal(result.body, 'a b+c/d=é')
    assert.equal(result.statusDescription, '200 OK')
    assert.deepEqual(result.headers, { 'content-type': 'text/plain; charset=utf-8' })
  })

  test('ALB: statusDescription for refusals, and multiValueHeaders when the event had them', async () => {
    const { handler, kit } = setup()
    const big = albEvent(kit.request(kit.text('x'.repeat(5000))), { multiValue: true })
    const result = (await handler(big)) as AlbResult
    assert.equal(result.statusCode, 413)
    assert.equal(result.statusDescription, '413 Payload Too Large')
    assert.equal(result.headers, undefined)
    assert.deepEqual(result.multiValueHeaders?.['content-type'], ['text/plain; charset=utf-8'])
    const forged = (await handler(albEvent(kit.request(kit.text('x'), { token: 'forged' })))) as AlbResult
    assert.equal(forged.statusDescription, '401 Unauthorized')
  })

  test('function URL: the v2 shape on a lambda-url domain, answered in the v2 result shape', async () => {
    const { handler, kit } = setup()
    const event = lambdaFunctionUrlEvent(kit.request(kit.text('url'), { mode: 'safe' }))
    assert.match(String(event.requestContext.domainName), /\.lambda-url\./)
    const result = await handler(event)
    assert.deepEqual(Object.keys(result).sort(), ['body', 'headers', 'isBase64Encoded', 'statusCode'])
  })

  test('a method-less HTTP event is a 400; non-HTTP invocations reject saying what to configure', async () => {
    const { handler } = setup()
    const refused = await handler({ requestContext: {}, path: '/' })
    assert.equal(refused.statusCode, 400)
    await assert.rejects(handler(lambdaScheduleEvent()), /EventBridge \(schedule\) event.*Function URL/s)
    await assert.rejects(handler(lambdaSqsEvent()), /an event from aws:sqs/)
    await assert.rejects(handler({ key1: 'a', key2: 'b', key3: 'c' }), /"hello-world" test event/)
  })
})
