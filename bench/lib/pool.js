// Streams of distinct requests: every message the bench times carries a MsgId of its own.
//
// WeChat sends a message once (plus up to two retries of the same MsgId when a reply is late), and
// wemp records every MsgId to answer retries from a cache. Replaying one request would time that
// cache, not the path a real bot runs, so the timed loops and the HTTP load use these instead.
//
// MsgIds are FIXTURE.msgId + n. n < STREAM_START is for one-off checks (n = 0 is FIXTURE.msgId
// itself, what validate.js sends); the streams use STREAM_START + i, so a check never collides
// with a streamed message.
import { buildTextRequest, encrypt, FIXTURE, nowSeconds, sign, textMessageXml } from './requests.js'

const BASE = BigInt(FIXTURE.msgId)
export const STREAM_START = 1000

/** MsgId number n (FIXTURE.msgId + n), as the decimal string WeChat sends. */
export function msgIdAt(n) {
  return String(BASE + BigInt(n))
}

/** The MsgId of the i-th message of a stream. */
export function streamMsgId(i) {
  return msgIdAt(STREAM_START + i)
}

/**
 * For in-process timing: `n` distinct signed requests in the `bot.handle()` shape
 * `{ method, query, headers, body }`, all with one timestamp (built once, outside any timed loop),
 * MsgIds from stream message `start` on. Every contender is given the same array, so they all
 * handle the same messages.
 */
export function requestPool(mode, cfg, n, { timestamp = nowSeconds(), start = 0 } = {}) {
  const pool = new Array(n)
  for (let i = 0; i < n; i++) {
    const r = buildTextRequest(mode, cfg, { msgId: streamMsgId(start + i), timestamp })
    pool[i] = { method: 'POST', query: r.query, headers: {}, body: r.body }
  }
  return pool
}

/**
 * For the HTTP load: a stream of distinct requests that `apply(target, i)` writes into autocannon's
 * request object (`path` and `body`) for the i-th request sent.
 * - plaintext: the MsgId is substituted into a body template per request (cheap, never repeats;
 *   the signature covers only token, timestamp and nonce, so the path never changes);
 * - safe: the body is encrypted and msg_signature covers the ciphertext, so `size` ciphertexts and
 *   their signatures are generated up front and the stream cycles through them (request i gets
 *   entry i % size). Only the ciphertext and the signature are kept per entry; the rest of the
 *   body and of the path come from a template.
 * `distinct` is the number of different requests before the stream repeats (Infinity: never);
 * `bytes` roughly what the pool holds in memory.
 */
export function httpStream(mode, cfg, { size, timestamp = nowSeconds() } = {}) {
  const ts = String(timestamp)
  const probe = buildTextRequest(mode, cfg, { msgId: streamMsgId(0), timestamp: ts })
  const expect = probe.expect
  if (mode === 'plaintext') {
    const marker = `<MsgId>${streamMsgId(0)}</MsgId>`
    const parts = probe.body.split(marker)
    if (parts.length !== 2) throw new Error('plaintext template: MsgId not found exactly once')
    const head = `${parts[0]}<MsgId>`
    const tail = `</MsgId>${parts[1]}`
    const path = probe.path
    return {
      mode,
      expect,
      distinct: Number.POSITIVE_INFINITY,
      bytes: 0,
      apply(target, i) {
        target.path = path
        target.body = head + streamMsgId(i) + tail
      },
    }
  }
  if (mode !== 'safe') throw new Error(`unknown mode ${mode}`)
  const n = Math.max(1, Math.floor(size))
  const enc0 = /<Encrypt><!\[CDATA\[(.*?)\]\]><\/Encrypt>/.exec(probe.body)?.[1]
  const sig0 = probe.query.msg_signature
  const [bodyHead, bodyTail, extra] = probe.body.split(enc0)
  const [pathHead, pathTail, extra2] = probe.path.split(sig0)
  if (bodyTail === undefined || extra !== undefined || pathTail === undefined || extra2 !== undefined)
    throw new Error('safe template: ciphertext or msg_signature not found exactly once')
  const encs = new Array(n)
  const sigs = new Array(n)
  for (let i = 0; i < n; i++) {
    const xml = textMessageXml({
      toUser: FIXTURE.toUser,
      fromUser: FIXTURE.fromUser,
      content: FIXTURE.content,
      createTime: ts,
      msgId: streamMsgId(i),
    })
    const enc = encrypt(xml, cfg, FIXTURE.random)
    encs[i] = enc
    sigs[i] = sign(cfg.token, ts, FIXTURE.nonce, enc)
  }
  const stream = {
    mode,
    expect,
    distinct: n,
    bytes: n * entryBytes(enc0, sig0),
    apply(target, i) {
      const k = i % n
      target.path = pathHead + sigs[k] + pathTail
      target.body = bodyHead + encs[k] + bodyTail
    },
  }
  // the template must rebuild exactly what buildTextRequest builds
  const check = {}
  stream.apply(check, 0)
  if (check.body !== probe.body || check.path !== probe.path)
    throw new Error('safe template does not rebuild the request it was made from')
  return stream
}

/** Memory one safe-mode entry takes, roughly: two one-byte strings, their headers and array slots. */
function entryBytes(enc, sig) {
  return enc.length + sig.length + 48
}

/** The same, for sizing a pool against a memory budget before building it. */
export function safeEntryBytes(cfg) {
  const probe = buildTextRequest('safe', cfg, { msgId: streamMsgId(0) })
  return entryBytes(/<Encrypt><!\[CDATA\[(.*?)\]\]>/.exec(probe.body)[1], probe.query.msg_signature)
}
