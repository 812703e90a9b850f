import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { loadVectorFile } from '../../test/support/vectors.js'
import { WempError } from './errors.js'
import {
  type Article,
  buildEncryptedEnvelope,
  buildReplyXml,
  isReply,
  MAX_ARTICLES,
  MAX_ARTICLES_FOR_MESSAGES,
  type Reply,
  type ReplyAddress,
  type ReplyValue,
  reply,
  toReply,
  validateReply,
} from './replies.js'
import { parseXml } from './xml.js'

/** A parsed document with ordinary prototypes, for deepEqual against literals. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) out[key] = plain(child)
  return out
}

const parsed = (xml: string) => plain(parseXml(xml))

function throwsInvalidReply(fn: () => unknown, message?: RegExp): void {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof WempError, `expected invalid_reply, got ${String(caught)}`)
  assert.equal(caught.code, 'invalid_reply')
  if (message) assert.match(caught.message, message)
}

const address: ReplyAddress = { toUserName: 'oFollower', fromUserName: 'gh_account', createTime: 1700000000 }
const head = { ToUserName: 'oFollower', FromUserName: 'gh_account', CreateTime: '1700000000' }

describe('xml_samples: replies', () => {
  const samples = loadVectorFile().xml_samples.filter((s) => s.kind.startsWith('reply:'))
  const doc: ReplyAddress = { toUserName: 'toUser', fromUserName: 'fromUser', createTime: 12345678 }
  const kf: ReplyAddress = { toUserName: 'touser', fromUserName: 'fromuser', createTime: 1399197672 }

  /** The reply (and address) that must build each sample, written out by hand. */
  const expectations: Record<string, [Reply, ReplyAddress]> = {
    'reply-text': [{ type: 'text', content: '你好' }, doc],
    'reply-image': [{ type: 'image', mediaId: 'media_id' }, doc],
    'reply-voice': [{ type: 'voice', mediaId: 'media_id' }, doc],
    'reply-video': [{ type: 'video', mediaId: 'media_id', title: 'title', description: 'description' }, doc],
    'reply-music': [
      {
        type: 'music',
        title: 'TITLE',
        description: 'DESCRIPTION',
        musicUrl: 'MUSIC_Url',
        hqMusicUrl: 'HQ_MUSIC_Url',
        thumbMediaId: 'media_id',
      },
      doc,
    ],
    'reply-news': [
      {
        type: 'news',
        articles: [{ title: 'title1', description: 'description1', picUrl: 'picurl', url: 'url' }],
      },
      doc,
    ],
    'reply-transfer': [{ type: 'transfer_customer_service' }, kf],
    'reply-transfer-kf': [{ type: 'transfer_customer_service', kfAccount: 'test1@test' }, kf],
    'reply-text-cdata-terminator': [{ type: 'text', content: 'a]]>b' }, doc],
    'reply-text-entity-escaped': [{ type: 'text', content: '1 < 2 && a]]>b' }, doc],
  }

  test('11 samples: 10 replies and the safe-mode envelope', () => {
    assert.equal(samples.length, 11)
    assert.deepEqual(
      samples.map((s) => s.id).sort(),
      [...Object.keys(expectations), 'reply-safe-envelope'].sort(),
    )
  })

  for (const sample of samples) {
    test(`${sample.id} (${sample.kind})`, () => {
      if (sample.id === 'reply-safe-envelope') {
        // The official template, byte for byte.
        assert.equal(buildEncryptedEnvelope('msg_encrypt', 'msg_signature', 'timestamp', 'nonce'), sample.xml)
        return
      }
      const expectation = expectations[sample.id]
      assert.ok(expectation, `an expectation for ${sample.id}`)
      const [value, to] = expectation
      validateReply(value, MAX_ARTICLES_FOR_MESSAGES)
      const xml = buildReplyXml(value, to)
      assert.deepEqual(parsed(xml), parsed(sample.xml))
      if (sample.expected_text) {
        for (const [element, text] of Object.entries(sample.expected_text)) {
          assert.equal(parseXml(sample.xml)[element], text)
          assert.equal(parseXml(xml)[element], text)
        }
      }
    })
  }

  test('reply-text-cdata-terminator: the split CDATA is written exactly as in the sample', () => {
    const sample = samples.find((s) => s.id === 'reply-text-cdata-terminator')
    assert.ok(sample)
    assert.deepEqual(sample.expected_text, { Content: 'a]]>b' })
    const xml = buildReplyXml({ type: 'text', content: 'a]]>b' }, address)
    assert.ok(xml.includes('<Content><![CDATA[a]]]]><![CDATA[>b]]></Content>'))
    assert.ok(sample.xml.includes('<Content><![CDATA[a]]]]><![CDATA[>b]]></Content>'))
  })

  test('reply-text-entity-escaped: the entity-escaped form reads to the same text', () => {
    const sample = samples.find((s) => s.id === 'reply-text-entity-escaped')
    assert.ok(sample)
    assert.deepEqual(sample.expected_text, { Content: '1 < 2 && a]]>b' })
    assert.equal(parseXml(sample.xml).Content, '1 < 2 && a]]>b')
  })
})

describe('buildReplyXml', () => {
  test('text', () => {
    const xml = buildReplyXml({ type: 'text', content: '你好\n第二行' }, address)
    assert.equal(
      xml,
      '<xml><ToUserName><![CDATA[oFollower]]></ToUserName><FromUserName><![CDATA[gh_account]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好\n第二行]]></Content></xml>',
    )
    assert.deepEqual(parsed(xml), { ...head, MsgType: 'text', Content: '你好\n第二行' })
  })

  test('image and voice', () => {
    assert.deepEqual(parsed(buildReplyXml(reply.image('m1'), address)), {
      ...head,
      MsgType: 'image',
      Image: { MediaId: 'm1' },
    })
    assert.deepEqual(parsed(buildReplyXml(reply.voice('m2'), address)), {
      ...head,
      MsgType: 'voice',
      Voice: { MediaId: 'm2' },
    })
  })

  test('video, with and without the optional title and description', () => {
    assert.deepEqual(
      parsed(buildReplyXml(reply.video({ mediaId: 'v', title: 't', description: 'd' }), address)),
      {
        ...head,
        MsgType: 'video',
        Video: { MediaId: 'v', Title: 't', Description: 'd' },
      },
    )
    assert.deepEqual(parsed(buildReplyXml(reply.video({ mediaId: 'v' }), address)), {
      ...head,
      MsgType: 'video',
      Video: { MediaId: 'v' },
    })
  })

  test('music, with every field and with the thumbnail only', () => {
    const full = reply.music({
      thumbMediaId: 'th',
      title: 't',
      description: 'd',
      musicUrl: 'u',
      hqMusicUrl: 'hq',
    })
    assert.deepEqual(parsed(buildReplyXml(full, address)), {
      ...head,
      MsgType: 'music',
      Music: { Title: 't', Description: 'd', MusicUrl: 'u', HQMusicUrl: 'hq', ThumbMediaId: 'th' },
    })
    assert.deepEqual(parsed(buildReplyXml(reply.music({ thumbMediaId: 'th' }), address)), {
      ...head,
      MsgType: 'music',
      Music: { ThumbMediaId: 'th' },
    })
  })

  test('news: ArticleCount equals the items, in order, optional fields left out', () => {
    const articles: Article[] = [
      { title: 'one', description: 'd1', picUrl: 'p1', url: 'u1' },
      { title: 'two' },
      { title: 'three', url: 'u3' },
    ]
    assert.deepEqual(parsed(buildReplyXml(reply.news(articles), address)), {
      ...head,
      MsgType: 'news',
      ArticleCount: '3',
      Articles: {
        item: [
          { Title: 'one', Description: 'd1', PicUrl: 'p1', Url: 'u1' },
          { Title: 'two' },
          { Title: 'three', Url: 'u3' },
        ],
      },
    })
    assert.deepEqual(parsed(buildReplyXml(reply.news({ title: 'solo' }), address)), {
      ...head,
      MsgType: 'news',
      ArticleCount: '1',
      Articles: { item: { Title: 'solo' } },
    })
  })

  test('transfer_customer_service, to anyone and to one agent', () => {
    assert.deepEqual(parsed(buildReplyXml(reply.transferToCustomerService(), address)), {
      ...head,
      MsgType: 'transfer_customer_service',
    })
    assert.deepEqual(parsed(buildReplyXml(reply.transferToCustomerService('kf2001@gh'), address)), {
      ...head,
      MsgType: 'transfer_customer_service',
      TransInfo: { KfAccount: 'kf2001@gh' },
    })
  })

  test('success is the bare text success', () => {
    assert.equal(buildReplyXml(reply.success(), address), 'success')
    assert.equal(buildReplyXml({ type: 'success' }, address), 'success')
  })

  test('CreateTime is whole seconds', () => {
    const xml = buildReplyXml(reply.text('x'), { ...address, createTime: 1700000000.987 })
    assert.equal(parseXml(xml).CreateTime, '1700000000')
  })

  test('splits ]]> across CDATA sections in every string field', () => {
    const nasty = (name: string) => `${name}]]>a]]]]>b<![CDATA[c]]>&amp;<x/>]]>`
    const to: ReplyAddress = { toUserName: nasty('to'), fromUserName: nasty('from'), createTime: 1 }
    const cases: Array<[Reply, unknown]> = [
      [{ type: 'text', content: nasty('content') }, { Content: nasty('content') }],
      [{ type: 'image', mediaId: nasty('m') }, { Image: { MediaId: nasty('m') } }],
      [{ type: 'voice', mediaId: nasty('m') }, { Voice: { MediaId: nasty('m') } }],
      [
        { type: 'video', mediaId: nasty('m'), title: nasty('t'), description: nasty('d') },
        { Video: { MediaId: nasty('m'), Title: nasty('t'), Description: nasty('d') } },
      ],
      [
        {
          type: 'music',
          thumbMediaId: nasty('th'),
          title: nasty('t'),
          description: nasty('d'),
          musicUrl: nasty('u'),
          hqMusicUrl: nasty('hq'),
        },
        {
          Music: {
            Title: nasty('t'),
            Description: nasty('d'),
            MusicUrl: nasty('u'),
            HQMusicUrl: nasty('hq'),
            ThumbMediaId: nasty('th'),
          },
        },
      ],
      [
        {
          type: 'news',
          articles: [{ title: nasty('t'), description: nasty('d'), picUrl: nasty('p'), url: nasty('u') }],
        },
        {
          ArticleCount: '1',
          Articles: {
            item: { Title: nasty('t'), Description: nasty('d'), PicUrl: nasty('p'), Url: nasty('u') },
          },
        },
      ],
      [
        { type: 'transfer_customer_service', kfAccount: nasty('kf') },
        { TransInfo: { KfAccount: nasty('kf') } },
      ],
    ]
    for (const [value, body] of cases) {
      const xml = buildReplyXml(value, to)
      assert.ok(xml.includes(']]]]><![CDATA[>'))
      assert.deepEqual(parsed(xml), {
        ToUserName: nasty('to'),
        FromUserName: nasty('from'),
        CreateTime: '1',
        MsgType: value.type,
        ...(body as object),
      })
    }
  })
})

describe('buildEncryptedEnvelope', () => {
  test('lays out the official template', () => {
    assert.equal(
      buildEncryptedEnvelope('ENC+/=', 'abc123', '1700000000', '42'),
      '<xml>\n<Encrypt><![CDATA[ENC+/=]]></Encrypt>\n<MsgSignature><![CDATA[abc123]]></MsgSignature>\n<TimeStamp>1700000000</TimeStamp>\n<Nonce><![CDATA[42]]></Nonce>\n</xml>',
    )
  })

  test('parses back to the four values, even with a hostile nonce', () => {
    assert.deepEqual(parsed(buildEncryptedEnvelope('E', 'S', '1', 'n]]>x')), {
      Encrypt: 'E',
      MsgSignature: 'S',
      TimeStamp: '1',
      Nonce: 'n]]>x',
    })
  })
})

describe('toReply', () => {
  test('a string is a text reply', () => {
    assert.deepEqual(toReply('hello'), { type: 'text', content: 'hello' })
    assert.deepEqual(toReply(' '), { type: 'text', content: ' ' })
  })

  test("'' and null mean success; undefined means not handled", () => {
    assert.deepEqual(toReply(''), { type: 'success' })
    assert.deepEqual(toReply(null), { type: 'success' })
    assert.equal(toReply(undefined), undefined)
    assert.equal(toReply(''), reply.success())
  })

  test('an article or an array of articles is a news reply', () => {
    const a: Article = { title: 'a', url: 'https://a' }
    const b: Article = { title: 'b' }
    assert.deepEqual(toReply(a), { type: 'news', articles: [a] })
    assert.deepEqual(toReply([a, b]), { type: 'news', articles: [a, b] })
  })

  test('a reply object is returned as is', () => {
    for (const value of [
      reply.text('x'),
      reply.image('m'),
      reply.voice('m'),
      reply.video({ mediaId: 'm' }),
      reply.music({ thumbMediaId: 't' }),
      reply.news({ title: 'n' }),
      reply.transferToCustomerService(),
      reply.success(),
    ]) {
      assert.equal(toReply(value), value)
    }
  })

  test('anything else is invalid_reply', () => {
    const bad: unknown[] = [
      0,
      42,
      true,
      false,
      {},
      [],
      [{}],
      [{ title: 'ok' }, 'no'],
      [{ title: 1 }],
      { type: 'bogus' },
      { type: 'bogus', title: 1 },
      Symbol('x'),
      () => 'x',
      new Date(0),
    ]
    for (const value of bad) throwsInvalidReply(() => toReply(value as ReplyValue), /not a reply/)
  })

  test('a malformed reply object passes through toReply; validateReply catches it', () => {
    const malformed = { type: 'text' } as unknown as Reply
    assert.equal(toReply(malformed), malformed)
    throwsInvalidReply(() => validateReply(malformed, MAX_ARTICLES), /content must be a string/)
  })
})

describe('isReply', () => {
  test('recognises reply objects by type, not articles or other values', () => {
    assert.equal(isReply(reply.text('x')), true)
    assert.equal(isReply({ type: 'success' }), true)
    assert.equal(isReply({ type: 'transfer_customer_service' }), true)
    assert.equal(isReply({ title: 'article' }), false)
    assert.equal(isReply({ type: 'link' }), false)
    assert.equal(isReply('text'), false)
    assert.equal(isReply(null), false)
  })
})

describe('validateReply', () => {
  const articles = (n: number): Article[] => Array.from({ length: n }, (_, i) => ({ title: `t${i}` }))

  test('the limits are 1 article for replies to messages and 8 otherwise', () => {
    assert.equal(MAX_ARTICLES_FOR_MESSAGES, 1)
    assert.equal(MAX_ARTICLES, 8)
  })

  test('news: 1 article passes the message limit, 2 fail with a clear message', () => {
    validateReply(reply.news(articles(1)), MAX_ARTICLES_FOR_MESSAGES)
    throwsInvalidReply(
      () => validateReply(reply.news(articles(2)), MAX_ARTICLES_FOR_MESSAGES),
      /2 articles, but WeChat shows at most 1 in a reply to a message a follower sent \(up to 8 in replies to events\); send the others through the customer-service API/,
    )
  })

  test('news: 8 articles pass the event limit, 9 fail', () => {
    validateReply(reply.news(articles(8)), MAX_ARTICLES)
    throwsInvalidReply(
      () => validateReply(reply.news(articles(9)), MAX_ARTICLES),
      /9 articles, but WeChat shows at most 8 in one news reply/,
    )
  })

  test('news: no articles, or an article without a title, fail', () => {
    throwsInvalidReply(
      () => validateReply({ type: 'news', articles: [] }, MAX_ARTICLES),
      /at least one article/,
    )
    throwsInvalidReply(
      () =>
        validateReply(
          { type: 'news', articles: [{ title: 'ok' }, { url: 'x' } as unknown as Article] },
          MAX_ARTICLES,
        ),
      /every article needs a title/,
    )
    throwsInvalidReply(
      () => validateReply({ type: 'news', articles: 'x' } as unknown as Reply, MAX_ARTICLES),
      /at least one article/,
    )
  })

  test('media replies need a media id; text needs string content', () => {
    throwsInvalidReply(
      () => validateReply(reply.image(''), MAX_ARTICLES),
      /invalid image reply: mediaId is required/,
    )
    throwsInvalidReply(() => validateReply(reply.voice(''), MAX_ARTICLES), /invalid voice reply/)
    throwsInvalidReply(
      () => validateReply({ type: 'video' } as unknown as Reply, MAX_ARTICLES),
      /mediaId is required/,
    )
    throwsInvalidReply(
      () => validateReply(reply.music({ thumbMediaId: '' }), MAX_ARTICLES),
      /thumbMediaId is required/,
    )
    throwsInvalidReply(
      () => validateReply({ type: 'text' } as unknown as Reply, MAX_ARTICLES),
      /content must be a string/,
    )
  })

  test('valid replies pass', () => {
    for (const value of [
      reply.text(''),
      reply.image('m'),
      reply.voice('m'),
      reply.video({ mediaId: 'm' }),
      reply.music({ thumbMediaId: 't' }),
      reply.transferToCustomerService('kf'),
      reply.success(),
    ]) {
      assert.equal(validateReply(value, MAX_ARTICLES_FOR_MESSAGES), undefined)
    }
  })
})

describe('reply builders', () => {
  test('build the reply objects', () => {
    assert.deepEqual(reply.text('x'), { type: 'text', content: 'x' })
    assert.deepEqual(reply.video({ mediaId: 'm', title: 't' }), { type: 'video', mediaId: 'm', title: 't' })
    assert.deepEqual(reply.news({ title: 'a' }), { type: 'news', articles: [{ title: 'a' }] })
    assert.deepEqual(reply.transferToCustomerService(), { type: 'transfer_customer_service' })
    assert.ok(!('kfAccount' in reply.transferToCustomerService()))
    assert.deepEqual(reply.transferToCustomerService('kf'), {
      type: 'transfer_customer_service',
      kfAccount: 'kf',
    })
    assert.deepEqual(reply.success(), { type: 'success' })
    assert.ok(Object.isFrozen(reply.success()))
  })
})
