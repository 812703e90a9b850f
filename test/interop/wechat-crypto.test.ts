import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, test } from 'node:test'
import { MessageCrypto } from '../../src/protocol/crypto.js'
import { RequestRejectedError } from '../../src/protocol/errors.js'
import { buildMessageXml } from '../../src/protocol/messages.js'
import { PushProtocol } from '../../src/protocol/push.js'
import { buildReplyXml, reply } from '../../src/protocol/replies.js'
import { computeSignature } from '../../src/protocol/signature.js'
import { parseXml } from '../../src/protocol/xml.js'
import { optStr, str, vectorsOfKind } from '../support/vectors.js'

/**
 * Interoperability with `wechat-crypto` (node-webot's port of the official WXBizMsgCrypt): what it
 * encrypts and signs, wemp verifies and decrypts, and the other way round.
 */

/** The API of wechat-crypto 0.0.2 (lib/msg_crypto.js; CommonJS, no type declarations). */
interface WXBizMsgCrypt {
  getSignature(timestamp: string, nonce: string, encrypt: string): string
  encrypt(text: string): string
  decrypt(text: string): { message: string; id: string }
}
type WXBizMsgCryptConstructor = new (token: string, encodingAESKey: string, id: string) => WXBizMsgCrypt

const require = createRequire(import.meta.url)
const WechatCrypto: WXBizMsgCryptConstructor = require('wechat-crypto')

// The constants of wechat-crypto's own test config.
const TOKEN = 'RMNlACHlV5ThzfRlVS4D4'
const KEY = 'bAZC8S8nz5fcQ0Ui2HxQVGbC6FzyrzWKSuDbmzpBo3G'
const APPID = 'wx1570bcc0b3cf8bd0'
const NOW = 1_714_112_445_000
const TS = '1714112445'
const NONCE = '415670741'
const ACCOUNT = 'gh_97417a04a28d'
const OPENID = 'o9AgO5Kd5ggOC-bXrbNODIiE3bGY'
const CONTENT = '你好，世界 😀👍🏽 émoji ]]> <&> 中文'

const theirs = () => new WechatCrypto(TOKEN, KEY, APPID)
const ours = () => new MessageCrypto(KEY, APPID)
const protocol = () => new PushProtocol({ token: TOKEN, appId: APPID, encodingAESKey: KEY, now: () => NOW })

function inbound(content = CONTENT): string {
  return buildMessageXml({
    type: 'text',
    toUserName: ACCOUNT,
    fromUserName: OPENID,
    createTime: 1714112440,
    content,
    msgId: '24531234567890123',
  })
}

/** A request signed and encrypted by wechat-crypto, as WeChat would send it. */
function requestFrom(crypto: WXBizMsgCrypt, xml: string, mode: 'safe' | 'compatible') {
  const encrypt = crypto.encrypt(xml)
  const query = {
    signature: computeSignature([TOKEN, TS, NONCE]),
    timestamp: TS,
    nonce: NONCE,
    openid: OPENID,
    encrypt_type: 'aes',
    msg_signature: crypto.getSignature(TS, NONCE, encrypt),
  }
  const body =
    mode === 'safe'
      ? `<xml><ToUserName><![CDATA[${ACCOUNT}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`
      : xml.replace('</xml>', `<Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`)
  return { query, body }
}

const MESSAGES = ['', 'hello', CONTENT, '😀', '中'.repeat(1000), 'x'.repeat(31), 'x'.repeat(32), inbound()]

describe('wechat-crypto → wemp', () => {
  test('what it encrypts, MessageCrypto decrypts (Chinese, emoji, every padding length)', () => {
    for (const message of [...MESSAGES, ...Array.from({ length: 40 }, (_, i) => '文'.repeat(i))]) {
      const result = ours().decryptFor(theirs().encrypt(message))
      assert.equal(result.message, message)
      assert.equal(result.receiveId, APPID)
    }
  })

  test('its getSignature agrees with computeSignature', () => {
    const v = vectorsOfKind('msg_signature').find((x) => x.id === 'wechat-crypto-getsignature')
    assert.ok(v)
    const signer = new WechatCrypto(str(v.inputs, 'token'), KEY, APPID)
    assert.equal(signer.getSignature('timestamp', 'nonce', 'encrypt'), str(v.expected, 'msg_signature'))
    assert.equal(
      computeSignature([str(v.inputs, 'token'), 'timestamp', 'nonce', 'encrypt']),
      str(v.expected, 'msg_signature'),
    )
    // Deterministic pseudo-random inputs, including the base64 alphabet, Chinese and emoji.
    const alphabet = 'ABCxyz0189+/=中文😀_-'
    let seed = 7
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed
    }
    const word = () =>
      Array.from({ length: 1 + (next() % 12) }, () => [...alphabet][next() % [...alphabet].length]).join('')
    for (let i = 0; i < 300; i++) {
      const [timestamp, nonce, encrypt] = [word(), word(), word()]
      assert.equal(
        theirs().getSignature(timestamp, nonce, encrypt),
        computeSignature([TOKEN, timestamp, nonce, encrypt]),
      )
    }
  })

  for (const mode of ['safe', 'compatible'] as const) {
    test(`a ${mode}-mode request it builds opens in PushProtocol`, () => {
      const { query, body } = requestFrom(theirs(), inbound(), mode)
      const opened = protocol().open(query, body)
      assert.equal(opened.mode, mode)
      const { raw, ...message } = opened.message
      assert.deepEqual(message, {
        type: 'text',
        toUserName: ACCOUNT,
        fromUserName: OPENID,
        createTime: 1714112440,
        content: CONTENT,
        msgId: '24531234567890123',
      })
      assert.equal(raw.Content, CONTENT)
    })
  }

  test('a request it encrypts for another AppID is refused with 403', () => {
    const { query, body } = requestFrom(new WechatCrypto(TOKEN, KEY, 'wxanotherapp0000'), inbound(), 'safe')
    let caught: unknown
    try {
      protocol().open(query, body)
    } catch (error) {
      caught = error
    }
    assert.ok(caught instanceof RequestRejectedError)
    assert.equal(caught.status, 403)
    assert.equal(caught.code, 'appid_mismatch')
  })

  test('a request it signs with another token is refused with 401', () => {
    const { query, body } = requestFrom(new WechatCrypto('anotherToken', KEY, APPID), inbound(), 'safe')
    let caught: unknown
    try {
      protocol().open(query, body)
    } catch (error) {
      caught = error
    }
    assert.ok(caught instanceof RequestRejectedError)
    assert.equal(caught.status, 401)
    assert.equal(caught.code, 'invalid_signature')
  })
})

describe('wemp → wechat-crypto', () => {
  test('what MessageCrypto encrypts, it decrypts', () => {
    for (const message of MESSAGES) {
      const result = theirs().decrypt(ours().encrypt(message))
      assert.equal(result.message, message)
      assert.equal(result.id, APPID)
    }
  })

  for (const mode of ['safe', 'compatible'] as const) {
    test(`it verifies and decrypts the reply PushProtocol.seal produces (${mode} mode)`, () => {
      const p = protocol()
      const { query, body } = requestFrom(theirs(), inbound(), mode)
      const push = p.open(query, body)
      const value = reply.text(`回复：${CONTENT}`)
      const envelope = parseXml(p.seal(value, push))
      const encrypt = String(envelope.Encrypt)
      assert.equal(envelope.Nonce, NONCE)
      assert.equal(envelope.TimeStamp, TS)
      assert.equal(
        theirs().getSignature(String(envelope.TimeStamp), String(envelope.Nonce), encrypt),
        envelope.MsgSignature,
      )
      const decrypted = theirs().decrypt(encrypt)
      assert.equal(decrypted.id, APPID)
      assert.equal(
        decrypted.message,
        buildReplyXml(value, { toUserName: OPENID, fromUserName: ACCOUNT, createTime: Number(TS) }),
      )
      const inner = parseXml(decrypted.message)
      assert.equal(inner.Content, `回复：${CONTENT}`)
      assert.equal(inner.ToUserName, OPENID)
      assert.equal(inner.FromUserName, ACCOUNT)
    })
  }
})

describe('wechat-crypto agrees on the known-answer vectors', () => {
  for (const v of vectorsOfKind('aes_decrypt')) {
    test(`decrypt: ${v.id}`, () => {
      const crypto = new WechatCrypto(
        str(v.inputs, 'token'),
        str(v.inputs, 'encodingAESKey'),
        str(v.inputs, 'receiveid'),
      )
      const encrypt = str(v.inputs, 'encrypt')
      assert.equal(
        crypto.getSignature(str(v.inputs, 'timestamp'), str(v.inputs, 'nonce'), encrypt),
        str(v.expected, 'msg_signature'),
      )
      const result = crypto.decrypt(encrypt)
      assert.equal(result.id, str(v.expected, 'receiveid'))
      const mine = new MessageCrypto(str(v.inputs, 'encodingAESKey'), str(v.inputs, 'receiveid')).decryptFor(
        encrypt,
      )
      assert.equal(result.message, mine.message)
      const msg = optStr(v.expected_derived, 'msg') ?? optStr(v.expected, 'msg')
      if (msg !== undefined) assert.equal(result.message, msg)
    })
  }

  for (const v of vectorsOfKind('aes_encrypt')) {
    test(`decrypt the expected ciphertext: ${v.id}`, () => {
      const crypto = new WechatCrypto(
        optStr(v.inputs, 'token') ?? 'token',
        str(v.inputs, 'encodingAESKey'),
        str(v.inputs, 'receiveid'),
      )
      const result = crypto.decrypt(str(v.expected, 'encrypt'))
      assert.equal(result.message, str(v.inputs, 'msg'))
      assert.equal(result.id, str(v.inputs, 'receiveid'))
    })
  }
})
