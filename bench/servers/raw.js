// Contender "raw": bare node:http answering a fixed, precomputed reply. No verification, no parsing,
// no crypto per request — the ceiling of what node:http can do on this machine.
// The precomputed replies are valid for the harness' fixture message (plaintext and safe mode),
// so raw passes the same reply check as the real bots.
import http from 'node:http'
import { configFromEnv, encrypt, FIXTURE, sign } from '../lib/fixture.js'

const port = Number(process.env.PORT || 3000)
const cfg = configFromEnv()
const now = String(Math.floor(Date.now() / 1000))
const inner =
  `<xml><ToUserName><![CDATA[${FIXTURE.fromUser}]]></ToUserName><FromUserName><![CDATA[${FIXTURE.toUser}]]></FromUserName>` +
  `<CreateTime>${now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[echo: ${FIXTURE.content}]]></Content></xml>`
const enc = encrypt(inner, cfg, Buffer.alloc(16, 7))
const safe =
  `<xml>\n<Encrypt><![CDATA[${enc}]]></Encrypt>\n<MsgSignature><![CDATA[${sign(cfg.token, now, FIXTURE.nonce, enc)}]]></MsgSignature>\n` +
  `<TimeStamp>${now}</TimeStamp>\n<Nonce><![CDATA[${FIXTURE.nonce}]]></Nonce>\n</xml>`
const PLAIN = Buffer.from(inner)
const SAFE = Buffer.from(safe)
const ECHO = Buffer.from(FIXTURE.echostr)
const HEADERS = { 'content-type': 'application/xml; charset=utf-8' }

http
  .createServer((req, res) => {
    req.on('data', noop)
    req.on('end', () => {
      if (req.method === 'GET') return res.end(ECHO)
      res.writeHead(200, HEADERS)
      res.end(req.url.includes('encrypt_type=aes') ? SAFE : PLAIN)
    })
  })
  .listen(port, '127.0.0.1', () => console.log(`listening ${port}`))

function noop() {}
