// Contender "wechat-npm": node-webot/wechat 2.1.0 (npm `wechat`), the classic connect-style middleware,
// running the same echo bot on bare node:http. The middleware only needs `req.query` (express/connect
// would set it); the tiny shim below parses the query string and supplies `next`.

import http from 'node:http'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const wechat = require('wechat')

const port = Number(process.env.PORT || 3000)
const middleware = wechat(
  {
    token: process.env.WECHAT_TOKEN,
    appid: process.env.WECHAT_APP_ID,
    encodingAESKey: process.env.WECHAT_ENCODING_AES_KEY,
  },
  wechat.text((message, _req, res) => {
    res.reply(`echo: ${message.Content}`)
  }),
)

http
  .createServer((req, res) => {
    const q = req.url.indexOf('?')
    const pathname = q === -1 ? req.url : req.url.slice(0, q)
    if (pathname !== '/wechat') {
      res.writeHead(404).end()
      return
    }
    req.query = Object.fromEntries(new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1)))
    middleware(req, res, (err) => {
      // what connect's final handler would do: 500 on error, 404 when nothing handled the request
      if (!res.headersSent) res.writeHead(err ? 500 : 404)
      res.end()
    })
  })
  .listen(port, '127.0.0.1', () => console.log(`listening ${port}`))
