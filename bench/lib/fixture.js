// Shared fixture + protocol crypto (protocol.md §1–3), on node:crypto only.
// Kept free of heavy imports: bench/servers/raw.js loads it, and its start-up time is measured.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto'

/** Credentials shared by the harness and every server (servers read them from env). */
export const BENCH_CONFIG = Object.freeze({
  token: 'wempbenchtoken',
  appId: 'wx1234567890abcdef',
  // 43 chars of [A-Za-z0-9]; decodes to 32 bytes.
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
})

/** The one text message every contender is asked to echo. Non-ASCII on purpose (msg_len counts bytes). */
export const FIXTURE = Object.freeze({
  toUser: 'gh_0123456789ab',
  fromUser: 'oBenchUser-abcdefghijklmnopqr',
  content: 'hello 你好 wemp',
  msgId: '1234567890123456789',
  nonce: '1514711492',
  openid: 'oBenchUser-abcdefghijklmnopqr',
  echostr: '4375120948345356249',
  // fixed 16-byte random prefix, so a request is deterministic for a given timestamp
  random: 'wempbenchrandom0',
})

export const MODES = Object.freeze(['plaintext', 'safe'])

export function configFromEnv(env = process.env) {
  return {
    token: env.WECHAT_TOKEN || BENCH_CONFIG.token,
    appId: env.WECHAT_APP_ID || BENCH_CONFIG.appId,
    encodingAESKey: env.WECHAT_ENCODING_AES_KEY || BENCH_CONFIG.encodingAESKey,
  }
}

export function serverEnv(port, cfg = BENCH_CONFIG) {
  return {
    PORT: String(port),
    WECHAT_TOKEN: cfg.token,
    WECHAT_APP_ID: cfg.appId,
    WECHAT_ENCODING_AES_KEY: cfg.encodingAESKey,
  }
}

// ---------------------------------------------------------------------------
// crypto primitives (protocol.md §1–3)

/** hex sha1 of the parts sorted by code unit and joined with no separator. */
export function sign(...parts) {
  const sorted = parts.map(String).sort()
  return createHash('sha1').update(sorted.join('')).digest('hex')
}

export function aesKey(encodingAESKey) {
  const key = Buffer.from(`${encodingAESKey}=`, 'base64')
  if (key.length !== 32) throw new Error('EncodingAESKey must decode to 32 bytes')
  return key
}

/** Encrypt a message for `receiveId` → base64. `random` is 16 bytes (string or Buffer). */
export function encrypt(msg, cfg, random = FIXTURE.random) {
  const key = aesKey(cfg.encodingAESKey)
  const rand = Buffer.isBuffer(random) ? random : Buffer.from(random, 'utf8')
  if (rand.length !== 16) throw new Error('random prefix must be 16 bytes')
  const body = Buffer.from(msg, 'utf8')
  const len = Buffer.alloc(4)
  len.writeUInt32BE(body.length, 0)
  const full = Buffer.concat([rand, len, body, Buffer.from(cfg.appId, 'utf8')])
  const n = 32 - (full.length % 32)
  const padded = Buffer.concat([full, Buffer.alloc(n, n)])
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16))
  cipher.setAutoPadding(false)
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64')
}

/** Strict decrypt: returns { msg, receiveId, random } or throws with a reason. */
export function decrypt(b64, cfg) {
  const key = aesKey(cfg.encodingAESKey)
  const data = Buffer.from(b64, 'base64')
  if (data.length === 0 || data.length % 16 !== 0)
    throw new Error(`ciphertext length ${data.length} is not a multiple of 16`)
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16))
  decipher.setAutoPadding(false)
  const plain = Buffer.concat([decipher.update(data), decipher.final()])
  const pad = plain[plain.length - 1]
  if (pad < 1 || pad > 32) throw new Error(`bad PKCS#7 pad byte ${pad}`)
  for (let i = plain.length - pad; i < plain.length; i++) {
    if (plain[i] !== pad) throw new Error('bad PKCS#7 padding bytes')
  }
  const full = plain.subarray(0, plain.length - pad)
  if (full.length < 20) throw new Error('decrypted buffer too short')
  const msgLen = full.readUInt32BE(16)
  if (20 + msgLen > full.length) throw new Error('msg_len exceeds buffer')
  return {
    random: full.subarray(0, 16),
    msg: full.subarray(20, 20 + msgLen).toString('utf8'),
    receiveId: full.subarray(20 + msgLen).toString('utf8'),
  }
}

/** CDATA section for arbitrary text (a `]]>` inside is split across two sections). */
export function cdata(s) {
  return `<![CDATA[${String(s).replaceAll(']]>', ']]]]><![CDATA[>')}]]>`
}
