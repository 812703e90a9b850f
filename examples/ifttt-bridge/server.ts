import { openStore } from 'wemp'
import { createServer } from 'wemp/adapters/node'
import { createIftttBot } from './bot.js'

/**
 * The IFTTT bridge on Node's http server. Configuration, from the environment:
 *
 * | variable                  | meaning                                                              |
 * |---------------------------|----------------------------------------------------------------------|
 * | `WECHAT_TOKEN`            | the Token (unset: development values, printed at start)              |
 * | `WECHAT_APP_ID`           | the AppID                                                            |
 * | `WECHAT_ENCODING_AES_KEY` | the EncodingAESKey (safe mode)                                       |
 * | `WECHAT_APP_SECRET`       | the AppSecret: late replies (slow IFTTT) go out through the          |
 * |                           | customer-service API; without it only a WeChat retry can carry them  |
 * | `WECHAT_API_BASE`         | WeChat's API base URL (a fixed-IP proxy, or a stand-in)              |
 * | `WECHAT_STORE`            | `memory` (default), `redis://…`, `postgres://…`, `mysql://…`,        |
 * |                           | `sqlite:<file>` or `file:<dir>`: where the followers' keys live      |
 * | `IFTTT_BASE`              | IFTTT's webhook host (default https://maker.ifttt.com)               |
 * | `IFTTT_TIMEOUT`           | ms one trigger may take (default 10000)                              |
 * | `HELP_URL`                | the link `help` ends with                                            |
 * | `PORT`, `HOST`            | where to listen (default 3000, 0.0.0.0); the path is `/wechat`       |
 */

const DEVELOPMENT = {
  token: 'wempdev',
  appId: 'wx0000000000000000',
  encodingAESKey: 'wempDevelopmentKey0000000000000000000000000',
} as const

const env = process.env
const development = !env.WECHAT_TOKEN
const token = env.WECHAT_TOKEN || DEVELOPMENT.token
const appId = development ? DEVELOPMENT.appId : env.WECHAT_APP_ID
const encodingAESKey = development ? DEVELOPMENT.encodingAESKey : env.WECHAT_ENCODING_AES_KEY
const store = await openStore(env.WECHAT_STORE)

const bot = createIftttBot({
  token,
  ...(appId ? { appId } : {}),
  ...(encodingAESKey ? { encodingAESKey } : {}),
  ...(env.WECHAT_APP_SECRET ? { appSecret: env.WECHAT_APP_SECRET } : {}),
  ...(env.WECHAT_API_BASE ? { api: { baseUrl: env.WECHAT_API_BASE } } : {}),
  ...(store ? { store } : {}),
  ...(env.IFTTT_BASE ? { iftttBase: env.IFTTT_BASE } : {}),
  ...(env.IFTTT_TIMEOUT ? { iftttTimeout: Number(env.IFTTT_TIMEOUT) } : {}),
  ...(env.HELP_URL ? { helpUrl: env.HELP_URL } : {}),
})

const port = Number(env.PORT ?? 3000)
const host = env.HOST ?? '0.0.0.0'

createServer(bot, { path: '/wechat' }).listen(port, host, () => {
  const lines = [
    `wemp IFTTT bridge listening on http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/wechat`,
  ]
  if (development) {
    lines.push(
      'No WECHAT_TOKEN set: using development values (set WECHAT_TOKEN, WECHAT_APP_ID and',
      'WECHAT_ENCODING_AES_KEY to the values of your MP console to serve a real account):',
      `  WECHAT_TOKEN=${DEVELOPMENT.token}`,
      `  WECHAT_APP_ID=${DEVELOPMENT.appId}`,
      `  WECHAT_ENCODING_AES_KEY=${DEVELOPMENT.encodingAESKey}`,
    )
  }
  lines.push(
    `IFTTT at ${env.IFTTT_BASE || 'https://maker.ifttt.com'}; keys kept in the ${bot.store.name} store`,
    env.WECHAT_APP_SECRET
      ? 'late replies (IFTTT slower than 4 s) go out through the customer-service API'
      : 'no WECHAT_APP_SECRET: a reply later than 4 s reaches the follower only through a WeChat retry still waiting',
  )
  console.log(lines.join('\n'))
})
