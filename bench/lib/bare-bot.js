// "The least a correct echo bot can do" on node:crypto, with no framework and no XML parser.
//
// handle({ method, query, headers, body }) → { status, headers, body }, synchronously.
// Used by bench/servers/bare.js (over node:http) and by bench/inprocess.js (no HTTP).
//
// What it does, per protocol.md §1–3:
//   GET  : verify signature = sha1(sort[token, timestamp, nonce]); answer echostr.
//   POST : plaintext → verify signature; encrypt_type=aes → verify msg_signature over <Encrypt>,
//          AES-256-CBC decrypt, strict PKCS#7(32) check, msg_len bounds, receiveid === appId.
//          text → reply `echo: <Content>` with To/From swapped, CreateTime in seconds;
//          anything else → 'success'. Safe mode: the reply is encrypted and signed (Nonce = request nonce).
// What it deliberately does not do: timestamp freshness / replay checks (WeChat does not require them,
// and the benchmark reuses one timestamp and nonce), MsgId de-duplication, events, other reply types.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto'

const XML_HEADERS = { 'content-type': 'application/xml; charset=utf-8' }
const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8' }

function res(status, body, headers = TEXT_HEADERS) {
  return { status, headers, body }
}

function sha1Sorted(parts) {
  return createHash('sha1').update(parts.sort().join('')).digest('hex')
}

function sameHex(given, expected) {
  if (typeof given !== 'string' || given.length !== expected.length) return false
  return timingSafeEqual(Buffer.from(given, 'latin1'), Buffer.from(expected, 'latin1'))
}

const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }
function decodeEntities(s) {
  if (s.indexOf('&') === -1) return s
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e) => {
    if (e[0] !== '#') return ENTITIES[e]
    return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)))
  })
}

/**
 * Text content of the first <tag>…</tag> (leaf element): CDATA sections are taken verbatim
 * (a `</tag>` inside CDATA does not end the element), other text is entity-decoded.
 * Returns undefined if the element is absent or unterminated.
 */
export function field(xml, tag) {
  const open = `<${tag}>`
  let i = xml.indexOf(open)
  if (i === -1) return undefined
  i += open.length
  const close = `</${tag}>`
  let out = ''
  for (;;) {
    if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i + 9)
      if (end === -1) return undefined
      out += xml.slice(i + 9, end)
      i = end + 3
    } else if (xml.startsWith(close, i)) {
      return out
    } else {
      const lt = xml.indexOf('<', i)
      if (lt === -1) return undefined
      out += decodeEntities(xml.slice(i, lt))
      i = lt
      if (!xml.startsWith('<![CDATA[', i) && !xml.startsWith(close, i)) return undefined // not a leaf
    }
  }
}

/** Wrap text in CDATA, splitting any `]]>` it contains. */
function cdata(s) {
  return `<![CDATA[${s.indexOf(']]>') === -1 ? s : s.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`
}

export function createBareBot({ token, appId, encodingAESKey }) {
  if (!token) throw new Error('token required')
  const key = encodingAESKey ? Buffer.from(`${encodingAESKey}=`, 'base64') : null
  if (key && key.length !== 32) throw new Error('EncodingAESKey must decode to 32 bytes')
  const iv = key?.subarray(0, 16)
  const appIdBuf = Buffer.from(appId ?? '', 'utf8')

  function decrypt(b64) {
    const data = Buffer.from(b64, 'base64')
    if (data.length < 32 || data.length % 16 !== 0) return null
    const d = createDecipheriv('aes-256-cbc', key, iv)
    d.setAutoPadding(false)
    const plain = Buffer.concat([d.update(data), d.final()])
    const pad = plain[plain.length - 1]
    if (pad < 1 || pad > 32) return null
    for (let j = plain.length - pad; j < plain.length - 1; j++) if (plain[j] !== pad) return null
    const end = plain.length - pad
    if (end < 20) return null
    const len = plain.readUInt32BE(16)
    if (20 + len > end) return null
    // receiveid must equal the AppID
    if (end - 20 - len !== appIdBuf.length || !plain.subarray(20 + len, end).equals(appIdBuf)) return null
    return plain.toString('utf8', 20, 20 + len)
  }

  function encrypt(xml) {
    const msg = Buffer.from(xml, 'utf8')
    const full = 20 + msg.length + appIdBuf.length
    const pad = 32 - (full % 32)
    const buf = Buffer.allocUnsafe(full + pad)
    randomBytes(16).copy(buf, 0)
    buf.writeUInt32BE(msg.length, 16)
    msg.copy(buf, 20)
    appIdBuf.copy(buf, 20 + msg.length)
    buf.fill(pad, full)
    const c = createCipheriv('aes-256-cbc', key, iv)
    c.setAutoPadding(false)
    return Buffer.concat([c.update(buf), c.final()]).toString('base64')
  }

  function handle({ method, query, body }) {
    const { timestamp, nonce } = query
    if (typeof timestamp !== 'string' || typeof nonce !== 'string') return res(400, 'bad request')
    if (method === 'GET') {
      if (!sameHex(query.signature, sha1Sorted([token, timestamp, nonce])))
        return res(401, 'invalid signature')
      return res(200, String(query.echostr ?? ''))
    }
    if (method !== 'POST') return res(405, 'method not allowed')
    const et = query.encrypt_type
    const safe = et === 'aes'
    if (et !== undefined && et !== 'raw' && !safe) return res(400, 'bad encrypt_type')
    const xml0 = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : ''
    let xml
    if (safe) {
      if (!key) return res(500, 'safe mode not configured')
      const enc = field(xml0, 'Encrypt')
      if (!enc) return res(400, 'no Encrypt')
      if (!sameHex(query.msg_signature, sha1Sorted([token, timestamp, nonce, enc]))) {
        return res(401, 'invalid signature')
      }
      xml = decrypt(enc)
      if (xml === null) return res(400, 'bad ciphertext')
    } else {
      if (!sameHex(query.signature, sha1Sorted([token, timestamp, nonce])))
        return res(401, 'invalid signature')
      xml = xml0
    }
    if (field(xml, 'MsgType') !== 'text') return res(200, 'success')
    const to = field(xml, 'ToUserName')
    const from = field(xml, 'FromUserName')
    const content = field(xml, 'Content')
    if (to === undefined || from === undefined || content === undefined) return res(400, 'bad message')
    const now = Math.floor(Date.now() / 1000)
    const reply =
      `<xml><ToUserName>${cdata(from)}</ToUserName><FromUserName>${cdata(to)}</FromUserName>` +
      `<CreateTime>${now}</CreateTime><MsgType><![CDATA[text]]></MsgType>` +
      `<Content>${cdata(`echo: ${content}`)}</Content></xml>`
    if (!safe) return res(200, reply, XML_HEADERS)
    const enc = encrypt(reply)
    const ts = String(now)
    const sig = sha1Sorted([token, ts, nonce, enc])
    return res(
      200,
      `<xml>\n<Encrypt><![CDATA[${enc}]]></Encrypt>\n<MsgSignature><![CDATA[${sig}]]></MsgSignature>\n` +
        `<TimeStamp>${ts}</TimeStamp>\n<Nonce>${cdata(nonce)}</Nonce>\n</xml>`,
      XML_HEADERS,
    )
  }

  return { handle }
}
