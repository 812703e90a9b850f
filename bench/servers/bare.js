// Contender "bare": the least a correct echo bot can do on node:http + node:crypto.
// The bot logic lives in ../lib/bare-bot.js so bench/inprocess.js can call it without HTTP.
import http from 'node:http'
import { createBareBot } from '../lib/bare-bot.js'

const port = Number(process.env.PORT || 3000)
const bot = createBareBot({
  token: process.env.WECHAT_TOKEN,
  appId: process.env.WECHAT_APP_ID,
  encodingAESKey: process.env.WECHAT_ENCODING_AES_KEY,
})
const LIMIT = 1024 * 1024

http
  .createServer((req, res) => {
    const q = req.url.indexOf('?')
    const pathname = q === -1 ? req.url : req.url.slice(0, q)
    if (pathname !== '/wechat') {
      res.writeHead(404).end()
      return
    }
    const query = Object.fromEntries(new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1)))
    const chunks = []
    let size = 0
    req.on('data', (c) => {
      size += c.length
      if (size > LIMIT) {
        res.writeHead(413).end()
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')
      let out
      try {
        out = bot.handle({ method: req.method, query, headers: req.headers, body })
      } catch {
        out = { status: 500, headers: {}, body: '' }
      }
      res.writeHead(out.status, out.headers)
      res.end(out.body)
    })
  })
  .listen(port, '127.0.0.1', () => console.log(`listening ${port}`))
