import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { str, vectorsOfKind } from '../../test/support/vectors.js'
import { MessageCrypto } from './crypto.js'
import { RequestRejectedError, WempError } from './errors.js'
import { buildMessageXml, type Message } from './messages.js'
import { type OpenedPush, type ProtocolOptions, PushProtocol, type Query, queryParam } from './push.js'
import { type Reply, reply } from './replies.js'
import { computeSignature } from './signature.js'
import { parseXml } from './xml.js'

const TOKEN = 'wempToken123'
const APPID = 'wx0123456789abcdef'
const KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'
const NOW = 1_700_000_000_000
const TS = '1700000000'
const NONCE = '246813579'
const ACCOUNT = 'gh_wempaccount'
const OPENID = 'oWempFollower0000000000000'
const CONTENT = '你好 😀 a]]>b <&>'

const protocol = (options: Partial<ProtocolOptions> = {}) =>
  new PushProtocol({ token: TOKEN, appId: APPID, encodingAESKey: KEY, now: () => NOW, ...options })

function inbound(content = CONTENT): string {
  return buildMessageXml({
    type: 'text',
    toUserName: ACCOUNT,
    fromUserName: OPENID,
    createTime: 1699999999,
    content,
    msgId: '1700827132819554304',
  })
}

interface SignOptions {
  token?: string
  timestamp?: string
  nonce?: string
}

function plainQuery(options: SignOptions = {}): Record<string, string> {
  const timestamp = options.timestamp ?? TS
  const nonce = options.nonce ?? NONCE
  return {
    signature: computeSignature([options.token ?? TOKEN, timestamp, nonce]),
    timestamp,
    nonce,
    openid: OPENID,
  }
}

interface EncryptOptions extends SignOptions {
  mode?: 'safe' | 'compatible'
  appId?: string
  /** The plaintext copy in a compatible-mode body (default: the same XML). */
  plaintextCopy?: string
  /** Replaces the Encrypt text after signing it (tampering). */
  encrypt?: string
}

/** A safe- or compatible-mode request as WeChat sends it: encrypted, msg_signature over Encrypt. */
function encryptedRequest(
  xml: string,
  options: EncryptOptions = {},
): { query: Record<string, string>; body: string } {
  const timestamp = options.timestamp ?? TS
  const nonce = options.nonce ?? NONCE
  const token = options.token ?? TOKEN
  const encrypt = options.encrypt ?? new MessageCrypto(KEY, options.appId ?? APPID).encrypt(xml)
  const query = {
    ...plainQuery(options),
    encrypt_type: 'aes',
    msg_signature: computeSignature([token, timestamp, nonce, encrypt]),
  }
  const body =
    options.mode === 'compatible'
      ? (options.plaintextCopy ?? xml).replace('</xml>', `<Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`)
      : `<xml><ToUserName><![CDATA[${ACCOUNT}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`
  return { query, body }
}

function rejected(fn: () => unknown, status: number, code: string, errcode?: number): RequestRejectedError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  assert.ok(
    caught instanceof RequestRejectedError,
    `expected a RequestRejectedError ${status} ${code}, got ${String(caught)}`,
  )
  assert.equal(caught.status, status)
  assert.equal(caught.code, code)
  if (errcode !== undefined) assert.equal(caught.errcode, errcode)
  return caught
}

function wempError(fn: () => unknown, code: string, errcode?: number): WempError {
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

function textOf(message: Message): string | undefined {
  return message.type === 'text' ? message.content : undefined
}

describe('PushProtocol constructor', () => {
  test('accepts 3-32 letters and digits as the token', () => {
    for (const token of ['abc', 'AAAAA', 'a1B2c3', 'x'.repeat(32)]) assert.ok(new PushProtocol({ token }))
  })

  test('rejects any other token', () => {
    for (const token of ['', 'ab', 'x'.repeat(33), 'has space', 'tok-en', 'tok_en', '中文token', 'token\n']) {
      const error = wempError(() => new PushProtocol({ token }), 'invalid_config')
      assert.match(error.message, /token/)
    }
    wempError(() => new PushProtocol({ token: undefined } as unknown as ProtocolOptions), 'invalid_config')
  })

  test('rejects a malformed encodingAESKey with errcode -40004', () => {
    for (const encodingAESKey of ['short', `${KEY}A`, `${KEY.slice(0, 42)}=`, `${KEY.slice(0, 42)}+`]) {
      wempError(
        () => new PushProtocol({ token: TOKEN, appId: APPID, encodingAESKey }),
        'invalid_config',
        -40004,
      )
    }
  })

  test('rejects an encodingAESKey without appId', () => {
    const error = wempError(() => new PushProtocol({ token: TOKEN, encodingAESKey: KEY }), 'invalid_config')
    assert.match(error.message, /appId/)
    wempError(() => new PushProtocol({ token: TOKEN, appId: '', encodingAESKey: KEY }), 'invalid_config')
  })

  test('rejects requireEncryption without a key', () => {
    const error = wempError(
      () => new PushProtocol({ token: TOKEN, appId: APPID, requireEncryption: true }),
      'invalid_config',
    )
    assert.match(error.message, /requireEncryption/)
  })

  test('exposes the message crypto only when a key is configured', () => {
    assert.equal(protocol().crypto?.receiveId, APPID)
    assert.equal(new PushProtocol({ token: TOKEN }).crypto, undefined)
    assert.equal(new PushProtocol({ token: TOKEN, encodingAESKey: '' }).crypto, undefined)
  })
})

describe('queryParam', () => {
  test('reads a string, the first of a repeated parameter, or undefined', () => {
    const query: Query = { a: 'x', b: ['first', 'second'], c: [], d: undefined }
    assert.equal(queryParam(query, 'a'), 'x')
    assert.equal(queryParam(query, 'b'), 'first')
    assert.equal(queryParam(query, 'c'), undefined)
    assert.equal(queryParam(query, 'd'), undefined)
    assert.equal(queryParam(query, 'missing'), undefined)
  })
})

describe('handshake', () => {
  test('answers a correctly signed GET with echostr', () => {
    assert.equal(
      protocol().handshake({ ...plainQuery(), echostr: '4375120948345356249' }),
      '4375120948345356249',
    )
    // Without a key as well: the handshake never uses encryption.
    assert.equal(new PushProtocol({ token: TOKEN }).handshake({ ...plainQuery(), echostr: 'e' }), 'e')
  })

  test('official-push-get-signature: the official worked example', () => {
    const v = vectorsOfKind('plain_signature').find((x) => x.id === 'official-push-get-signature')
    assert.ok(v)
    const query = Object.fromEntries(new URLSearchParams(str(v.inputs, 'raw_query')))
    const answer = new PushProtocol({ token: str(v.inputs, 'token') }).handshake(query)
    assert.equal(answer, str(v.expected, 'response_body'))
    rejected(() => new PushProtocol({ token: 'BBBBB' }).handshake(query), 401, 'invalid_signature', -40001)
  })

  test('rejects a wrong signature with 401 invalid_signature (-40001)', () => {
    rejected(
      () => protocol().handshake({ ...plainQuery({ token: 'otherToken' }), echostr: 'e' }),
      401,
      'invalid_signature',
      -40001,
    )
    rejected(
      () => protocol().handshake({ ...plainQuery(), nonce: '1', echostr: 'e' }),
      401,
      'invalid_signature',
    )
    rejected(
      () => protocol().handshake({ ...plainQuery(), timestamp: '1', echostr: 'e' }),
      401,
      'invalid_signature',
    )
  })

  test('rejects missing parameters with 401 missing_signature', () => {
    const full = { ...plainQuery(), echostr: 'e' }
    for (const name of ['signature', 'timestamp', 'nonce']) {
      const query = Object.fromEntries(Object.entries(full).filter(([key]) => key !== name))
      assert.equal(Object.keys(query).length, Object.keys(full).length - 1)
      rejected(() => protocol().handshake(query), 401, 'missing_signature', -40001)
      rejected(() => protocol().handshake({ ...full, [name]: '' }), 401, 'missing_signature')
    }
    rejected(() => protocol().handshake({}), 401, 'missing_signature')
  })

  test('rejects a signed handshake without echostr with 400', () => {
    rejected(() => protocol().handshake(plainQuery()), 400, 'invalid_message')
  })

  test('uses the first value of a repeated parameter', () => {
    const good = plainQuery()
    assert.equal(protocol().handshake({ ...good, signature: [good.signature!, 'bad'], echostr: 'e' }), 'e')
    rejected(
      () => protocol().handshake({ ...good, signature: ['bad', good.signature!], echostr: 'e' }),
      401,
      'invalid_signature',
    )
  })

  test('checks the timestamp when maxTimestampSkew is set', () => {
    const p = protocol({ maxTimestampSkew: 60 })
    assert.equal(p.handshake({ ...plainQuery({ timestamp: String(Number(TS) - 60) }), echostr: 'e' }), 'e')
    rejected(
      () => p.handshake({ ...plainQuery({ timestamp: String(Number(TS) - 61) }), echostr: 'e' }),
      401,
      'stale_timestamp',
    )
  })
})

describe('open: plaintext mode', () => {
  test('verifies the signature and parses the message', () => {
    const opened = protocol().open(plainQuery(), inbound())
    assert.equal(opened.mode, 'plaintext')
    assert.equal(opened.nonce, NONCE)
    assert.equal(opened.timestamp, TS)
    const { raw, ...message } = opened.message
    assert.deepEqual(message, {
      type: 'text',
      toUserName: ACCOUNT,
      fromUserName: OPENID,
      createTime: 1699999999,
      content: CONTENT,
      msgId: '1700827132819554304',
    })
    assert.equal(raw.Content, CONTENT)
  })

  test('official-push-plaintext-post-signature: the official worked example', () => {
    const v = vectorsOfKind('plain_signature').find((x) => x.id === 'official-push-plaintext-post-signature')
    assert.ok(v)
    const query = {
      signature: str(v.expected, 'signature'),
      timestamp: str(v.inputs, 'timestamp'),
      nonce: str(v.inputs, 'nonce'),
    }
    const opened = new PushProtocol({ token: str(v.inputs, 'token') }).open(query, inbound('x'))
    assert.equal(opened.mode, 'plaintext')
    assert.equal(textOf(opened.message), 'x')
  })

  test('works with no key configured', () => {
    const opened = new PushProtocol({ token: TOKEN }).open(plainQuery(), inbound('hello'))
    assert.equal(opened.mode, 'plaintext')
    assert.equal(textOf(opened.message), 'hello')
  })

  test('rejects a wrong or missing signature with 401', () => {
    rejected(
      () => protocol().open(plainQuery({ token: 'otherToken' }), inbound()),
      401,
      'invalid_signature',
      -40001,
    )
    rejected(
      () => protocol().open({ timestamp: TS, nonce: NONCE }, inbound()),
      401,
      'missing_signature',
      -40001,
    )
    rejected(() => protocol().open({}, inbound()), 401, 'missing_signature')
  })

  test('rejects a body that is not XML with 400 invalid_xml (-40002)', () => {
    for (const body of ['', 'not xml', '<xml><Content>x</xml>', '<!DOCTYPE x [<!ENTITY e "e">]><xml/>']) {
      rejected(() => protocol().open(plainQuery(), body), 400, 'invalid_xml', -40002)
    }
  })

  test('requireEncryption refuses a plaintext push with 403 — after checking its signature', () => {
    const p = protocol({ requireEncryption: true })
    const error = rejected(() => p.open(plainQuery(), inbound()), 403, 'encryption_required')
    assert.match(error.message, /requireEncryption/)
    rejected(() => p.open(plainQuery({ token: 'otherToken' }), inbound()), 401, 'invalid_signature')
    // An encrypted push is fine.
    const { query, body } = encryptedRequest(inbound())
    assert.equal(p.open(query, body).mode, 'safe')
  })

  test('the mode comes from encrypt_type in the query, not from the configuration', () => {
    const p = protocol()
    assert.equal(p.open(plainQuery(), inbound()).mode, 'plaintext')
    assert.equal(p.open({ ...plainQuery(), encrypt_type: 'raw' }, inbound()).mode, 'plaintext')
    // An <Encrypt> element without encrypt_type=aes is just an unknown element of a plaintext push.
    const { body } = encryptedRequest(inbound('inner'), {
      mode: 'compatible',
      plaintextCopy: inbound('outer'),
    })
    const opened = p.open(plainQuery(), body)
    assert.equal(opened.mode, 'plaintext')
    assert.equal(textOf(opened.message), 'outer')
    assert.equal(typeof opened.message.raw.Encrypt, 'string')
  })
})

describe('open: safe mode', () => {
  test('verifies msg_signature, decrypts and parses', () => {
    const { query, body } = encryptedRequest(inbound())
    const opened = protocol().open(query, body)
    assert.equal(opened.mode, 'safe')
    assert.equal(opened.nonce, NONCE)
    assert.equal(opened.timestamp, TS)
    const { raw, ...message } = opened.message
    assert.deepEqual(message, {
      type: 'text',
      toUserName: ACCOUNT,
      fromUserName: OPENID,
      createTime: 1699999999,
      content: CONTENT,
      msgId: '1700827132819554304',
    })
    assert.equal(raw.Encrypt, undefined, 'raw is the decrypted message')
  })

  test('does not need the plain signature', () => {
    const { query, body } = encryptedRequest(inbound())
    const { signature: _signature, ...withoutSignature } = query
    assert.equal(protocol().open(withoutSignature, body).mode, 'safe')
    assert.equal(protocol().open({ ...query, signature: 'wrong' }, body).mode, 'safe')
  })

  test('wechatpy-decrypt: a real safe-mode body', () => {
    const v = vectorsOfKind('aes_decrypt').find((x) => x.id === 'wechatpy-decrypt')
    assert.ok(v)
    const p = new PushProtocol({
      token: str(v.inputs, 'token'),
      appId: str(v.inputs, 'receiveid'),
      encodingAESKey: str(v.inputs, 'encodingAESKey'),
    })
    const query = {
      timestamp: str(v.inputs, 'timestamp'),
      nonce: str(v.inputs, 'nonce'),
      encrypt_type: 'aes',
      msg_signature: str(v.expected, 'msg_signature'),
    }
    const opened = p.open(query, str(v.inputs, 'post_body'))
    assert.equal(opened.mode, 'safe')
    const { raw, ...message } = opened.message
    assert.deepEqual(message, {
      type: 'text',
      toUserName: 'wx49f0ab532d5d035a',
      fromUserName: 'messense',
      createTime: 1411525903,
      content: 'test',
      msgId: '4363689963896700987',
    })
    assert.equal(raw.AgentID, '1')
  })

  test('rejects a wrong or missing msg_signature with 401', () => {
    const { query, body } = encryptedRequest(inbound())
    rejected(
      () => protocol().open({ ...query, msg_signature: query.signature! }, body),
      401,
      'invalid_signature',
      -40001,
    )
    rejected(() => protocol().open({ ...query, nonce: '1' }, body), 401, 'invalid_signature')
    const other = encryptedRequest(inbound(), { token: 'otherToken' })
    rejected(() => protocol().open(other.query, other.body), 401, 'invalid_signature')
    const { msg_signature: _ms, ...missing } = query
    rejected(() => protocol().open(missing, body), 401, 'missing_signature', -40001)
    rejected(() => protocol().open({ ...query, timestamp: '' }, body), 401, 'missing_signature')
  })

  test('rejects a message encrypted for another AppID with 403 appid_mismatch (-40005)', () => {
    const { query, body } = encryptedRequest(inbound(), { appId: 'wxsomebodyelse00' })
    const error = rejected(() => protocol().open(query, body), 403, 'appid_mismatch', -40005)
    assert.match(error.message, /wxsomebodyelse00/)
  })

  test('rejects tampered ciphertext with 400, even when re-signed', () => {
    const encrypt = new MessageCrypto(KEY, APPID).encrypt(inbound())
    const data = Buffer.from(encrypt, 'base64')
    data[0]! ^= 0x80 // flips the top bit of the length field
    const tampered = encryptedRequest(inbound(), { encrypt: data.toString('base64') })
    rejected(() => protocol().open(tampered.query, tampered.body), 400, 'invalid_buffer', -40008)
    const truncated = encryptedRequest(inbound(), { encrypt: encrypt.slice(0, 10) })
    rejected(() => protocol().open(truncated.query, truncated.body), 400, 'decrypt_failed', -40010)
  })

  test('rejects encrypt_type=aes without <Encrypt>, and an inner message that is not XML, with 400', () => {
    rejected(
      () => protocol().open({ ...plainQuery(), encrypt_type: 'aes', msg_signature: 'x' }, inbound()),
      400,
      'invalid_message',
      -40002,
    )
    const notXml = encryptedRequest('definitely not xml')
    rejected(() => protocol().open(notXml.query, notXml.body), 400, 'invalid_xml', -40002)
    rejected(() => protocol().open(notXml.query, 'garbage'), 400, 'invalid_xml', -40002)
  })

  test('without a key, a safe-mode push is encryption_not_configured (a configuration error, not a 4xx)', () => {
    const { query, body } = encryptedRequest(inbound())
    const p = new PushProtocol({ token: TOKEN })
    const error = wempError(() => p.open(query, body), 'encryption_not_configured')
    assert.ok(!(error instanceof RequestRejectedError))
    assert.match(error.message, /encodingAESKey/)
    // The signature is still checked first.
    rejected(() => p.open({ ...query, msg_signature: 'f'.repeat(40) }, body), 401, 'invalid_signature')
  })
})

describe('open: compatible mode', () => {
  test('an outer body with plaintext fields and Encrypt is compatible mode; the decrypted copy is used', () => {
    const { query, body } = encryptedRequest(inbound('from the ciphertext'), {
      mode: 'compatible',
      plaintextCopy: inbound('from the plaintext copy'),
    })
    const opened = protocol().open(query, body)
    assert.equal(opened.mode, 'compatible')
    assert.equal(textOf(opened.message), 'from the ciphertext')
  })

  test('mp-python-official-decrypt-compat-mode: the official compatible-mode body', () => {
    const v = vectorsOfKind('aes_decrypt').find((x) => x.id === 'mp-python-official-decrypt-compat-mode')
    assert.ok(v)
    const p = new PushProtocol({
      token: str(v.inputs, 'token'),
      appId: str(v.inputs, 'receiveid'),
      encodingAESKey: str(v.inputs, 'encodingAESKey'),
    })
    const query = {
      timestamp: str(v.inputs, 'timestamp'),
      nonce: str(v.inputs, 'nonce'),
      encrypt_type: 'aes',
      msg_signature: str(v.expected, 'msg_signature'),
    }
    const opened = p.open(query, str(v.inputs, 'post_body'))
    assert.equal(opened.mode, 'compatible')
    const { raw, ...message } = opened.message
    assert.deepEqual(message, {
      type: 'text',
      toUserName: 'gh_10f6c3c3ac5a',
      fromUserName: 'oyORnuP8q7ou2gfYjqLzSIWZf0rs',
      createTime: 1409735668,
      content: 'abcdteT',
      msgId: '6054768590064713728',
    })
    assert.equal(raw.Encrypt, undefined)
    // Another AppID cannot read it.
    const wrong = new PushProtocol({
      token: 'spamtest',
      appId: 'wxother',
      encodingAESKey: str(v.inputs, 'encodingAESKey'),
    })
    rejected(() => wrong.open(query, str(v.inputs, 'post_body')), 403, 'appid_mismatch')
  })

  test('rejects a wrong msg_signature with 401', () => {
    const { query, body } = encryptedRequest(inbound(), { mode: 'compatible' })
    rejected(
      () => protocol().open({ ...query, msg_signature: '0'.repeat(40) }, body),
      401,
      'invalid_signature',
    )
  })

  test('without a key: falls back to the plaintext copy after checking `signature`', () => {
    const p = new PushProtocol({ token: TOKEN })
    const { query, body } = encryptedRequest(inbound('inner'), {
      mode: 'compatible',
      plaintextCopy: inbound('outer'),
    })
    const opened = p.open(query, body)
    assert.equal(opened.mode, 'compatible')
    assert.equal(textOf(opened.message), 'outer')
    assert.equal(opened.message.raw.Encrypt, undefined, 'Encrypt is dropped from raw')
    // The plain signature is required and checked ...
    const { signature: _signature, ...withoutSignature } = query
    rejected(() => p.open(withoutSignature, body), 401, 'missing_signature')
    rejected(() => p.open({ ...query, signature: '0'.repeat(40) }, body), 401, 'invalid_signature')
    // ... and so is msg_signature.
    rejected(() => p.open({ ...query, msg_signature: '0'.repeat(40) }, body), 401, 'invalid_signature')
    // The reply goes out in the clear.
    assert.ok(p.seal(reply.text('hi'), opened).startsWith('<xml><ToUserName>'))
  })
})

describe('maxTimestampSkew', () => {
  const at = (seconds: number) => String(Number(TS) + seconds)

  test('accepts timestamps within the window of the injected clock, and rejects others with 401', () => {
    const p = protocol({ maxTimestampSkew: 300 })
    for (const offset of [-300, -1, 0, 1, 300]) {
      assert.equal(p.open(plainQuery({ timestamp: at(offset) }), inbound()).mode, 'plaintext', String(offset))
    }
    for (const offset of [-301, 301, -86400]) {
      const error = rejected(
        () => p.open(plainQuery({ timestamp: at(offset) }), inbound()),
        401,
        'stale_timestamp',
      )
      assert.match(error.message, /300/)
    }
  })

  test('rejects a timestamp that is not a number', () => {
    const p = protocol({ maxTimestampSkew: 300 })
    rejected(() => p.open(plainQuery({ timestamp: 'soon' }), inbound()), 401, 'stale_timestamp')
  })

  test('applies to safe mode, after the signature', () => {
    const p = protocol({ maxTimestampSkew: 10 })
    const fresh = encryptedRequest(inbound(), { timestamp: at(-10) })
    assert.equal(p.open(fresh.query, fresh.body).mode, 'safe')
    const stale = encryptedRequest(inbound(), { timestamp: at(-11) })
    rejected(() => p.open(stale.query, stale.body), 401, 'stale_timestamp')
  })

  test('follows the clock', () => {
    let now = NOW
    const p = protocol({ maxTimestampSkew: 5, now: () => now })
    const query = plainQuery()
    assert.equal(p.open(query, inbound()).mode, 'plaintext')
    now += 6000
    rejected(() => p.open(query, inbound()), 401, 'stale_timestamp')
  })

  test('is off by default: an old timestamp is accepted', () => {
    assert.equal(protocol().open(plainQuery({ timestamp: '1400000000' }), inbound()).mode, 'plaintext')
  })
})

describe('seal', () => {
  const open = (mode: 'plaintext' | 'safe' | 'compatible', p = protocol()): OpenedPush => {
    if (mode === 'plaintext') return p.open(plainQuery(), inbound())
    const { query, body } = encryptedRequest(inbound(), { mode })
    return p.open(query, body)
  }

  test('plaintext: the reply XML with To and From swapped and CreateTime in seconds', () => {
    const p = protocol({ now: () => NOW + 999 })
    const xml = p.seal(reply.text('回复 😀'), open('plaintext', p))
    assert.equal(
      xml,
      `<xml><ToUserName><![CDATA[${OPENID}]]></ToUserName><FromUserName><![CDATA[${ACCOUNT}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[回复 😀]]></Content></xml>`,
    )
  })

  for (const mode of ['safe', 'compatible'] as const) {
    test(`${mode}: the reply is encrypted, signed, and decrypts to the reply XML`, () => {
      const p = protocol({ now: () => NOW + 999 })
      const push = open(mode, p)
      const value: Reply = reply.news([{ title: '标题 ]]>', url: 'https://example.com/?a=1&b=2' }])
      const sealed = p.seal(value, push)
      const envelope = parseXml(sealed)
      assert.deepEqual(Object.keys(envelope), ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce'])
      const encrypt = String(envelope.Encrypt)
      assert.equal(envelope.TimeStamp, '1700000000', 'seconds')
      assert.equal(envelope.Nonce, NONCE, 'the request nonce')
      assert.equal(envelope.MsgSignature, computeSignature([TOKEN, '1700000000', NONCE, encrypt]))
      const decrypted = new MessageCrypto(KEY, APPID).decryptFor(encrypt)
      assert.equal(decrypted.receiveId, APPID)
      const inner = parseXml(decrypted.message)
      assert.equal(inner.ToUserName, OPENID)
      assert.equal(inner.FromUserName, ACCOUNT)
      assert.equal(inner.CreateTime, '1700000000')
      assert.equal(inner.MsgType, 'news')
      assert.equal(decrypted.message.includes('<Title><![CDATA[标题 ]]]]><![CDATA[>]]></Title>'), true)
    })
  }

  test('success is never encrypted', () => {
    for (const mode of ['plaintext', 'safe', 'compatible'] as const) {
      assert.equal(protocol().seal(reply.success(), open(mode)), 'success', mode)
    }
  })

  test('encryptReply signs with the given timestamp and nonce', () => {
    const p = protocol()
    const sealed = parseXml(p.encryptReply('<xml>x</xml>', 'n1', '12345'))
    assert.equal(sealed.TimeStamp, '12345')
    assert.equal(sealed.Nonce, 'n1')
    assert.equal(sealed.MsgSignature, computeSignature([TOKEN, '12345', 'n1', String(sealed.Encrypt)]))
    assert.equal(p.crypto?.decryptFor(String(sealed.Encrypt)).message, '<xml>x</xml>')
    wempError(() => new PushProtocol({ token: TOKEN }).encryptReply('<xml/>', 'n'), 'invalid_config')
  })

  test('a sealed safe-mode reply opens as a safe-mode push would (same envelope rules)', () => {
    const p = protocol()
    const sealed = parseXml(p.seal(reply.text('ping'), open('safe', p)))
    const query = {
      timestamp: String(sealed.TimeStamp),
      nonce: String(sealed.Nonce),
      encrypt_type: 'aes',
      msg_signature: String(sealed.MsgSignature),
    }
    const body = `<xml><Encrypt><![CDATA[${String(sealed.Encrypt)}]]></Encrypt></xml>`
    const reopened = p.open(query, body)
    assert.equal(reopened.mode, 'safe')
    assert.equal(textOf(reopened.message), 'ping')
    assert.equal(reopened.message.toUserName, OPENID)
  })
})
