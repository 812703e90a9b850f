// Contender "wemp": this package, from dist/ (run `npm run build` first; `npm run bench` does).
// Uses exactly the public API:
//   createBot({ token, appId, encodingAESKey }) from dist/index.js
//   bot.text((ctx) => string)
//   createServer(bot, { path }) from dist/adapters/node/index.js, returning something with
//   .listen(port, host, callback) like node:http's Server.
import { createServer } from '../../dist/adapters/node/index.js'
import { createBot } from '../../dist/index.js'

const port = Number(process.env.PORT || 3000)
const bot = createBot({
  token: process.env.WECHAT_TOKEN,
  appId: process.env.WECHAT_APP_ID,
  encodingAESKey: process.env.WECHAT_ENCODING_AES_KEY,
})
bot.text((ctx) => `echo: ${ctx.message.content}`)
createServer(bot, { path: '/wechat' }).listen(port, '127.0.0.1', () => console.log(`listening ${port}`))
