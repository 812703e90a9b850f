import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createBot } from '../../bot/bot.js'
import { createTestKit } from '../../testing/index.js'
import { fetchHandler, worker } from './index.js'

const secrets = { token: 'webtest', appId: 'wx1111222233330000', encodingAESKey: 'G'.repeat(43) }
const bot = createBot({ ...secrets, logger: false, maxBodySize: 4096 })
bot.text((ctx) => `echo: ${ctx.message.content}`)
const kit = createTestKit(secrets)

function post(url: string, body: BodyInit): Request {
  return new Request(url, { method: 'POST', headers: { 'content-type': 'text/xml' }, body })
}

describe('web adapter', () => {
  test('bot.fetch works as is with Node’s own Request and Response, in all three modes', async () => {
    for (const mode of ['plaintext', 'compatible', 'safe'] as const) {
      const request = kit.request(kit.text('fetch'), { mode })
      const response = await bot.fetch(post(`https://bot.example.com/wechat${request.search}`, request.body))
      assert.ok(response instanceof Response)
      const opened = kit.open({ status: response.status, headers: {}, body: await response.text() }, request)
      assert.deepEqual(opened.violations, [], mode)
    }
    assert.equal(fetchHandler(bot), bot.fetch)
  })

  test('a streamed body over maxBodySize is a 413 before it is all read', async () => {
    let pulled = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        if (pulled > 100) controller.close()
        else controller.enqueue(new Uint8Array(1024).fill(97))
      },
    })
    const request = kit.request(kit.text('x'))
    const init = { method: 'POST', body: stream, duplex: 'half' } as RequestInit
    const response = await bot.fetch(new Request(`https://bot.example.com/wechat${request.search}`, init))
    assert.equal(response.status, 413)
    assert.ok(pulled < 20, `read ${pulled} chunks`)
  })

  test('fetchHandler and worker answer only their path when given one', async () => {
    const handshake = kit.handshake()
    const module = worker(bot, { path: '/wechat' })
    const ok = await module.fetch(
      new Request(`https://w.example.com/wechat${handshake.search}`),
      {},
      {
        waitUntil() {},
      },
    )
    assert.equal(await ok.text(), handshake.query.echostr)
    const other = await fetchHandler(bot, { path: '/wechat' })(new Request('https://w.example.com/other'))
    assert.equal(other.status, 404)
  })
})
