import assert from 'node:assert/strict'
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { describe, test } from 'node:test'
import { optNum, optStr, optStrings, str, vectorsOfKind } from '../../test/support/vectors.js'
import { MessageCrypto } from './crypto.js'
import { WempError } from './errors.js'
import { buildEncryptedEnvelope } from './replies.js'
import { computeSignature, verifyMsgSignature } from './signature.js'
import { parseXml } from './xml.js'

/** Asserts that `fn` throws a WempError with this code (and errcode, when given). */
function throwsWemp(fn: () => unknown, code: string, errcode?: number): WempError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof WempError, `expected a WempError ${code}, got ${String(caught)}`)
  assert.equal(caught.code, code)
  if (errcode !== undefined) assert.equal(caught.errcode, errcode)
  return caught
}

const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'
const APPID = 'wxb11529c136998cb6'

function aesKey(encodingAESKey: string): Buffer {
  return Buffer.from(`${encodingAESKey}=`, 'base64')
}

/** AES-256-CBC over raw bytes (a multiple of 16), no padding added: to craft malformed plaintexts. */
function rawEncrypt(encodingAESKey: string, plain: Buffer): string {
  const key = aesKey(encodingAESKey)
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16))
  cipher.setAutoPadding(false)
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64')
}

/** Decrypts to the raw padded plaintext, independently of MessageCrypto. */
function rawDecrypt(encodingAESKey: string, encrypt: string): Buffer {
  const key = aesKey(encodingAESKey)
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16))
  decipher.setAutoPadding(false)
  return Buffer.concat([decipher.update(Buffer.from(encrypt, 'base64')), decipher.final()])
}

/** random(16) ‖ uint32_be(len) ‖ msg ‖ receiveid, unpadded. */
function fullStr(random: Buffer, message: Buffer, receiveId: string): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(message.length)
  return Buffer.concat([random, length, message, Buffer.from(receiveId)])
}

function pkcs7(plain: Buffer, pad = 32 - (plain.length % 32)): Buffer {
  return Buffer.concat([plain, Buffer.alloc(pad, pad)])
}

describe('aes_encrypt vectors', () => {
  const vectors = vectorsOfKind('aes_encrypt')
  test('there are 5', () => assert.equal(vectors.length, 5))

  for (const v of vectors) {
    test(v.id, () => {
      const receiveId = str(v.inputs, 'receiveid')
      const crypto = new MessageCrypto(str(v.inputs, 'encodingAESKey'), receiveId)
      const msg = str(v.inputs, 'msg')
      const random = Buffer.from(str(v.inputs, 'random_utf8'), 'utf8')
      assert.equal(random.length, 16)
      const encrypt = crypto.encrypt(msg, random)
      assert.equal(encrypt, str(v.expected, 'encrypt'))

      const fullstrLen = optNum(v.expected, 'fullstr_len')
      if (fullstrLen !== undefined) {
        assert.equal(20 + Buffer.byteLength(msg) + Buffer.byteLength(receiveId), fullstrLen)
      }
      const tmpmsgLen = optNum(v.expected, 'tmpmsg_len')
      if (tmpmsgLen !== undefined) assert.equal(Buffer.from(encrypt, 'base64').length, tmpmsgLen)

      const msgSignature = optStr(v.expected, 'msg_signature')
      if (msgSignature !== undefined) {
        const token = str(v.inputs, 'token')
        const timestamp = str(v.inputs, 'timestamp')
        const nonce = str(v.inputs, 'nonce')
        assert.equal(computeSignature([token, timestamp, nonce, encrypt]), msgSignature)
        assert.equal(verifyMsgSignature(token, timestamp, nonce, encrypt, msgSignature), true)
        const sorted = optStrings(v.expected, 'sorted')
        if (sorted) assert.deepEqual([token, timestamp, nonce, encrypt].sort(), sorted)
      }

      // And back.
      const decrypted = crypto.decryptFor(encrypt)
      assert.equal(decrypted.message, msg)
      assert.equal(decrypted.receiveId, receiveId)
      assert.deepEqual(Buffer.from(decrypted.random), random)
    })
  }
})

describe('aes_decrypt vectors', () => {
  const vectors = vectorsOfKind('aes_decrypt')
  test('there are 11', () => assert.equal(vectors.length, 11))

  for (const v of vectors) {
    test(v.id, () => {
      const token = str(v.inputs, 'token')
      const timestamp = str(v.inputs, 'timestamp')
      const nonce = str(v.inputs, 'nonce')
      const encrypt = str(v.inputs, 'encrypt')
      const encodingAESKey = str(v.inputs, 'encodingAESKey')
      const receiveId = str(v.expected, 'receiveid')
      assert.equal(receiveId, str(v.inputs, 'receiveid'))

      // The POST body's <Encrypt> is the ciphertext, where the vector gives the body.
      const postBody = optStr(v.inputs, 'post_body')
      if (postBody !== undefined) assert.equal(parseXml(postBody).Encrypt, encrypt)
      // WeCom URL verification: echostr is URL-encoded in the query; decoded, it is the ciphertext.
      const rawQuery = optStr(v.inputs, 'raw_query')
      if (rawQuery !== undefined) {
        const query = new URLSearchParams(rawQuery)
        assert.equal(query.get('echostr'), encrypt)
        assert.equal(query.get('msg_signature'), str(v.expected, 'msg_signature'))
      }

      const msgSignature = str(v.expected, 'msg_signature')
      assert.equal(computeSignature([token, timestamp, nonce, encrypt]), msgSignature)
      assert.equal(verifyMsgSignature(token, timestamp, nonce, encrypt, msgSignature), true)

      const crypto = new MessageCrypto(encodingAESKey, receiveId)
      const result = crypto.decryptFor(encrypt)
      assert.equal(result.receiveId, receiveId)
      assert.deepEqual(result, crypto.decrypt(encrypt))

      const msg = optStr(v.expected_derived, 'msg') ?? optStr(v.expected, 'msg')
      const contains = optStrings(v.expected, 'msg_contains')
      assert.ok(msg !== undefined || contains !== undefined, 'the vector states the message')
      if (msg !== undefined) assert.equal(result.message, msg)
      for (const fragment of contains ?? []) assert.ok(result.message.includes(fragment), fragment)

      const msgLen = optNum(v.expected, 'msg_len') ?? optNum(v.expected_derived, 'msg_len')
      if (msgLen !== undefined) assert.equal(Buffer.byteLength(result.message), msgLen)
      const random = optStr(v.expected, 'random_utf8') ?? optStr(v.expected_derived, 'random_utf8')
      if (random !== undefined) assert.equal(Buffer.from(result.random).toString('utf8'), random)
      const tmpmsgLen = optNum(v.expected, 'tmpmsg_len')
      if (tmpmsgLen !== undefined) assert.equal(Buffer.from(encrypt, 'base64').length, tmpmsgLen)
      const fullstrLen = optNum(v.expected, 'fullstr_len')
      if (fullstrLen !== undefined) {
        const padded = rawDecrypt(encodingAESKey, encrypt)
        assert.equal(padded.length - padded[padded.length - 1]!, fullstrLen)
        assert.equal(20 + Buffer.byteLength(result.message) + Buffer.byteLength(result.receiveId), fullstrLen)
      }

      // Negative: another receive id is refused with -40005 ...
      const wrong = new MessageCrypto(encodingAESKey, `${receiveId}x`)
      const error = throwsWemp(() => wrong.decryptFor(encrypt), 'appid_mismatch', -40005)
      assert.match(error.message, new RegExp(receiveId))
      // ... and a changed nonce or timestamp breaks the signature.
      assert.equal(verifyMsgSignature(token, timestamp, `${nonce}1`, encrypt, msgSignature), false)
      assert.equal(verifyMsgSignature(token, `${Number(timestamp) + 1}`, nonce, encrypt, msgSignature), false)

      // The vector's own negative case.
      const negative = v.negative
      if (negative !== undefined) {
        const badReceiveId = optStr(negative, 'receiveid')
        if (badReceiveId !== undefined) {
          throwsWemp(
            () => new MessageCrypto(encodingAESKey, badReceiveId).decryptFor(encrypt),
            'appid_mismatch',
            -40005,
          )
        }
        const badNonce = optStr(negative, 'nonce')
        if (badNonce !== undefined) {
          assert.equal(negative.must_not_match, true)
          assert.notEqual(computeSignature([token, timestamp, badNonce, encrypt]), msgSignature)
          assert.equal(verifyMsgSignature(token, timestamp, badNonce, encrypt, msgSignature), false)
        }
        assert.ok(badReceiveId !== undefined || badNonce !== undefined, 'the negative case is tested')
      }
    })
  }

  test('pad bytes greater than 16 (up to 32) are accepted, as WeChat pads to 32-byte blocks', () => {
    // wecom-official-decrypt-qdg6ek pads with 30 bytes: a 16-byte PKCS#7 unpadder would refuse it.
    const v = vectorsOfKind('aes_decrypt').find((x) => x.id === 'wecom-official-decrypt-qdg6ek')
    assert.ok(v)
    const padded = rawDecrypt(str(v.inputs, 'encodingAESKey'), str(v.inputs, 'encrypt'))
    assert.equal(padded[padded.length - 1], 30)
    const result = new MessageCrypto(str(v.inputs, 'encodingAESKey'), 'wx5823bf96d3bd56c7').decryptFor(
      str(v.inputs, 'encrypt'),
    )
    assert.match(result.message, /<AgentID>218<\/AgentID>/)
  })
})

describe('encrypted_reply_xml vectors', () => {
  const vectors = vectorsOfKind('encrypted_reply_xml')
  test('there is 1', () => assert.equal(vectors.length, 1))

  for (const v of vectors) {
    test(v.id, () => {
      const crypto = new MessageCrypto(str(v.inputs, 'encodingAESKey'), str(v.inputs, 'receiveid'))
      const timestamp = str(v.inputs, 'timestamp')
      const nonce = str(v.inputs, 'nonce')
      const encrypt = crypto.encrypt(str(v.inputs, 'msg'), Buffer.from(str(v.inputs, 'random_utf8')))
      const signature = computeSignature([str(v.inputs, 'token'), timestamp, nonce, encrypt])
      assert.equal(signature, str(v.expected, 'msg_signature'))
      const xml = buildEncryptedEnvelope(encrypt, signature, timestamp, nonce)
      assert.equal(xml, str(v.expected, 'xml'))
      // The envelope is the vector's template, filled in.
      const template = str(v.inputs, 'xml_template')
      assert.equal(
        xml,
        template
          .replace('{encrypt}', encrypt)
          .replace('{signature}', signature)
          .replace('{timestamp}', timestamp)
          .replace('{nonce}', nonce),
      )
      const parsed = parseXml(xml)
      assert.equal(crypto.decryptFor(String(parsed.Encrypt)).message, str(v.inputs, 'msg'))
    })
  }
})

describe('MessageCrypto', () => {
  test('rejects an EncodingAESKey that is not 43 letters and digits, with errcode -40004', () => {
    for (const bad of [
      '',
      KEY.slice(0, 42),
      `${KEY}A`,
      `${KEY.slice(0, 42)}+`,
      `${KEY.slice(0, 42)}/`,
      `${KEY.slice(0, 42)}=`,
      `${KEY.slice(0, 42)} `,
      `${KEY.slice(0, 42)}中`,
    ]) {
      const error = throwsWemp(() => new MessageCrypto(bad, APPID), 'invalid_config', -40004)
      assert.match(error.message, /encodingAESKey/)
    }
  })

  test('derives the key and IV from the EncodingAESKey like the official samples', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    assert.equal(crypto.receiveId, APPID)
    const random = Buffer.from('0123456789abcdef')
    const message = Buffer.from('<xml>你好</xml>')
    const expected = rawEncrypt(KEY, pkcs7(fullStr(random, message, APPID)))
    assert.equal(crypto.encrypt(message.toString(), random), expected)
  })

  test('pads to 32-byte blocks: a full block of 32 when the plaintext already fits', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    const random = Buffer.alloc(16, 1)
    // 20 + 26 + 18 = 64: already a multiple of 32, so 32 bytes of 0x20 are added.
    const message = 'x'.repeat(26)
    const encrypt = crypto.encrypt(message, random)
    const padded = rawDecrypt(KEY, encrypt)
    assert.equal(padded.length, 96)
    assert.deepEqual(padded.subarray(64), Buffer.alloc(32, 32))
    // 20 + 27 + 18 = 65: 31 bytes of 0x1f.
    const padded2 = rawDecrypt(KEY, crypto.encrypt('x'.repeat(27), random))
    assert.equal(padded2.length, 96)
    assert.deepEqual(padded2.subarray(65), Buffer.alloc(31, 31))
    assert.equal(crypto.decryptFor(encrypt).message, message)
  })

  test('encrypts with a fresh random prefix each time; both decrypt', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    const a = crypto.encrypt('same')
    const b = crypto.encrypt('same')
    assert.notEqual(a, b)
    const da = crypto.decryptFor(a)
    const db = crypto.decryptFor(b)
    assert.equal(da.message, 'same')
    assert.equal(db.message, 'same')
    assert.equal(da.random.length, 16)
    assert.notDeepEqual(Buffer.from(da.random), Buffer.from(db.random))
  })

  test('round-trips empty, multi-byte, emoji and large messages', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    for (const message of [
      '',
      '中文',
      '😀👍🏽 emoji',
      '\u0000\u001d控制',
      'x'.repeat(100_000),
      '长'.repeat(50_000),
    ]) {
      const result = crypto.decryptFor(crypto.encrypt(message))
      assert.equal(result.message, message)
      assert.equal(result.receiveId, APPID)
    }
  })

  test('supports an empty or non-ASCII receive id', () => {
    for (const receiveId of ['', 'ww中文corp']) {
      const crypto = new MessageCrypto(KEY, receiveId)
      const result = crypto.decryptFor(crypto.encrypt('hello'))
      assert.equal(result.message, 'hello')
      assert.equal(result.receiveId, receiveId)
    }
  })

  test('refuses a random prefix that is not 16 bytes', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    throwsWemp(() => crypto.encrypt('x', Buffer.alloc(15)), 'invalid_config')
    throwsWemp(() => crypto.encrypt('x', Buffer.alloc(17)), 'invalid_config')
  })

  test('decrypt does not check the receive id; decryptFor does (-40005)', () => {
    const other = new MessageCrypto(KEY, 'wxother')
    const encrypt = other.encrypt('hi')
    const crypto = new MessageCrypto(KEY, APPID)
    assert.equal(crypto.decrypt(encrypt).receiveId, 'wxother')
    const error = throwsWemp(() => crypto.decryptFor(encrypt), 'appid_mismatch', -40005)
    assert.match(error.message, /wxother/)
  })

  test('rejects text that is not base64 of whole AES blocks (-40010)', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    const valid = crypto.encrypt('hello')
    // (Node's base64 decoder stops at '=', so the signature, not the decoder, guards trailing text.)
    for (const bad of ['', '!!!!', 'AAAA', valid.slice(0, -4), `${valid.replace(/=+$/, '')}AAAA`]) {
      throwsWemp(() => crypto.decrypt(bad), 'decrypt_failed', -40010)
    }
  })

  test('rejects a malformed decrypted buffer (-40008)', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    const random = Buffer.alloc(16, 7)
    const body = fullStr(random, Buffer.from('hello'), APPID) // 43 bytes
    const cases: Array<[string, Buffer]> = [
      ['pad byte 0', Buffer.concat([body, Buffer.alloc(21, 0)])],
      ['pad byte 33', Buffer.concat([body.subarray(0, 31), Buffer.alloc(33, 33)])],
      ['inconsistent pad bytes', Buffer.concat([body, Buffer.from([20]), Buffer.alloc(20, 21)])],
      ['too short for the header', pkcs7(Buffer.alloc(19, 1))],
      [
        'message length exceeds the buffer',
        pkcs7(Buffer.concat([random, Buffer.from([0, 0, 1, 0]), Buffer.from('short')])),
      ],
    ]
    for (const [what, plain] of cases) {
      assert.equal(plain.length % 16, 0, what)
      throwsWemp(() => crypto.decrypt(rawEncrypt(KEY, plain)), 'invalid_buffer', -40008)
    }
  })

  test('accepts a 16-byte pad (any pad of 1..32 bytes, as the official samples do)', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    const body = fullStr(Buffer.alloc(16, 7), Buffer.from('hello!'), APPID) // 44 bytes
    const plain = Buffer.concat([body, Buffer.alloc(4, 4)])
    assert.equal(crypto.decryptFor(rawEncrypt(KEY, plain)).message, 'hello!')
  })

  test('rejects tampered ciphertext and the wrong key', () => {
    const crypto = new MessageCrypto(KEY, APPID)
    const encrypt = crypto.encrypt('<xml><Content>hi</Content></xml>', Buffer.alloc(16, 9))
    // Flipping the top bit of the first ciphertext byte flips the top bit of the length field.
    const data = Buffer.from(encrypt, 'base64')
    data[0]! ^= 0x80
    const error = throwsWemp(() => crypto.decrypt(data.toString('base64')), 'invalid_buffer', -40008)
    assert.match(error.message, /length/)
    // Changing the last block breaks the padding.
    const tail = Buffer.from(encrypt, 'base64')
    tail[tail.length - 1]! ^= 0x01
    throwsWemp(() => crypto.decrypt(tail.toString('base64')), 'invalid_buffer', -40008)
    // Another key reads garbage.
    const other = new MessageCrypto('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', APPID)
    throwsWemp(() => other.decryptFor(encrypt), 'invalid_buffer', -40008)
  })
})
