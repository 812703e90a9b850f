import { openStore } from 'wemp'
import { createServer } from 'wemp/adapters/node'
import { configFromEnv, createDemoBot } from './bot.js'

const config = configFromEnv()
const bot = createDemoBot(config, await openStore(config.store))
const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? '0.0.0.0'

createServer(bot, { path: '/wechat' }).listen(port, host, () => {
  const lines = [
    `wemp demo bot listening on http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/wechat`,
  ]
  if (config.development) {
    lines.push(
      'No WECHAT_TOKEN set: using development values (set WECHAT_TOKEN, WECHAT_APP_ID and',
      'WECHAT_ENCODING_AES_KEY to the values of your MP console to serve a real account):',
      `  WECHAT_TOKEN=${config.token}`,
      `  WECHAT_APP_ID=${config.appId}`,
      `  WECHAT_ENCODING_AES_KEY=${config.encodingAESKey}`,
    )
  } else {
    lines.push(
      `token set, AppID ${config.appId || '(none)'}, safe mode ${config.encodingAESKey ? 'available' : 'off (no EncodingAESKey)'}`,
    )
  }
  lines.push(
    config.appSecret
      ? `WeChat API on (${config.apiBase ?? 'https://api.weixin.qq.com'}): try "slow 8", a reply later than 5 s`
      : 'WeChat API off: set WECHAT_APP_SECRET for ctx.api and late replies ("slow N")',
  )
  lines.push(
    `sessions in the ${bot.store.name} store${config.store ? '' : ' (set WECHAT_STORE=redis://… to share them)'}`,
  )
  console.log(lines.join('\n'))
})
