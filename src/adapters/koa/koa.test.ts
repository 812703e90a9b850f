import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import Koa from 'koa'
import { createBot } from '../../bot/bot.js'
import { createTestKit } from '../../testing/index.js'
import { koaMiddleware } from './index.js'

const secrets = { token: 'koatest', appId: 'wx1111222233338888', encodingAESKey: 'E'.repeat(43) }
const bot = createBot({ ...secrets, logger: false, maxBodySize: 4096 })
bot.text((ctx) => `echo: ${ctx.message.content}`)
const kit = createTestKit(secrets)

async function serve(app: Koa, run: (base: string) => Promise<void>): Promise<void> {
  const server = createServer(app.callback())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

describe('koa adapter', () => {
  test('with the path option other paths go to next()', async () => {
    const app = new Koa()
    app.use(koaMiddleware(bot, { path: '/wechat' }))
    app.use((ctx) => {
      ctx.body = 'next'
    })
    await serve(app, async (base) => {
      const request = kit.request(kit.text('hi'), { mode: 'compatible' })
      const res = await fetch(`${base}/wechat${request.search}`, { method: 'POST', body: request.body })
      const opened = kit.open({ status: res.status, headers: {}, body: await res.text() }, request)
      assert.deepEqual(opened.violations, [])
      assert.equal(res.headers.get('content-type'), 'application/xml; charset=utf-8')
      assert.equal(await (await fetch(`${base}/elsewhere`)).text(), 'next')
    })
  })

  test('without the path option it answers every request that reaches it', async () => {
    const app = new Koa()
    app.use(koaMiddleware(bot))
    await serve(app, async (base) => {
      const handshake = kit.handshake()
      assert.equal(await (await fetch(`${base}/wechat${handshake.search}`)).text(), handshake.query.echostr)
      const request = kit.request(kit.text('routed'), { mode: 'safe' })
      const res = await fetch(`${base}/wechat${request.search}`, { method: 'POST', body: request.body })
      const opened = kit.open({ status: res.status, headers: {}, body: await res.text() }, request)
      assert.deepEqual(opened.reply, { type: 'text', content: 'echo: routed' })
    })
  })

  test('a Buffer ctx.request.body is used; an oversized one is a 413', async () => {
    const app = new Koa()
    app.use(async (ctx, next) => {
      const chunks: Buffer[] = []
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer)
      ;(ctx.request as typeof ctx.request & { body: Buffer }).body = Buffer.concat(chunks)
      await next()
    })
    app.use(koaMiddleware(bot))
    await serve(app, async (base) => {
      const request = kit.request(kit.text('buffer'))
      const res = await fetch(`${base}/wechat${request.search}`, { method: 'POST', body: request.body })
      assert.match(await res.text(), /echo: buffer/)
      const big = kit.request(kit.text('x'.repeat(5000)))
      assert.equal((await fetch(`${base}/${big.search}`, { method: 'POST', body: big.body })).status, 413)
    })
  })
})
