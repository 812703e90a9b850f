// Request builders and reply checker for the benchmark.
//
// Everything here is implemented on node:crypto directly (no wemp code), so the
// checker is independent of every contender it judges.
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { BENCH_CONFIG, cdata, decrypt, encrypt, FIXTURE, sign } from './fixture.js'

export {
  aesKey,
  BENCH_CONFIG,
  cdata,
  configFromEnv,
  decrypt,
  encrypt,
  FIXTURE,
  MODES,
  serverEnv,
  sign,
} from './fixture.js'

// ---------------------------------------------------------------------------
// request builders

export function textMessageXml({ toUser, fromUser, content, createTime, msgId }) {
  return (
    '<xml>\n' +
    `<ToUserName><![CDATA[${toUser}]]></ToUserName>\n` +
    `<FromUserName><![CDATA[${fromUser}]]></FromUserName>\n` +
    `<CreateTime>${createTime}</CreateTime>\n` +
    '<MsgType><![CDATA[text]]></MsgType>\n' +
    `<Content>${cdata(content)}</Content>\n` +
    `<MsgId>${msgId}</MsgId>\n` +
    '</xml>'
  )
}

function toPath(query) {
  return `/wechat?${new URLSearchParams(query).toString()}`
}

export function nowSeconds() {
  return Math.floor(Date.now() / 1000)
}

/**
 * A correctly signed POST carrying the fixture text message.
 * mode 'plaintext' → signature only; 'safe' → encrypt_type=aes + msg_signature, encrypted body.
 * The timestamp defaults to "now" at build time, and the nonce is fixed, so the same request can be
 * replayed for the whole run (a freshness window of a few minutes is still satisfied). `opts.msgId`
 * gives the message a MsgId of its own (lib/pool.js builds streams of them).
 * Returns { mode, method, path, query, headers, body, expect }.
 */
export function buildTextRequest(mode, cfg = BENCH_CONFIG, opts = {}) {
  const timestamp = String(opts.timestamp ?? nowSeconds())
  const nonce = opts.nonce ?? FIXTURE.nonce
  const content = opts.content ?? FIXTURE.content
  const xml = textMessageXml({
    toUser: FIXTURE.toUser,
    fromUser: FIXTURE.fromUser,
    content,
    createTime: timestamp,
    msgId: opts.msgId ?? FIXTURE.msgId,
  })
  const query = { signature: sign(cfg.token, timestamp, nonce), timestamp, nonce, openid: FIXTURE.openid }
  let body = xml
  if (mode === 'safe') {
    const enc = encrypt(xml, cfg, opts.random ?? FIXTURE.random)
    body = `<xml>\n    <ToUserName><![CDATA[${FIXTURE.toUser}]]></ToUserName>\n    <Encrypt><![CDATA[${enc}]]></Encrypt>\n</xml>`
    query.encrypt_type = 'aes'
    query.msg_signature = sign(cfg.token, timestamp, nonce, enc)
  } else if (mode !== 'plaintext') {
    throw new Error(`unknown mode ${mode}`)
  }
  return {
    mode,
    method: 'POST',
    path: toPath(query),
    query,
    headers: { 'content-type': 'text/xml' },
    body,
    expect: { toUser: FIXTURE.fromUser, fromUser: FIXTURE.toUser, content: `echo: ${content}` },
  }
}

/** Same request with a forged signature (msg_signature in safe mode). */
export function buildForgedRequest(mode, cfg = BENCH_CONFIG, opts = {}) {
  const req = buildTextRequest(mode, cfg, opts)
  const query = { ...req.query }
  const key = mode === 'safe' ? 'msg_signature' : 'signature'
  query[key] = sign('not-the-token', query.timestamp, query.nonce)
  return { ...req, query, path: toPath(query) }
}

/** The URL-verification GET (always the plain 3-field form for an Official Account). */
export function buildHandshake(cfg = BENCH_CONFIG, opts = {}) {
  const timestamp = String(opts.timestamp ?? nowSeconds())
  const nonce = opts.nonce ?? FIXTURE.nonce
  const query = { signature: sign(cfg.token, timestamp, nonce), timestamp, nonce, echostr: FIXTURE.echostr }
  return {
    method: 'GET',
    path: toPath(query),
    query,
    headers: {},
    body: '',
    expect: { echostr: FIXTURE.echostr },
  }
}

// ---------------------------------------------------------------------------
// reply checker

const parser = new XMLParser({ parseTagValue: false, trimValues: false, ignoreAttributes: true })

function parseXmlStrict(xml) {
  const valid = XMLValidator.validate(xml)
  if (valid !== true) throw new Error(`reply is not well-formed XML: ${valid.err?.msg ?? 'invalid'}`)
  const doc = parser.parse(xml)
  if (!doc || typeof doc.xml !== 'object') throw new Error('reply root element is not <xml>')
  return doc.xml
}

/** Body as text, whether the contender gave a string, a Buffer or a Uint8Array. */
export function bodyText(body) {
  if (body === undefined || body === null) return ''
  if (typeof body === 'string') return body
  if (body instanceof Uint8Array)
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
  return String(body)
}

/** Case-insensitive header lookup in a plain object or a Headers-like object. */
export function header(headers, name) {
  if (!headers) return undefined
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name)
  const v = key === undefined ? undefined : headers[key]
  return Array.isArray(v) ? v.join(', ') : v
}

function str(v) {
  return v === undefined || v === null ? undefined : String(v)
}

function plausibleSeconds(v) {
  if (!/^\d+$/.test(v)) return false
  const n = Number(v)
  return Math.abs(n - nowSeconds()) < 86400
}

/**
 * Check a reply to `req` (from buildTextRequest). `res` = { status, headers, body }.
 * Returns { ok, errors: string[], quirks: string[], inner }. `errors` make a contender FAILED;
 * `quirks` are deviations worth reporting that a real WeChat server tolerates.
 */
export function checkReply(req, res, cfg = BENCH_CONFIG) {
  const errors = []
  const quirks = []
  let inner
  try {
    const body = bodyText(res.body)
    if (res.status !== 200)
      throw new Error(`status ${res.status} (body ${JSON.stringify(body.slice(0, 120))})`)
    const ctype = String(header(res.headers, 'content-type') ?? '')
    if (!/xml/i.test(ctype)) quirks.push(`content-type ${ctype ? JSON.stringify(ctype) : 'missing'}`)
    let innerXml = body
    if (req.mode === 'safe') {
      const outer = parseXmlStrict(body)
      for (const k of ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']) {
        if (outer[k] === undefined) throw new Error(`safe-mode reply lacks <${k}> (is it encrypted at all?)`)
      }
      if (outer.Content !== undefined) throw new Error('safe-mode reply carries plaintext <Content>')
      const enc = str(outer.Encrypt)
      const ts = str(outer.TimeStamp)
      const nonce = str(outer.Nonce)
      const expected = sign(cfg.token, ts, nonce, enc)
      if (str(outer.MsgSignature) !== expected) throw new Error('MsgSignature does not verify')
      if (!plausibleSeconds(ts)) quirks.push(`envelope TimeStamp ${ts} is not unix seconds`)
      const dec = decrypt(enc, cfg)
      if (dec.receiveId !== cfg.appId)
        throw new Error(`encrypted reply receiveid ${JSON.stringify(dec.receiveId)} != appId`)
      innerXml = dec.msg
    }
    inner = parseXmlStrict(innerXml)
    const want = req.expect
    if (str(inner.ToUserName) !== want.toUser)
      errors.push(`ToUserName ${JSON.stringify(str(inner.ToUserName))}`)
    if (str(inner.FromUserName) !== want.fromUser)
      errors.push(`FromUserName ${JSON.stringify(str(inner.FromUserName))}`)
    if (str(inner.MsgType) !== 'text') errors.push(`MsgType ${JSON.stringify(str(inner.MsgType))}`)
    if (str(inner.Content) !== want.content) errors.push(`Content ${JSON.stringify(str(inner.Content))}`)
    const ct = str(inner.CreateTime)
    if (!ct || !/^\d+$/.test(ct.trim())) errors.push(`CreateTime ${JSON.stringify(ct)}`)
    else if (!plausibleSeconds(ct.trim())) quirks.push(`CreateTime ${ct} is not unix seconds`)
  } catch (err) {
    errors.push(err.message)
  }
  return { ok: errors.length === 0, errors, quirks, inner }
}

/** The GET handshake must answer exactly echostr with 200. */
export function checkHandshake(req, res) {
  const errors = []
  const body = bodyText(res.body)
  if (res.status !== 200) errors.push(`handshake status ${res.status}`)
  else if (body !== req.expect.echostr) errors.push(`handshake body ${JSON.stringify(body.slice(0, 80))}`)
  return { ok: errors.length === 0, errors, quirks: [] }
}
