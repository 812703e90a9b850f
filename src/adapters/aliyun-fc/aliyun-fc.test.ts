import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { fcHttpEvent, fcHttpEventObject, fcTimerEvent } from '../../../test/adapters/events.js'
import { createBot } from '../../bot/bot.js'
import type { WempRequest } from '../../bot/request.js'
import { createTestKit } from '../../testing/index.js'
import { fc, fcRequestParts, isFcHttpEvent, parseFcEvent } from './index.js'

const secrets = { token: 'fctest', appId: 'wx1111222233336666', encodingAESKey: 'C'.repeat(43) }

function setup(options?: { path?: string }) {
  const bot = createBot({ ...secrets, logger: false })
  const seen: WempRequest[] = []
  bot.text((ctx) => {
    seen.push(ctx.request)
    return `echo: ${ctx.message.content}`
  })
  return { handler: fc(bot, options), seen, kit: createTestKit(secrets) }
}

describe('aliyun-fc adapter', () => {
  test('the event arrives as a Buffer of JSON; a string or an object works too', async () => {
    const { handler, kit } = setup()
    const request = kit.request(kit.text('你好'), { mode: 'safe' })
    for (const event of [fcHttpEvent(request), fcHttpEvent(request).toString(), fcHttpEventObject(request)]) {
      const result = await handler(event)
      const opened = kit.open(
        { status: result.statusCode, headers: result.headers, body: result.body },
        request,
      )
      assert.deepEqual(opened.violations, [])
      assert.deepEqual(opened.reply, { type: 'text', content: 'echo: 你好' })
    }
  })

  test('canonicalised header names are lower-cased; queryParameters are the query', async () => {
    const { handler, kit, seen } = setup()
    const request = kit.request(kit.text('h'))
    const event = fcHttpEventObject(request)
    assert.equal(event.headers?.['Content-Type'], 'text/xml')
    await handler(event)
    assert.equal(seen[0]?.headers?.['content-type'], 'text/xml')
    assert.equal(seen[0]?.headers?.['x-forwarded-for'], '203.0.113.7')
    assert.equal(seen[0]?.query.signature, request.query.signature)
  })

  test('the path option compares the decoded path (rawPath is URL-encoded)', async () => {
    const { handler, kit } = setup({ path: '/微信' })
    const event = fcHttpEventObject(kit.request(kit.text('p')), { path: '/微信' })
    assert.equal(event.rawPath, '/%E5%BE%AE%E4%BF%A1')
    assert.equal((await handler(event)).statusCode, 200)
    const { path: _, ...http } = event.requestContext.http
    assert.equal(
      fcRequestParts({ ...event, requestContext: { ...event.requestContext, http } }).path,
      '/微信',
    )
    assert.equal((await handler(fcHttpEventObject(kit.request(kit.text('p'))))).statusCode, 404)
  })

  test('parseFcEvent and isFcHttpEvent', () => {
    assert.equal(parseFcEvent(Buffer.from('[1]')), undefined)
    assert.equal(parseFcEvent(Buffer.from('{')), undefined)
    assert.equal(isFcHttpEvent(parseFcEvent(fcTimerEvent())), false)
    assert.equal(isFcHttpEvent(parseFcEvent(fcHttpEvent(createTestKit(secrets).handshake()))), true)
  })

  test('a method-less HTTP event is a 400; non-HTTP invocations reject saying what to configure', async () => {
    const { handler, kit } = setup()
    const event = fcHttpEventObject(kit.handshake())
    const refused = await handler({ ...event, requestContext: { ...event.requestContext, http: {} } })
    assert.equal(refused.statusCode, 400)
    await assert.rejects(handler(fcTimerEvent()), /timer trigger's event \(keepwarm\).*HTTP 触发器/s)
    await assert.rejects(handler(Buffer.from('hello')), /an event that is not JSON/)
  })
})
