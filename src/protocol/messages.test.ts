import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { loadVectorFile, str, vectorsOfKind } from '../../test/support/vectors.js'
import { MessageCrypto } from './crypto.js'
import { WempError } from './errors.js'
import type { Field, Shape } from './fields.js'
import {
  buildMessageXml,
  describeMessageTable,
  eventTable,
  isUserMessage,
  type Message,
  type MessageInput,
  messageTable,
  parseMessage,
} from './messages.js'
import { parseXml } from './xml.js'

/** Parses a push and drops `raw`, for deepEqual against the expected typed message. */
function typed(xml: string): Record<string, unknown> {
  const { raw, ...rest } = parseMessage(parseXml(xml))
  assert.equal(typeof raw, 'object')
  return rest
}

const header = (toUserName: string, fromUserName: string, createTime: number) => ({
  toUserName,
  fromUserName,
  createTime,
})
const msg = (type: string, head: ReturnType<typeof header>, fields: Record<string, unknown>) => ({
  type,
  ...head,
  ...fields,
})
const ev = (event: string, head: ReturnType<typeof header>, fields: Record<string, unknown> = {}) => ({
  type: 'event',
  event,
  ...head,
  ...fields,
})

const doc = header('toUser', 'fromUser', 1348831860)
const docEvent = header('toUser', 'FromUser', 123456789)
const menu = (time: number) => header('gh_e136c6e50636', 'oMgHVjngRipVsoxg6TuX3vz6glDg', time)
const template = header('gh_7f083739789a', 'oia2TjuEGTNoeX76QEjQNrcURxG8', 1395658920)
const subscribeMsg = (time: number) => header('gh_123456789abc', 'otFpruAK8D-E6EfStSYonYSBZ8_4', time)
const kf = header('touser', 'fromuser', 1399197672)
const verify = (time: number) => header('toUser', 'fromUser', time)
const publish = header('gh_4d00ed8d6399', 'oV5CrjpxgaGXNHIQigzNlgLTnwic', 1481013459)
const TEMPLATE_1 = 'VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc'
const TEMPLATE_2 = '9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI'
const fromArticle = { msgDataId: 'xxxx', idx: 'xxxx' }

/** The typed message (minus raw) every inbound and event sample must parse to, written out by hand. */
const expectedSamples: Record<string, Record<string, unknown>> = {
  'in-text': msg('text', doc, { content: 'this is a test', msgId: '1234567890123456', ...fromArticle }),
  'in-text-menu': msg('text', header('gh_123456789abc', 'oUserOpenId', 1500000000), {
    content: '满意',
    msgId: '1234567890123456',
    bizMsgMenuId: '101',
  }),
  'in-image': msg('image', doc, {
    picUrl: 'this is a url',
    mediaId: 'media_id',
    msgId: '1234567890123456',
    ...fromArticle,
  }),
  'in-voice': msg('voice', header('toUser', 'fromUser', 1357290913), {
    mediaId: 'media_id',
    format: 'Format',
    mediaId16K: 'media_id_16k',
    msgId: '1234567890123456',
    ...fromArticle,
  }),
  'in-video': msg('video', header('toUser', 'fromUser', 1357290913), {
    mediaId: 'media_id',
    thumbMediaId: 'thumb_media_id',
    msgId: '1234567890123456',
  }),
  'in-shortvideo': msg('shortvideo', header('toUser', 'fromUser', 1357290913), {
    mediaId: 'media_id',
    thumbMediaId: 'thumb_media_id',
    msgId: '1234567890123456',
  }),
  'in-location': msg('location', header('toUser', 'fromUser', 1351776360), {
    latitude: 23.134521,
    longitude: 113.358803,
    scale: 20,
    label: '位置信息',
    msgId: '1234567890123456',
  }),
  'in-link': msg('link', header('toUser', 'fromUser', 1351776360), {
    title: '公众平台官网链接',
    description: '公众平台官网链接',
    url: 'url',
    msgId: '1234567890123456',
  }),
  // No EventKey: no eventKey and no scene.
  'ev-subscribe': ev('subscribe', docEvent),
  'ev-subscribe-qrscene': ev('subscribe', docEvent, {
    eventKey: 'qrscene_123123',
    ticket: 'TICKET',
    scene: '123123',
  }),
  'ev-unsubscribe': ev('unsubscribe', docEvent),
  'ev-scan': ev('SCAN', docEvent, { eventKey: 'SCENE_VALUE', ticket: 'TICKET', scene: 'SCENE_VALUE' }),
  'ev-location': ev('LOCATION', header('toUser', 'fromUser', 123456789), {
    latitude: 23.137466,
    longitude: 113.352425,
    precision: 119.38504,
  }),
  'ev-click': ev('CLICK', docEvent, { eventKey: 'EVENTKEY' }),
  'ev-view': ev('VIEW', docEvent, { eventKey: 'www.qq.com', menuId: 'MENUID' }),
  'ev-scancode_push': ev('scancode_push', menu(1408090502), {
    eventKey: '6',
    scanCodeInfo: { scanType: 'qrcode', scanResult: '1' },
  }),
  'ev-scancode_waitmsg': ev('scancode_waitmsg', menu(1408090606), {
    eventKey: '6',
    scanCodeInfo: { scanType: 'qrcode', scanResult: '2' },
  }),
  // One <item>: still an array.
  'ev-pic_sysphoto': ev('pic_sysphoto', menu(1408090651), {
    eventKey: '6',
    sendPicsInfo: { count: 1, picList: [{ picMd5Sum: '1b5f7c23b5bf75682a53e7b6d163e185' }] },
  }),
  'ev-pic_photo_or_album': ev('pic_photo_or_album', menu(1408090816), {
    eventKey: '6',
    sendPicsInfo: { count: 1, picList: [{ picMd5Sum: '5a75aaca956d97be686719218f275c6b' }] },
  }),
  'ev-pic_weixin': ev('pic_weixin', menu(1408090816), {
    eventKey: '6',
    sendPicsInfo: { count: 1, picList: [{ picMd5Sum: '5a75aaca956d97be686719218f275c6b' }] },
  }),
  // Numbers in CDATA; the label's leading space is kept.
  'ev-location_select': ev('location_select', menu(1408091189), {
    eventKey: '6',
    sendLocationInfo: {
      latitude: 23,
      longitude: 113,
      scale: 15,
      label: ' 广州市海珠区客村艺苑路 106号',
      poiname: '',
    },
  }),
  'ev-view_miniprogram': ev('view_miniprogram', docEvent, {
    eventKey: 'pages/index/index',
    menuId: 'MENUID',
  }),
  'ev-TEMPLATESENDJOBFINISH-success': ev('TEMPLATESENDJOBFINISH', template, {
    msgId: '200163836',
    status: 'success',
  }),
  'ev-TEMPLATESENDJOBFINISH-faileduser_block': ev('TEMPLATESENDJOBFINISH', template, {
    msgId: '200163836',
    status: 'failed:user block',
  }),
  'ev-TEMPLATESENDJOBFINISH-failed_system_failed': ev('TEMPLATESENDJOBFINISH', template, {
    msgId: '200163836',
    status: 'failed: system failed',
  }),
  'ev-MASSSENDJOBFINISH': ev('MASSSENDJOBFINISH', publish, {
    msgId: '1000001625',
    status: 'err(30003)',
    totalCount: 0,
    filterCount: 0,
    sentCount: 0,
    errorCount: 0,
    copyrightCheckResult: {
      count: 2,
      resultList: [1, 2].map((n) => ({
        articleIdx: n,
        userDeclareState: 0,
        auditState: 2,
        originalArticleUrl: `Url_${n}`,
        originalArticleType: 1,
        canReprint: 1,
        needReplaceContent: 1,
        needShowReprintSource: 1,
      })),
      checkState: 2,
    },
    articleUrlResult: { count: 1, resultList: [{ articleIdx: 1, articleUrl: 'Url' }] },
  }),
  'ev-subscribe_msg_popup_event': ev('subscribe_msg_popup_event', subscribeMsg(1610969440), {
    subscribeMsgPopupEvent: [
      { templateId: TEMPLATE_1, subscribeStatusString: 'accept', popupScene: '2' },
      { templateId: TEMPLATE_2, subscribeStatusString: 'reject', popupScene: '2' },
    ],
  }),
  'ev-subscribe_msg_change_event': ev('subscribe_msg_change_event', subscribeMsg(1610969440), {
    subscribeMsgChangeEvent: [{ templateId: TEMPLATE_1, subscribeStatusString: 'reject' }],
  }),
  // A 64-bit MsgID above 2^53, kept exactly.
  'ev-subscribe_msg_sent_event': ev('subscribe_msg_sent_event', subscribeMsg(1610969468), {
    subscribeMsgSentEvent: [
      { templateId: TEMPLATE_1, msgId: '1700827132819554304', errorCode: 0, errorStatus: 'success' },
    ],
  }),
  'ev-kf_create_session': ev('kf_create_session', kf, { kfAccount: 'test1@test' }),
  'ev-kf_close_session': ev('kf_close_session', kf, { kfAccount: 'test1@test' }),
  'ev-kf_switch_session': ev('kf_switch_session', kf, {
    fromKfAccount: 'test1@test',
    toKfAccount: 'test2@test',
  }),
  'ev-qualification_verify_success': ev('qualification_verify_success', verify(1442401156), {
    expiredTime: 1442401156,
  }),
  'ev-qualification_verify_fail': ev('qualification_verify_fail', verify(1442401156), {
    failTime: 1442401122,
    failReason: 'by time',
  }),
  'ev-naming_verify_success': ev('naming_verify_success', verify(1442401093), { expiredTime: 1442401093 }),
  'ev-naming_verify_fail': ev('naming_verify_fail', verify(1442401061), {
    failTime: 1442401061,
    failReason: 'by time',
  }),
  'ev-annual_renew': ev('annual_renew', verify(1442401004), { expiredTime: 1442401004 }),
  'ev-verify_expired': ev('verify_expired', verify(1442400900), { expiredTime: 1442400900 }),
  'ev-PUBLISHJOBFINISH-success': ev('PUBLISHJOBFINISH', publish, {
    publishEventInfo: {
      publishId: '2247503051',
      publishStatus: 0,
      articleId: 'b5O2OUs25HBxRceL7hfReg-U9QGeq9zQjiDvyWP4Hq4',
      articleDetail: { count: 1, item: [{ idx: 1, articleUrl: 'ARTICLE_URL' }] },
      failIdx: [],
    },
  }),
  'ev-PUBLISHJOBFINISH-fail': ev('PUBLISHJOBFINISH', publish, {
    publishEventInfo: { publishId: '2247503051', publishStatus: 2, failIdx: [1, 2] },
  }),
  'ev-user_authorize_invoice': ev(
    'user_authorize_invoice',
    header('gh_fc0a06a20993', 'oZI8Fj040-be6rlDohc6gkoPOQTQ', 1533091211),
    { succOrderId: '1202933957956', failOrderId: '', authorizeAppId: 'wxc0b84a53ed8e8d29', source: 'web' },
  ),
  'ev-card_not_pass_check': ev('card_not_pass_check', header('toUser', 'FromUser', 1442401156), {
    cardId: 'cardid',
    refuseReason: '非法代制',
  }),
  // The safe-mode envelope has no MsgType: an unknown push with its Encrypt in raw.
  'in-safe-envelope': { type: 'unknown', msgType: '', ...header('gh_10f6c3c3ac5a', '', 0) },
  // A C0 control character, forbidden by XML 1.0, is kept.
  'inbound-control-char': msg('text', header('gh_x', 'oUser', 1551481349), {
    content: ' \u001dc',
    msgId: '22211872600753510',
  }),
}

describe('xml_samples: inbound messages and events', () => {
  const samples = loadVectorFile().xml_samples.filter((s) => /^(inbound|event):/.test(s.kind))

  test('44 samples, each with an expectation here', () => {
    assert.equal(samples.length, 44)
    assert.deepEqual(samples.map((s) => s.id).sort(), Object.keys(expectedSamples).sort())
  })

  test('every sample is inbound:*, event:* or reply:* (the reply samples are in replies.test.ts)', () => {
    for (const s of loadVectorFile().xml_samples) assert.match(s.kind, /^(inbound|event|reply):/, s.id)
  })

  for (const sample of samples) {
    test(`${sample.id} (${sample.kind})`, () => {
      const expected = expectedSamples[sample.id]
      assert.ok(expected, `an expectation for ${sample.id}`)
      const message = parseMessage(parseXml(sample.xml))
      const { raw, ...rest } = message
      assert.deepEqual(rest, expected)
      // The kind names the type or event.
      const kind = /^(inbound|event):([A-Za-z_]+)/.exec(sample.kind)
      assert.ok(kind)
      if (sample.id === 'in-safe-envelope') {
        assert.equal(raw.Encrypt, 'BASE64_CIPHERTEXT')
      } else if (kind[1] === 'event') {
        assert.equal(message.type, 'event')
        assert.equal(message.type === 'event' && message.event, kind[2])
      } else {
        assert.equal(message.type, kind[2])
      }
      // raw holds the elements as sent.
      assert.equal(raw.ToUserName, message.toUserName)
      assert.equal(raw.MsgType, message.type === 'unknown' ? undefined : message.type)
    })
  }

  test('inbound-control-char is not well-formed XML 1.0, and is read leniently', () => {
    const sample = loadVectorFile().xml_samples.find((s) => s.id === 'inbound-control-char')
    assert.ok(sample)
    assert.equal(sample.expect_wellformed, false)
    const message = parseMessage(parseXml(sample.xml))
    assert.equal(message.type === 'text' && message.content, ' \u001dc')
    assert.equal(message.type === 'text' && message.content.charCodeAt(1), 0x1d)
  })
})

describe('parseMessage', () => {
  const text = (extra: string) =>
    `<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content>${extra}</xml>`

  test('ignores unknown elements in the typed message and keeps them in raw', () => {
    const message = parseMessage(
      parseXml(
        text(
          '<MsgId>1</MsgId><AgentID>218</AgentID><URL><![CDATA[http://x]]></URL><Nested><A>1</A></Nested>',
        ),
      ),
    )
    const { raw, ...rest } = message
    assert.deepEqual(rest, {
      type: 'text',
      toUserName: 'gh_x',
      fromUserName: 'oUser',
      createTime: 1700000000,
      content: 'hi',
      msgId: '1',
    })
    assert.equal(raw.AgentID, '218')
    assert.equal(raw.URL, 'http://x')
  })

  test('keeps a 64-bit MsgId as the exact string', () => {
    const message = parseMessage(parseXml(text('<MsgId>1700827132819554304</MsgId>')))
    assert.equal(message.type === 'text' && message.msgId, '1700827132819554304')
    assert.notEqual(String(Number('1700827132819554304')), '1700827132819554304', 'a number would round it')
    // Whitespace around an id is trimmed.
    const spaced = parseMessage(parseXml(text('<MsgId>\n 18446744073709551615 \n</MsgId>')))
    assert.equal(spaced.type === 'text' && spaced.msgId, '18446744073709551615')
  })

  test('MsgId (messages) and MsgID (job events) are different elements', () => {
    const wrongCase = parseMessage(parseXml(text('<MsgID>5</MsgID>')))
    assert.equal(wrongCase.type === 'text' && wrongCase.msgId, '', 'a text message reads MsgId only')
    const job = parseMessage(
      parseXml(
        '<xml><MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><MsgId>5</MsgId><MsgID>6</MsgID><Status>success</Status></xml>',
      ),
    )
    assert.equal(job.type === 'event' && job.event === 'TEMPLATESENDJOBFINISH' && job.msgId, '6')
  })

  test('reads required elements WeChat left out as empty values, and leaves optional ones out', () => {
    const { raw, ...rest } = parseMessage(parseXml('<xml><MsgType>location</MsgType></xml>'))
    assert.deepEqual(rest, {
      type: 'location',
      toUserName: '',
      fromUserName: '',
      createTime: 0,
      latitude: 0,
      longitude: 0,
      scale: 0,
      label: '',
      msgId: '',
    })
    assert.deepEqual(Object.keys(raw), ['MsgType'])
    const pics = typed('<xml><MsgType>event</MsgType><Event>pic_weixin</Event></xml>')
    assert.deepEqual(pics.sendPicsInfo, { count: 0, picList: [] })
  })

  test('reads numbers from text or CDATA, trimmed; a bad CreateTime is 0', () => {
    const m = typed(
      '<xml><CreateTime> 1700000000 </CreateTime><MsgType>location</MsgType><Location_X><![CDATA[ -33.5 ]]></Location_X><Location_Y>1e2</Location_Y><Scale></Scale></xml>',
    )
    assert.equal(m.createTime, 1700000000)
    assert.equal(m.latitude, -33.5)
    assert.equal(m.longitude, 100)
    assert.equal(m.scale, 0)
    assert.equal(typed('<xml><CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>').createTime, 0)
  })

  test('matches event names case-insensitively and reports WeChat’s spelling from the table', () => {
    assert.equal(
      typed('<xml><MsgType>event</MsgType><Event>click</Event><EventKey>k</EventKey></xml>').event,
      'CLICK',
    )
    assert.equal(typed('<xml><MsgType>event</MsgType><Event>SUBSCRIBE</Event></xml>').event, 'subscribe')
    assert.equal(
      typed('<xml><MsgType>event</MsgType><Event>Scan</Event><EventKey>7</EventKey></xml>').scene,
      '7',
    )
  })

  test('message types are case-sensitive: an unknown MsgType or Event becomes type unknown', () => {
    assert.deepEqual(
      typed('<xml><ToUserName>gh</ToUserName><MsgType>TEXT</MsgType><Content>x</Content></xml>'),
      {
        type: 'unknown',
        msgType: 'TEXT',
        toUserName: 'gh',
        fromUserName: '',
        createTime: 0,
      },
    )
    assert.deepEqual(
      typed('<xml><MsgType>event</MsgType><Event>debug_demo</Event><debug_str>x</debug_str></xml>'),
      {
        type: 'unknown',
        msgType: 'event',
        event: 'debug_demo',
        toUserName: '',
        fromUserName: '',
        createTime: 0,
      },
    )
    assert.equal(typed('<xml/>').type, 'unknown')
  })

  test('reads a repeated element that should be single as its first value', () => {
    const m = typed('<xml><MsgType>text</MsgType><Content>a</Content><Content>b</Content></xml>')
    assert.equal(m.content, 'a')
  })

  test('isUserMessage is true for messages a follower sent, false for events and unknown pushes', () => {
    const of = (xml: string): Message => parseMessage(parseXml(xml))
    for (const type of Object.keys(messageTable))
      assert.equal(isUserMessage(of(`<xml><MsgType>${type}</MsgType></xml>`)), true, type)
    assert.equal(isUserMessage(of('<xml><MsgType>event</MsgType><Event>CLICK</Event></xml>')), false)
    assert.equal(isUserMessage(of('<xml><MsgType>event</MsgType><Event>nope</Event></xml>')), false)
    assert.equal(isUserMessage(of('<xml><MsgType>nope</MsgType></xml>')), false)
  })
})

describe('decrypted vector plaintexts parse', () => {
  const decrypted = (id: string): string => {
    const v = vectorsOfKind('aes_decrypt').find((x) => x.id === id)
    assert.ok(v, id)
    return new MessageCrypto(str(v.inputs, 'encodingAESKey'), str(v.inputs, 'receiveid')).decryptFor(
      str(v.inputs, 'encrypt'),
    ).message
  }

  test('wecom-sbzhu-decrypt: plain text without CDATA; AgentID is ignored', () => {
    assert.deepEqual(typed(decrypted('wecom-sbzhu-decrypt')), {
      type: 'text',
      toUserName: 'ww1436e0e65a779aee',
      fromUserName: 'ChenJiaShun',
      createTime: 1476422779,
      content: '你好',
      msgId: '1456453720',
    })
  })

  test('easywechat-decrypt: the non-standard <URL> element is ignored', () => {
    const xml = decrypted('easywechat-decrypt')
    assert.match(xml, /<URL>/)
    assert.deepEqual(typed(xml), {
      type: 'text',
      toUserName: 'asdasdasd',
      fromUserName: 'asdasdasdsadasd',
      createTime: 1234567898,
      content: 'hello',
      msgId: '12345',
    })
  })

  test('mp-cpp-official-decrypt: LF between elements', () => {
    assert.deepEqual(typed(decrypted('mp-cpp-official-decrypt')), {
      type: 'text',
      toUserName: 'gh_10f6c3c3ac5a',
      fromUserName: 'oyORnuP8q7ou2gfYjqLzSIWZf0rs',
      createTime: 1410349438,
      content: 'abcdteT',
      msgId: '6057404712141979648',
    })
  })

  test('official-3rdparty-msg-signature-decrypt: an event wemp does not know', () => {
    const { raw, ...rest } = parseMessage(parseXml(decrypted('official-3rdparty-msg-signature-decrypt')))
    assert.deepEqual(rest, {
      type: 'unknown',
      msgType: 'event',
      event: 'debug_demo',
      toUserName: 'gh_97417a04a28d',
      fromUserName: 'o9AgO5Kd5ggOC-bXrbNODIiE3bGY',
      createTime: 1715943329,
    })
    assert.equal(raw.debug_str, 'hello world')
  })
})

// ── round trip: buildMessageXml → parseXml → parseMessage for every type in the tables ──────────────

type AnyField = Field<unknown, boolean>

/** Sample values by the codec's type name; `n` makes them distinct. */
function scalar(type: string, n: number): unknown {
  switch (type) {
    case 'string':
      // CDATA terminators, markup, entities, non-BMP, surrounding white space and a control character.
      return [` v${n} `, `a]]>b${n}`, `<x>&amp;${n}</x>`, `中文😀${n}`, `line\nbreak${n}\u001d`][n % 5]
    case 'number':
      return [n, -n - 0.5, n * 1000 + 0.125, 0, 2 ** 40 + n][n % 5]
    case 'string (64-bit id)':
      return (18446744073709551615n - BigInt(n)).toString()
    default:
      assert.fail(`no sample value for type ${type}`)
  }
}

interface Variant {
  /** Include optional fields. */
  optional: boolean
  /** Items in each list. */
  items: number
}

function sampleField(field: AnyField, variant: Variant, counter: { n: number }): unknown {
  if (field.xml === '') return undefined // derived: never written
  if (field.codec !== undefined) {
    if (field.codec.shape !== undefined) return sampleShape(field.codec.shape, variant, counter)
    return scalar(field.codec.type, counter.n++)
  }
  // A list or a repeated element.
  assert.ok(field.type.endsWith('[]'), `${field.xml} is a list`)
  const shape = field.shape
  return Array.from({ length: variant.items }, () =>
    shape === undefined ? scalar(field.type.slice(0, -2), counter.n++) : sampleShape(shape, variant, counter),
  )
}

function sampleShape(shape: Shape, variant: Variant, counter: { n: number }): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [property, field] of Object.entries(shape)) {
    if (field.optional && !variant.optional) continue
    const value = sampleField(field, variant, counter)
    if (value !== undefined) out[property] = value
  }
  return out
}

/** What the derived fields read to, written out by hand (so that a new derived field fails here until added). */
const derivedExpectations: Record<string, (input: Record<string, unknown>) => Record<string, unknown>> = {
  'event:subscribe': (input) =>
    typeof input.eventKey === 'string' && input.eventKey.startsWith('qrscene_')
      ? { scene: input.eventKey.slice(8) }
      : {},
  'event:SCAN': (input) => ({ scene: input.eventKey }),
}

const variants: Array<[string, Variant]> = [
  ['every field, two list items', { optional: true, items: 2 }],
  ['required fields, one list item', { optional: false, items: 1 }],
  ['required fields, empty lists', { optional: false, items: 0 }],
]

const kinds: Array<[string, Shape, Record<string, unknown>]> = [
  ...Object.entries(messageTable).map(([type, shape]): [string, Shape, Record<string, unknown>] => [
    type,
    shape,
    { type },
  ]),
  ...Object.entries(eventTable).map(([event, shape]): [string, Shape, Record<string, unknown>] => [
    `event:${event}`,
    shape,
    { type: 'event', event },
  ]),
]

describe('round trip: buildMessageXml → parseXml → parseMessage', () => {
  test('covers 9 message types and every event', () => {
    assert.equal(Object.keys(messageTable).length, 9)
    assert.equal(kinds.length, Object.keys(messageTable).length + Object.keys(eventTable).length)
    assert.equal(Object.keys(eventTable).length, 47)
  })

  test('the only derived fields are the ones with a hand-written expectation', () => {
    const withDerived = kinds
      .filter(([, shape]) => Object.values(shape).some((field) => field.xml === ''))
      .map(([kind]) => kind)
    assert.deepEqual(withDerived.sort(), Object.keys(derivedExpectations).sort())
  })

  for (const [kind, shape, discriminant] of kinds) {
    test(kind, () => {
      for (const [name, variant] of variants) {
        const counter = { n: 1 }
        const input: Record<string, unknown> = {
          ...discriminant,
          toUserName: 'gh_ac]]>count',
          fromUserName: 'oUser 中文',
          createTime: 1700000000 + counter.n,
          ...sampleShape(shape, variant, counter),
        }
        if (kind === 'event:subscribe' && variant.optional) input.eventKey = 'qrscene_scene]]>42'
        const xml = buildMessageXml(input as unknown as MessageInput)
        const message = parseMessage(parseXml(xml))
        const { raw, ...rest } = message
        const expected = { ...input, ...derivedExpectations[kind]?.(input) }
        assert.deepEqual(rest, expected, `${kind}: ${name}\n${xml}`)
        assert.equal(raw.MsgType, discriminant.type)
        // Every property of the table was exercised in the full variant.
        if (variant.optional) {
          for (const [property, field] of Object.entries(shape)) {
            if (field.xml !== '' || property in expected)
              assert.ok(property in rest, `${kind}.${property} present`)
          }
        }
      }
    })
  }

  test('subscribe via a parametric QR code: scene is EventKey without qrscene_', () => {
    const xml = buildMessageXml({
      type: 'event',
      event: 'subscribe',
      toUserName: 'gh',
      fromUserName: 'o',
      createTime: 1,
      eventKey: 'qrscene_abc',
      ticket: 'T',
    })
    assert.deepEqual(typed(xml), {
      type: 'event',
      event: 'subscribe',
      toUserName: 'gh',
      fromUserName: 'o',
      createTime: 1,
      eventKey: 'qrscene_abc',
      ticket: 'T',
      scene: 'abc',
    })
  })

  test('unknown messages and events', () => {
    const unknownType = buildMessageXml({
      type: 'unknown',
      msgType: 'mystery',
      toUserName: 'gh',
      fromUserName: 'o',
      createTime: 5,
    })
    assert.deepEqual(typed(unknownType), {
      type: 'unknown',
      msgType: 'mystery',
      toUserName: 'gh',
      fromUserName: 'o',
      createTime: 5,
    })
    const unknownEvent = buildMessageXml({
      type: 'unknown',
      msgType: 'event',
      event: 'debug_demo',
      toUserName: 'gh',
      fromUserName: 'o',
      createTime: 5,
    })
    assert.deepEqual(typed(unknownEvent), {
      type: 'unknown',
      msgType: 'event',
      event: 'debug_demo',
      toUserName: 'gh',
      fromUserName: 'o',
      createTime: 5,
    })
  })

  test('buildMessageXml writes WeChat’s layout', () => {
    assert.equal(
      buildMessageXml({
        type: 'text',
        toUserName: 'gh',
        fromUserName: 'o',
        createTime: 1,
        content: 'a]]>b',
        msgId: '42',
      }),
      '<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><MsgId>42</MsgId></xml>',
    )
  })

  test('buildMessageXml refuses a type that is not in the table', () => {
    let caught: unknown
    try {
      buildMessageXml({
        type: 'nope',
        toUserName: 'gh',
        fromUserName: 'o',
        createTime: 1,
      } as unknown as MessageInput)
    } catch (error) {
      caught = error
    }
    assert.ok(caught instanceof WempError)
    assert.equal(caught.code, 'invalid_message')
  })
})

describe('describeMessageTable', () => {
  const rows = describeMessageTable()

  test('has rows for every message and event type', () => {
    const kindsInRows = new Set(rows.map((r) => r.kind))
    for (const type of Object.keys(messageTable)) assert.ok(kindsInRows.has(type), type)
    for (const event of Object.keys(eventTable)) {
      if (Object.keys(eventTable[event as keyof typeof eventTable]).length > 0)
        assert.ok(kindsInRows.has(`event:${event}`), event)
    }
  })

  test('describes nested and list fields with their paths', () => {
    const row = (kind: string, property: string) =>
      rows.find((r) => r.kind === kind && r.property === property)
    assert.deepEqual(row('event:pic_sysphoto', 'sendPicsInfo.picList[].picMd5Sum'), {
      kind: 'event:pic_sysphoto',
      property: 'sendPicsInfo.picList[].picMd5Sum',
      xml: 'SendPicsInfo/PicList/item/PicMd5Sum',
      type: 'string',
      optional: false,
      note: '',
    })
    assert.equal(row('event:PUBLISHJOBFINISH', 'publishEventInfo.failIdx')?.type, 'number[]')
    assert.equal(row('event:PUBLISHJOBFINISH', 'publishEventInfo.failIdx')?.xml, 'PublishEventInfo/fail_idx')
    assert.equal(
      row('event:subscribe_msg_sent_event', 'subscribeMsgSentEvent[].msgId')?.xml,
      'SubscribeMsgSentEvent/List/MsgID',
    )
    assert.equal(row('text', 'msgId')?.type, 'string (64-bit id)')
    assert.equal(row('event:subscribe', 'scene')?.xml, '—')
    assert.equal(row('event:subscribe', 'scene')?.optional, true)
    assert.equal(row('location', 'latitude')?.xml, 'Location_X')
    assert.equal(row('location', 'latitude')?.note, 'latitude')
  })
})
