import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MessageCrypto } from '../protocol/crypto.js'
import { parseMessage } from '../protocol/messages.js'
import { buildEncryptedEnvelope } from '../protocol/replies.js'
import { computeSignature } from '../protocol/signature.js'
import { parseXml } from '../protocol/xml.js'
import { assertValidReply, createTestKit } from './index.js'

const secrets = {
  token: 'kittest',
  appId: 'wx9999888877776666',
  encodingAESKey: 'kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR',
}
const now = () => 1_700_000_000_000
const kit = createTestKit({ ...secrets, now })
const ok = (xml: string) => ({ status: 200, headers: {}, body: xml })
const head = (to = kit.openid, from = kit.accountId, time = '1700000000') =>
  `<xml><ToUserName><![CDATA[${to}]]></ToUserName><FromUserName><![CDATA[${from}]]></FromUserName><CreateTime>${time}</CreateTime>`

describe('test kit: requests', () => {
  test('builds signed requests a WeChat peer would send, in every mode', () => {
    const plain = kit.request(kit.text('hi'), { timestamp: '1700000000', nonce: '42' })
    assert.equal(plain.query.signature, computeSignature([secrets.token, '1700000000', '42']))
    assert.equal(plain.query.encrypt_type, undefined)
    assert.equal(parseMessage(parseXml(plain.body)).type, 'text')

    const safe = kit.request(kit.text('hi'), { mode: 'safe', timestamp: '1700000000', nonce: '42' })
    const outer = parseXml(safe.body)
    assert.deepEqual(Object.keys(outer), ['ToUserName', 'Encrypt'])
    const encrypt = outer.Encrypt as string
    assert.equal(safe.query.msg_signature, computeSignature([secrets.token, '1700000000', '42', encrypt]))
    const inner = new MessageCrypto(secrets.encodingAESKey, secrets.appId).decryptFor(encrypt)
    assert.equal(inner.message, safe.plainBody)

    const compatible = kit.request(kit.text('hi'), { mode: 'compatible' })
    const both = parseXml(compatible.body)
    assert.equal(both.Content, 'hi')
    assert.ok(typeof both.Encrypt === 'string' && both.Encrypt.length > 0)
  })

  test('message ids are 64-bit strings and unique', () => {
    const a = kit.nextMsgId()
    const b = kit.nextMsgId()
    assert.notEqual(a, b)
    assert.ok(BigInt(a) > 2n ** 53n)
  })
})

describe('test kit: checking replies against WeChat rules', () => {
  const request = kit.request(kit.text('hi'))
  const safeRequest = kit.request(kit.text('hi'), { mode: 'safe' })
  const eventRequest = kit.request(kit.click('K'))

  test('a correct reply has no violations', () => {
    const res = kit.open(
      ok(`${head()}<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ok]]></Content></xml>`),
      request,
    )
    assert.deepEqual(res.violations, [])
    assert.deepEqual(res.reply, { type: 'text', content: 'ok' })
    assertValidReply(res)
  })

  test('milliseconds, unswapped ids, empty content, bad article counts and limits are caught', () => {
    const cases: [string, typeof request, RegExp][] = [
      [
        `${head(kit.openid, kit.accountId, '1700000000000')}<MsgType>text</MsgType><Content>x</Content></xml>`,
        request,
        /unix seconds/,
      ],
      [
        `${head(kit.accountId, kit.openid)}<MsgType>text</MsgType><Content>x</Content></xml>`,
        request,
        /ToUserName must be the follower/,
      ],
      [`${head()}<MsgType>text</MsgType><Content></Content></xml>`, request, /empty Content/],
      [
        `${head()}<MsgType>news</MsgType><ArticleCount>2</ArticleCount><Articles><item><Title>a</Title></item></Articles></xml>`,
        eventRequest,
        /ArticleCount 2 but 1/,
      ],
      [
        `${head()}<MsgType>news</MsgType><ArticleCount>2</ArticleCount><Articles><item><Title>a</Title></item><item><Title>b</Title></item></Articles></xml>`,
        request,
        /at most 1/,
      ],
      [`${head()}<MsgType>image</MsgType><Image></Image></xml>`, request, /MediaId is required/],
      [`${head()}<MsgType>weird</MsgType></xml>`, request, /unknown reply MsgType/],
      [`${head()}<MsgType>text</MsgType><Content>x</Content></xml>`, safeRequest, /must be encrypted/],
      ['{"json": true}', request, /not XML/],
    ]
    for (const [body, req, pattern] of cases) {
      const res = kit.open(ok(body), req)
      assert.ok(
        res.violations.some((v) => pattern.test(v)),
        `${pattern} not in ${JSON.stringify(res.violations)}`,
      )
      assert.throws(() => assertValidReply(res), /breaks WeChat's rules/)
    }
    assert.match(kit.open({ status: 500, headers: {}, body: 'x' }, request).violations[0] ?? '', /status 500/)
  })

  test('encrypted replies: a bad signature or the wrong AppID is caught; success stays plain', () => {
    const xml = `${head()}<MsgType>text</MsgType><Content>x</Content></xml>`
    const right = new MessageCrypto(secrets.encodingAESKey, secrets.appId).encrypt(xml)
    const good = buildEncryptedEnvelope(
      right,
      computeSignature([secrets.token, '1700000000', '1', right]),
      '1700000000',
      '1',
    )
    assert.deepEqual(kit.open(ok(good), safeRequest).violations, [])
    const forged = buildEncryptedEnvelope(
      right,
      computeSignature(['other', '1700000000', '1', right]),
      '1700000000',
      '1',
    )
    assert.ok(kit.open(ok(forged), safeRequest).violations.includes('MsgSignature does not verify'))
    const wrongApp = new MessageCrypto(secrets.encodingAESKey, 'wxOther').encrypt(xml)
    const other = buildEncryptedEnvelope(
      wrongApp,
      computeSignature([secrets.token, '1700000000', '1', wrongApp]),
      '1700000000',
      '1',
    )
    assert.ok(kit.open(ok(other), safeRequest).violations.some((v) => v.includes('encrypted for wxOther')))
    assert.ok(kit.open(ok(good), request).violations.some((v) => v.includes('must not be encrypted')))
    assert.deepEqual(kit.open(ok('success'), safeRequest).reply, { type: 'success' })
    assert.deepEqual(kit.open(ok(''), safeRequest).violations, [])
  })
})
