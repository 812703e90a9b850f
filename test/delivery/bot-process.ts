/**
 * One bot "instance" for the retry-schedule test: a Node server on a free port, state in Redis,
 * the WeChat API at WECHAT_API_BASE. Prints `listening <port>` and `ran <openid> <content>` for every
 * handler run (so the test counts runs across processes).
 */
import { createServer } from '../../src/adapters/node/index.js'
import { createBot } from '../../src/bot/bot.js'
import { createRedisStore } from '../../src/storage/redis/index.js'

const env = process.env
const store = createRedisStore({ url: env.WEMP_TEST_REDIS_URL, prefix: env.STORE_PREFIX, timeout: 1000 })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const bot = createBot({
  token: 'retrytoken',
  appId: env.APP_ID,
  encodingAESKey: env.AES_KEY,
  appSecret: env.APP_SECRET,
  api: { baseUrl: env.WECHAT_API_BASE },
  store,
  logLevel: 'info',
  onError: () => '出错了，请稍后再试',
})
bot.text(/^slow (\d+(?:\.\d+)?)$/, async (ctx) => {
  console.log(`ran ${ctx.openid} ${ctx.message.content}`)
  await sleep(Number(ctx.match[1]) * 1000)
  return `done after ${ctx.match[1]} s`
})
bot.text('boom', async (ctx) => {
  console.log(`ran ${ctx.openid} ${ctx.message.content}`)
  await sleep(10)
  throw new Error('the handler failed')
})
bot.text(async (ctx) => {
  console.log(`ran ${ctx.openid} ${ctx.message.content}`)
  const { count } = await ctx.session.update((s) => {
    s.count = (Number(s.count) || 0) + 1
  })
  return `echo: ${ctx.message.content} (#${count})`
})

const server = createServer(bot).listen(0, '127.0.0.1', () => {
  const address = server.address()
  console.log(`listening ${typeof address === 'object' && address ? address.port : ''}`)
})
process.on('SIGTERM', () => {
  server.close()
  store.close().finally(() => process.exit(0))
})
