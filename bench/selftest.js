// Self-test of the benchmark's own crypto and of the `bare` bot (no servers, < 1 s):
//   - bench/lib/requests.js against official known-answer vectors (protocol.md §1–3),
//   - requests.js ⇄ wechat-crypto (node-webot) round trips,
//   - the bare bot: replies decrypt with wechat-crypto, msg_signature checks, forged / tampered
//     requests are rejected, XML edge cases (CDATA `]]>` splitting, entities, `</Content>` inside CDATA),
//   - the request streams (lib/pool.js): distinct MsgIds, exactly what buildTextRequest builds,
//     signed and encrypted correctly (checked with wechat-crypto and the bare bot),
//   - how HTTP rounds are reduced to one row (lib/format.js medianRound).
// Usage: node bench/selftest.js   (exit code 1 on any failure)
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { createBareBot, field } from './lib/bare-bot.js'
import { medianRound } from './lib/format.js'
import { httpStream, msgIdAt, requestPool, STREAM_START, streamMsgId } from './lib/pool.js'
import {
  BENCH_CONFIG,
  buildForgedRequest,
  buildHandshake,
  buildTextRequest,
  checkHandshake,
  checkReply,
  decrypt,
  encrypt,
  FIXTURE,
  sign,
} from './lib/requests.js'

const require = createRequire(import.meta.url)
const WXBizMsgCrypt = require('wechat-crypto')

let failed = 0
let passed = 0
function test(name, fn) {
  try {
    fn()
    passed++
  } catch (err) {
    failed++
    console.error(`FAIL ${name}\n  ${err.message.split('\n').join('\n  ')}`)
  }
}

// --- known-answer vectors (copied from ../shared/reference/wechat-vectors.json) ---------------------
test('official GET signature', () => {
  assert.equal(sign('AAAAA', '1714036504', '1514711492'), 'f464b24fc39322e44b38aa78f5edd27bd1441696')
})
test('official plaintext POST signature', () => {
  assert.equal(sign('AAAAA', '1714037059', '486452656'), '899cf89e464efb63f54ddac96b0a0a235f53aa78')
})
const officialEncrypt =
  '+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04='
const zeroKey = { token: 'AAAAA', appId: 'wxba5fad812f8e6fb9', encodingAESKey: 'A'.repeat(43) }
test('official safe msg_signature', () => {
  assert.equal(
    sign('AAAAA', '1714112445', '415670741', officialEncrypt),
    '046e02f8204d34f8ba5fa3b1db94908f3df2e9b3',
  )
})
test('official safe decrypt (pad byte 19)', () => {
  const d = decrypt(officialEncrypt, zeroKey)
  assert.equal(d.receiveId, 'wxba5fad812f8e6fb9')
  assert.equal(d.random.toString(), 'a8eedb185eb2fecf')
  assert.equal(Buffer.byteLength(d.msg), 167)
})
test('official reply encrypt + MsgSignature', () => {
  const enc = encrypt('{"demo_resp":"good luck"}', zeroKey, '707722b803182950')
  assert.equal(
    enc,
    'ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==',
  )
  assert.equal(sign('AAAAA', '1713424427', '415670741', enc), '1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1')
})
test('official Java sample encrypt (UTF-8 msg_len)', () => {
  const cfg = { appId: 'wxb11529c136998cb6', encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' }
  assert.equal(
    encrypt('我是中文abcd123', cfg, 'aaaabbbbccccdddd'),
    'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==',
  )
})

// --- requests.js ⇄ wechat-crypto ---------------------------------------------------------------------
const cfg = BENCH_CONFIG
const wx = new WXBizMsgCrypt(cfg.token, cfg.encodingAESKey, cfg.appId)
test('safe request decrypts with wechat-crypto and msg_signature matches', () => {
  const req = buildTextRequest('safe', cfg)
  const enc = /<Encrypt><!\[CDATA\[(.*?)\]\]>/.exec(req.body)[1]
  assert.equal(wx.getSignature(req.query.timestamp, req.query.nonce, enc), req.query.msg_signature)
  const d = wx.decrypt(enc)
  assert.equal(d.id, cfg.appId)
  assert.match(d.message, /<Content><!\[CDATA\[hello 你好 wemp\]\]><\/Content>/)
})
test('wechat-crypto ciphertext decrypts with requests.js', () => {
  const d = decrypt(wx.encrypt('<xml>你好</xml>'), cfg)
  assert.equal(d.msg, '<xml>你好</xml>')
  assert.equal(d.receiveId, cfg.appId)
})

// --- the bare bot ------------------------------------------------------------------------------------
const bot = createBareBot(cfg)
for (const mode of ['plaintext', 'safe']) {
  test(`bare ${mode}: reply passes the checker`, () => {
    const req = buildTextRequest(mode, cfg)
    const res = bot.handle(req)
    const c = checkReply(req, res, cfg)
    assert.ok(c.ok, c.errors.join('; '))
    assert.deepEqual(c.quirks, [])
  })
  test(`bare ${mode}: forged signature → 401`, () => {
    assert.equal(bot.handle(buildForgedRequest(mode, cfg)).status, 401)
  })
}
test('bare safe: reply verified and decrypted by wechat-crypto', () => {
  const req = buildTextRequest('safe', cfg)
  const { body } = bot.handle(req)
  const get = (t) => field(body, t)
  const enc = get('Encrypt')
  assert.equal(wx.getSignature(get('TimeStamp'), get('Nonce'), enc), get('MsgSignature'))
  assert.equal(get('Nonce'), req.query.nonce)
  const d = wx.decrypt(enc)
  assert.equal(d.id, cfg.appId)
  assert.equal(field(d.message, 'Content'), 'echo: hello 你好 wemp')
  assert.equal(field(d.message, 'ToUserName'), 'oBenchUser-abcdefghijklmnopqr')
  assert.equal(field(d.message, 'FromUserName'), 'gh_0123456789ab')
  assert.match(field(d.message, 'CreateTime'), /^\d{10}$/)
})
test('bare safe: request encrypted by wechat-crypto is accepted', () => {
  const base = buildTextRequest('plaintext', cfg)
  const enc = wx.encrypt(base.body)
  const { timestamp, nonce } = base.query
  const query = { ...base.query, encrypt_type: 'aes', msg_signature: wx.getSignature(timestamp, nonce, enc) }
  const req = { ...base, mode: 'safe', query, body: `<xml><Encrypt><![CDATA[${enc}]]></Encrypt></xml>` }
  assert.ok(checkReply(req, bot.handle(req), cfg).ok)
})
test('bare safe: wrong appId / tampered ciphertext / plain-only signature rejected', () => {
  const other = new WXBizMsgCrypt(cfg.token, cfg.encodingAESKey, 'wx0000000000000000')
  const base = buildTextRequest('plaintext', cfg)
  const { timestamp, nonce } = base.query
  const mk = (enc) => ({
    ...base,
    query: { ...base.query, encrypt_type: 'aes', msg_signature: sign(cfg.token, timestamp, nonce, enc) },
    body: `<xml><Encrypt><![CDATA[${enc}]]></Encrypt></xml>`,
  })
  assert.equal(bot.handle(mk(other.encrypt(base.body))).status, 400)
  const enc = encrypt(base.body, cfg)
  const bytes = Buffer.from(enc, 'base64')
  bytes[bytes.length - 1] ^= 1
  assert.equal(bot.handle(mk(bytes.toString('base64'))).status, 400)
  // a correct plain `signature` must not be enough in safe mode
  const req = buildTextRequest('safe', cfg)
  assert.equal(bot.handle({ ...req, query: { ...req.query, msg_signature: undefined } }).status, 401)
})
test('bare GET handshake', () => {
  const hs = buildHandshake(cfg)
  assert.ok(checkHandshake(hs, bot.handle(hs)).ok)
  assert.equal(bot.handle({ ...hs, query: { ...hs.query, signature: 'x'.repeat(40) } }).status, 401)
})
test('bare: CDATA edge cases', () => {
  for (const content of ['a]]>b', '</Content>', 'x & y < z', '  spaced\nlines  ']) {
    const req = buildTextRequest('safe', cfg, { content })
    const c = checkReply(req, bot.handle(req), cfg)
    assert.ok(c.ok, `${JSON.stringify(content)}: ${c.errors.join('; ')}`)
  }
  assert.equal(field('<xml><Content>a &amp; &lt;b&gt;</Content></xml>', 'Content'), 'a & <b>')
  assert.equal(field('<xml><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>', 'Content'), 'a]]>b')
  assert.equal(field('<xml><Content>x</xml>', 'Content'), undefined)
})
test('checker rejects a wrong reply', () => {
  const req = buildTextRequest('safe', cfg)
  const res = bot.handle(buildTextRequest('safe', cfg, { content: 'other' }))
  assert.equal(checkReply(req, res, cfg).ok, false)
  assert.equal(
    checkReply(req, { ...res, body: res.body.replace(/[0-9a-f]{40}/, 'f'.repeat(40)) }, cfg).ok,
    false,
  )
})

// --- request streams (lib/pool.js) --------------------------------------------------------------------
const msgIdOf = (mode, body) => {
  const xml = mode === 'safe' ? wx.decrypt(field(body, 'Encrypt')).message : body
  return field(xml, 'MsgId')
}
const fromPath = (path) => Object.fromEntries(new URL(path, 'http://x').searchParams)
test('MsgIds: FIXTURE.msgId + n, checks and streams apart', () => {
  assert.equal(msgIdAt(0), FIXTURE.msgId)
  assert.equal(msgIdAt(1), '1234567890123456790')
  assert.equal(streamMsgId(0), msgIdAt(STREAM_START))
  assert.equal(new Set(Array.from({ length: 1000 }, (_, i) => streamMsgId(i))).size, 1000)
})
for (const mode of ['plaintext', 'safe']) {
  test(`requestPool ${mode}: distinct MsgIds, each request answered correctly by bare`, () => {
    const pool = requestPool(mode, cfg, 5, { timestamp: 1714036504, start: 7 })
    assert.deepEqual(
      pool.map((r) => msgIdOf(mode, r.body)),
      [7, 8, 9, 10, 11].map((i) => streamMsgId(i)),
    )
    const expect = { mode, expect: buildTextRequest(mode, cfg).expect }
    for (const r of pool) assert.ok(checkReply(expect, bot.handle(r), cfg).ok)
  })
}
test('httpStream plaintext: the template gives buildTextRequest, a new MsgId per request', () => {
  const ts = 1714036504
  const s = httpStream('plaintext', cfg, { timestamp: ts })
  assert.equal(s.distinct, Number.POSITIVE_INFINITY)
  for (const i of [0, 1, 123456]) {
    const r = {}
    s.apply(r, i)
    const want = buildTextRequest('plaintext', cfg, { msgId: streamMsgId(i), timestamp: ts })
    assert.equal(r.body, want.body)
    assert.equal(r.path, want.path)
    assert.ok(checkReply(want, bot.handle({ method: 'POST', query: fromPath(r.path), body: r.body }), cfg).ok)
  }
})
test('httpStream safe: a pool of `size` encrypted requests, exact, verified by wechat-crypto, cycling', () => {
  const ts = 1714036504
  const s = httpStream('safe', cfg, { size: 3, timestamp: ts })
  assert.equal(s.distinct, 3)
  const got = [0, 1, 2, 3].map((i) => {
    const r = {}
    s.apply(r, i)
    return r
  })
  for (const i of [0, 1, 2]) {
    const want = buildTextRequest('safe', cfg, { msgId: streamMsgId(i), timestamp: ts })
    assert.equal(got[i].body, want.body)
    assert.equal(got[i].path, want.path)
    const q = fromPath(got[i].path)
    assert.equal(wx.getSignature(q.timestamp, q.nonce, field(got[i].body, 'Encrypt')), q.msg_signature)
    assert.equal(msgIdOf('safe', got[i].body), streamMsgId(i))
    assert.ok(checkReply(want, bot.handle({ method: 'POST', query: q, body: got[i].body }), cfg).ok)
  }
  assert.deepEqual(got[3], got[0])
})

test('medianRound: the median req/s row with every round kept; a failed round wins', () => {
  const ok = (rps) => ({ status: 'ok', rps, tag: rps })
  assert.deepEqual(medianRound([ok(30), ok(10), ok(20)]), { ...ok(20), rpsRounds: [30, 10, 20] })
  assert.equal(medianRound([ok(40), ok(10)]).rps, 10)
  assert.equal(medianRound([ok(5)]).rps, 5)
  const failed = { status: 'FAILED', stage: 'load', reason: 'x' }
  assert.equal(medianRound([ok(1), failed]), failed)
})

console.log(`selftest: ${passed} passed, ${failed} failed`)
if (failed) process.exitCode = 1
