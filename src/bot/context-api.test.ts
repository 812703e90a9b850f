import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createApi } from '../api/client.js'
import { WempError } from '../protocol/errors.js'
import { MemoryStore } from '../storage/memory/index.js'
import { createTestKit } from '../testing/index.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createBot } from './bot.js'

const secrets = { token: 'ctxapitoken', appId: 'wx00000000000c7a91' }
const appSecret = 'ctx-api-secret'
const kit = createTestKit(secrets)
let wechat: WechatApiStandIn
before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [secrets.appId]: appSecret } })
})
after(() => wechat.close())

describe('ctx.api and ctx.send', () => {
  test('without an AppSecret, ctx.api throws api_not_configured and ctx.send rejects; the bot says so through onError', async () => {
    const seen: unknown[] = []
    const bot = createBot({ ...secrets, logger: false, onError: (error) => void seen.push(error) })
    bot.text('api', (ctx) => ctx.api.appId)
    bot.text('send', async (ctx) => {
      await ctx.send('hi')
      return 'sent'
    })
    assert.equal(bot.api, undefined)
    for (const content of ['api', 'send']) {
      const response = await kit.send(bot, kit.text(content))
      assert.deepEqual(response.reply, { type: 'success' })
    }
    assert.equal(seen.length, 2)
    for (const error of seen) {
      assert.ok(error instanceof WempError && error.code === 'api_not_configured', String(error))
      assert.match((error as Error).message, /appSecret/)
    }
  })

  test('appSecret needs appId', () => {
    assert.throws(
      () => createBot({ token: 'ctxapitoken', appSecret }),
      (error: unknown) => error instanceof WempError && error.code === 'invalid_config',
    )
  })

  test("ctx.api shares the bot's store; ctx.send reaches the follower through the customer-service API", async () => {
    const store = new MemoryStore()
    const bot = createBot({ ...secrets, logger: false, store, appSecret, api: { baseUrl: wechat.url } })
    bot.text('hello', async (ctx) => {
      await ctx.send('working on it…')
      return `token shared: ${(await store.get(`token:${secrets.appId}:stable`)) !== undefined}`
    })
    wechat.openWindow(secrets.appId, kit.openid)
    const response = await kit.send(bot, kit.text('hello'))
    assert.deepEqual(response.reply, { type: 'text', content: 'token shared: true' })
    assert.deepEqual(wechat.sent.at(-1)?.text, { content: 'working on it…' })
    assert.equal(wechat.sent.at(-1)?.touser, kit.openid)
  })

  test('a client of your own is used as given', async () => {
    const api = createApi({ appId: secrets.appId, appSecret, baseUrl: wechat.url, logger: false })
    const bot = createBot({ ...secrets, logger: false, api })
    assert.equal(bot.api, api)
    bot.text('who', (ctx) => (ctx.api === api ? 'mine' : 'another'))
    assert.deepEqual((await kit.send(bot, kit.text('who'))).reply, { type: 'text', content: 'mine' })
  })
})
