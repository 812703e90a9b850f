// Contender "co-wechat": node-webot/co-wechat 2.4.0, the Koa 2 flavour of the same library, running the
// echo bot on bare node:http through a minimal Koa-context shim (koa is not installed). The middleware
// reads ctx.query / ctx.method / ctx.req / ctx.request.{body,length,charset} and writes
// ctx.status / ctx.body / ctx.type; the shim provides exactly that and writes the response like Koa would.

import http from 'node:http'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const coWechat = require('co-wechat')

const port = Number(process.env.PORT || 3000)
const middleware = coWechat({
  token: process.env.WECHAT_TOKEN,
  appid: process.env.WECHAT_APP_ID,
  encodingAESKey: process.env.WECHAT_ENCODING_AES_KEY,
}).middleware(async (message) => (message.MsgType === 'text' ? `echo: ${message.Content}` : ''))

http
  .createServer(async (req, res) => {
    const q = req.url.indexOf('?')
    const pathname = q === -1 ? req.url : req.url.slice(0, q)
    if (pathname !== '/wechat') {
      res.writeHead(404).end()
      return
    }
    const len = req.headers['content-length']
    const ctx = {
      req,
      res,
      method: req.method,
      query: Object.fromEntries(new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1))),
      request: { body: undefined, length: len === undefined ? undefined : Number(len), charset: '' },
      status: undefined,
      body: undefined,
      type: undefined,
    }
    try {
      await middleware(ctx, async () => {})
    } catch {
      ctx.status = 500
      ctx.body = 'Internal Server Error'
      ctx.type = undefined
    }
    // Koa semantics: a body without an explicit status is 200, no body at all is 404
    const body = ctx.body
    const status = ctx.status ?? (body === undefined || body === null ? 404 : 200)
    const type =
      ctx.type ?? (typeof body === 'string' && body !== '' ? 'text/plain; charset=utf-8' : undefined)
    res.writeHead(status, type ? { 'content-type': type } : {})
    res.end(body ?? '')
  })
  .listen(port, '127.0.0.1', () => console.log(`listening ${port}`))
