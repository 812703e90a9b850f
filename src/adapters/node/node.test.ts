import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { createBot } from '../../bot/bot.js'
import { createTestKit } from '../../testing/index.js'
import { createServer, parseQuery } from './index.js'

const secrets = {
  token: 'nodetest',
  appId: 'wx5555666677778888',
  encodingAESKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg',
}

describe('node adapter', () => {
  const bot = createBot({ ...secrets, logger: false, maxBodySize: 8 * 1024 })
  bot.text((ctx) => `echo: ${ctx.message.content}`)
  const kit = createTestKit(secrets)
  const server = createServer(bot, { path: '/wechat' })
  let base = ''

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  test('answers all three modes and the handshake over HTTP', async () => {
    for (const mode of ['plaintext', 'compatible', 'safe'] as const) {
      const res = await kit.send(`${base}/wechat`, kit.text('你好'), { mode })
      assert.deepEqual(res.violations, [], mode)
      assert.deepEqual(res.reply, { type: 'text', content: 'echo: 你好' })
    }
    const hs = await kit.verifyUrl(`${base}/wechat`)
    assert.equal(hs.status, 200)
    assert.equal(hs.body, hs.echostr)
  })

  test('other paths are 404', async () => {
    const res = await fetch(`${base}/other`)
    assert.equal(res.status, 404)
  })

  test('an oversized body is refused with 413 while it streams, without reading it all', async () => {
    const request = kit.request(kit.text('x'))
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/wechat${request.search}`, { method: 'POST' }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on('error', (error) =>
        String(error).includes('EPIPE') || String(error).includes('ECONNRESET') ? undefined : reject(error),
      )
      // Chunked, no content-length: the limit must be enforced while reading.
      const chunk = Buffer.alloc(4096, 'a')
      let sent = 0
      const write = () => {
        while (sent < 64 && req.write(chunk)) sent++
        if (sent < 64) req.once('drain', write)
        else req.end()
      }
      write()
    })
    assert.equal(status, 413)
    const declared = await fetch(`${base}/wechat${request.search}`, {
      method: 'POST',
      body: 'x'.repeat(9000),
    })
    assert.equal(declared.status, 413)
  })

  test('parseQuery takes the first value of a repeated key and decodes', () => {
    assert.deepEqual({ ...parseQuery('/wechat?a=1&a=2&b=%2B%2F') }, { a: '1', b: '+/' })
    assert.deepEqual({ ...parseQuery('/wechat') }, {})
  })
})
