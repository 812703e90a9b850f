import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import express from 'express'
import { createBot } from '../../bot/bot.js'
import { createTestKit } from '../../testing/index.js'
import { expressMiddleware } from './index.js'

const secrets = { token: 'expresstest', appId: 'wx1111222233337777', encodingAESKey: 'D'.repeat(43) }
const bot = createBot({ ...secrets, logger: false, maxBodySize: 4096 })
bot.text((ctx) => `echo: ${ctx.message.content}`)
const kit = createTestKit(secrets)

async function serve(app: express.Express, run: (base: string) => Promise<void>): Promise<void> {
  const server: Server = createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

function post(url: string, body: string, headers: Record<string, string> = { 'content-type': 'text/xml' }) {
  return fetch(url, { method: 'POST', headers, body })
}

describe('express adapter', () => {
  test('with the path option it answers one path and passes the rest to next()', async () => {
    const app = express()
    app.use(expressMiddleware(bot, { path: '/wechat' }))
    app.get('/health', (_req, res) => {
      res.send('ok')
    })
    await serve(app, async (base) => {
      const request = kit.request(kit.text('hi'), { mode: 'safe' })
      const res = await post(`${base}/wechat${request.search}`, request.body)
      const opened = kit.open({ status: res.status, headers: {}, body: await res.text() }, request)
      assert.deepEqual(opened.reply, { type: 'text', content: 'echo: hi' })
      assert.equal(await (await fetch(`${base}/health`)).text(), 'ok')
    })
  })

  test('mounted under a prefix, the query still comes from the request URL', async () => {
    const app = express()
    app.use('/bots/wechat', expressMiddleware(bot))
    await serve(app, async (base) => {
      const handshake = kit.handshake()
      const res = await fetch(`${base}/bots/wechat${handshake.search}`)
      assert.equal(await res.text(), handshake.query.echostr)
    })
  })

  test('req.rawBody (Firebase, verify hooks) is used when present', async () => {
    const app = express()
    app.use((req, _res, next) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        ;(req as typeof req & { rawBody: Buffer }).rawBody = Buffer.concat(chunks)
        next()
      })
    })
    app.all('/wechat', expressMiddleware(bot))
    await serve(app, async (base) => {
      const request = kit.request(kit.text('raw body'))
      const res = await post(`${base}/wechat${request.search}`, request.body)
      assert.equal(res.status, 200)
      assert.match(await res.text(), /echo: raw body/)
    })
  })

  test('a body read by something that left nothing behind is a 500 that says what to do', async () => {
    const app = express()
    app.use((req, _res, next) => {
      req.resume()
      req.on('end', () => next())
    })
    app.all('/wechat', expressMiddleware(bot))
    await serve(app, async (base) => {
      const request = kit.request(kit.text('gone'))
      const res = await post(`${base}/wechat${request.search}`, request.body)
      assert.equal(res.status, 500)
      assert.match(await res.text(), /^body_consumed: .*express\.raw/)
    })
  })

  test('too large: refused by content-length before reading, and while streaming without one', async () => {
    const app = express()
    app.all('/wechat', expressMiddleware(bot))
    await serve(app, async (base) => {
      const request = kit.request(kit.text('x'))
      assert.equal((await post(`${base}/wechat${request.search}`, 'x'.repeat(5000))).status, 413)
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${base}/wechat${request.search}`, { method: 'POST' }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', (error) => (/EPIPE|ECONNRESET/.test(String(error)) ? undefined : reject(error)))
        for (let i = 0; i < 4; i++) req.write(Buffer.alloc(2048, 'a'))
        req.end()
      })
      assert.equal(status, 413)
    })
  })
})
