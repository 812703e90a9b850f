import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import Fastify from 'fastify'
import { createBot } from '../../bot/bot.js'
import { createTestKit } from '../../testing/index.js'
import { fastifyPlugin } from './index.js'

const secrets = { token: 'fastifytest', appId: 'wx1111222233339999', encodingAESKey: 'F'.repeat(43) }
const bot = createBot({ ...secrets, logger: false, maxBodySize: 4096 })
bot.text((ctx) => `echo: ${ctx.message.content}`)
const kit = createTestKit(secrets)

describe('fastify adapter', () => {
  test('registers one route; the app keeps its own parsers elsewhere', async () => {
    const app = Fastify()
    app.post('/json', async (request) => ({ got: request.body }))
    await app.register(fastifyPlugin(bot, { path: '/wechat' }))
    try {
      const request = kit.request(kit.text('hi'), { mode: 'safe' })
      const res = await app.inject({ method: 'POST', url: `/wechat${request.search}`, payload: request.body })
      const opened = kit.open({ status: res.statusCode, headers: {}, body: res.body }, request)
      assert.deepEqual(opened.reply, { type: 'text', content: 'echo: hi' })
      const json = await app.inject({ method: 'POST', url: '/json', payload: { a: 1 } })
      assert.deepEqual(json.json(), { got: { a: 1 } })
    } finally {
      await app.close()
    }
  })

  test('a body without a content type is read raw; one over maxBodySize is a 413', async () => {
    const app = Fastify()
    await app.register(fastifyPlugin(bot), { prefix: '/wechat' })
    try {
      const request = kit.request(kit.text('no type'))
      const res = await app.inject({
        method: 'POST',
        url: `/wechat${request.search}`,
        payload: Buffer.from(request.body),
      })
      assert.equal(res.statusCode, 200, res.body)
      const big = kit.request(kit.text('x'.repeat(5000)))
      const tooLarge = await app.inject({
        method: 'POST',
        url: `/wechat${big.search}`,
        headers: { 'content-type': 'text/xml' },
        payload: big.body,
      })
      assert.equal(tooLarge.statusCode, 413)
      assert.equal((await app.inject({ method: 'DELETE', url: '/wechat' })).statusCode, 405)
    } finally {
      await app.close()
    }
  })
})
