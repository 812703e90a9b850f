import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { WempError } from '../protocol/errors.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type WechatApi } from './client.js'
import type { CustomMessage } from './custom-service.js'
import { WechatApiError } from './errors.js'

const appId = 'wx1234567890abcdef'
const SEND = '/cgi-bin/message/custom/send'
const TYPING = '/cgi-bin/message/custom/typing'

let clock = 1_700_000_000_000
const now = () => clock
let wechat: WechatApiStandIn
let api: WechatApi
let users = 0
/** A fresh follower per test, so that windows never carry over. */
const follower = () => `oWempCsUser${String(++users).padStart(14, '0')}`

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: 'secret' }, now })
  api = createApi({ appId, appSecret: 'secret', baseUrl: wechat.url, logger: false, now })
})
after(() => wechat.close())

const errcode = (code: number) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, code, error.message)
  return true
}
const lastBody = (path: string) => wechat.calls.filter((c) => c.path === path).at(-1)?.body

describe('customer-service messages: bodies as WeChat documents them', () => {
  const cases: { message: CustomMessage; body: Record<string, unknown> }[] = [
    { message: { type: 'text', content: '你好' }, body: { msgtype: 'text', text: { content: '你好' } } },
    { message: { type: 'image', mediaId: 'M1' }, body: { msgtype: 'image', image: { media_id: 'M1' } } },
    { message: { type: 'voice', mediaId: 'M2' }, body: { msgtype: 'voice', voice: { media_id: 'M2' } } },
    {
      message: { type: 'video', mediaId: 'M3', thumbMediaId: 'T3', title: '标题', description: '描述' },
      body: {
        msgtype: 'video',
        video: { media_id: 'M3', thumb_media_id: 'T3', title: '标题', description: '描述' },
      },
    },
    {
      message: {
        type: 'music',
        title: '歌',
        description: '曲',
        musicUrl: 'https://example.com/a.mp3',
        hqMusicUrl: 'https://example.com/a-hq.mp3',
        thumbMediaId: 'T4',
      },
      body: {
        msgtype: 'music',
        music: {
          title: '歌',
          description: '曲',
          musicurl: 'https://example.com/a.mp3',
          hqmusicurl: 'https://example.com/a-hq.mp3',
          thumb_media_id: 'T4',
        },
      },
    },
    {
      message: {
        type: 'news',
        articles: [
          { title: 'T', description: 'D', url: 'https://example.com/', picUrl: 'https://example.com/p.jpg' },
        ],
      },
      body: {
        msgtype: 'news',
        news: {
          articles: [
            {
              title: 'T',
              description: 'D',
              url: 'https://example.com/',
              picurl: 'https://example.com/p.jpg',
            },
          ],
        },
      },
    },
    { message: { type: 'mpnews', mediaId: 'M5' }, body: { msgtype: 'mpnews', mpnews: { media_id: 'M5' } } },
    {
      message: { type: 'mpnewsarticle', articleId: 'A6' },
      body: { msgtype: 'mpnewsarticle', mpnewsarticle: { article_id: 'A6' } },
    },
    {
      message: {
        type: 'msgmenu',
        headContent: '您对本次服务是否满意呢?',
        list: [
          { id: '101', content: '满意' },
          { id: '102', content: '不满意' },
        ],
        tailContent: '欢迎再次光临',
      },
      body: {
        msgtype: 'msgmenu',
        msgmenu: {
          head_content: '您对本次服务是否满意呢?',
          list: [
            { id: '101', content: '满意' },
            { id: '102', content: '不满意' },
          ],
          tail_content: '欢迎再次光临',
        },
      },
    },
    { message: { type: 'wxcard', cardId: 'C7' }, body: { msgtype: 'wxcard', wxcard: { card_id: 'C7' } } },
    {
      message: {
        type: 'miniprogrampage',
        title: '小程序',
        appId: 'wx286b93c14bbf93aa',
        pagePath: 'pages/index?foo=bar',
        thumbMediaId: 'T8',
      },
      body: {
        msgtype: 'miniprogrampage',
        miniprogrampage: {
          title: '小程序',
          appid: 'wx286b93c14bbf93aa',
          pagepath: 'pages/index?foo=bar',
          thumb_media_id: 'T8',
        },
      },
    },
  ]

  for (const { message, body } of cases) {
    test(`${message.type}`, async () => {
      const openid = follower()
      wechat.openWindow(appId, openid)
      await api.customService.send(openid, message)
      assert.deepEqual(lastBody(SEND), { touser: openid, ...body })
      const accepted = wechat.sent.at(-1)
      assert.equal(accepted?.touser, openid)
      assert.equal(accepted?.msgtype, message.type)
    })
  }

  test('optional fields left out are not sent', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid)
    await api.customService.send(openid, { type: 'video', mediaId: 'M3' })
    assert.deepEqual(lastBody(SEND), { touser: openid, msgtype: 'video', video: { media_id: 'M3' } })
    await api.customService.send(openid, {
      type: 'msgmenu',
      headContent: '选',
      list: [{ id: '1', content: '是' }],
    })
    assert.deepEqual(lastBody(SEND), {
      touser: openid,
      msgtype: 'msgmenu',
      msgmenu: { head_content: '选', list: [{ id: '1', content: '是' }] },
    })
  })

  test('kfAccount sends as that agent', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid)
    await api.customService.send(openid, { type: 'text', content: '您好' }, { kfAccount: 'test1@kftest' })
    assert.deepEqual(lastBody(SEND), {
      touser: openid,
      msgtype: 'text',
      text: { content: '您好' },
      customservice: { kf_account: 'test1@kftest' },
    })
  })
})

describe('customer-service messages: what a handler may return', () => {
  test('a string is a text message', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid)
    await api.customService.send(openid, 'your report is ready')
    assert.deepEqual(lastBody(SEND), {
      touser: openid,
      msgtype: 'text',
      text: { content: 'your report is ready' },
    })
  })

  test('an article, or a list of one, is a news message', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid)
    await api.customService.send(openid, [{ title: 'T', url: 'https://example.com/' }])
    assert.deepEqual(lastBody(SEND), {
      touser: openid,
      msgtype: 'news',
      news: { articles: [{ title: 'T', url: 'https://example.com/' }] },
    })
    await api.customService.send(openid, { title: 'U', picUrl: 'https://example.com/u.jpg' })
    assert.deepEqual(lastBody(SEND), {
      touser: openid,
      msgtype: 'news',
      news: { articles: [{ title: 'U', picurl: 'https://example.com/u.jpg' }] },
    })
  })

  test('a passive reply object is sent unchanged', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid)
    await api.customService.send(openid, { type: 'image', mediaId: 'M9' })
    assert.deepEqual(lastBody(SEND), { touser: openid, msgtype: 'image', image: { media_id: 'M9' } })
  })

  test('success sends nothing', async () => {
    const before = wechat.count(SEND)
    await api.customService.send(follower(), { type: 'success' })
    assert.equal(wechat.count(SEND), before)
  })

  test('a transfer to customer service is refused, and nothing is sent', async () => {
    const before = wechat.count(SEND)
    await assert.rejects(
      api.customService.send(follower(), { type: 'transfer_customer_service' }),
      (error: unknown) => error instanceof WempError && error.code === 'invalid_reply',
    )
    assert.equal(wechat.count(SEND), before)
  })

  test('news with more than one article is refused before sending; WeChat would answer 45008', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid)
    const before = wechat.count(SEND)
    const articles = [{ title: 'A' }, { title: 'B' }]
    await assert.rejects(
      api.customService.send(openid, articles),
      (error: unknown) =>
        error instanceof WempError && error.code === 'invalid_reply' && /exactly 1/.test(error.message),
    )
    assert.equal(wechat.count(SEND), before)
    await assert.rejects(
      api.call(SEND, { json: { touser: openid, msgtype: 'news', news: { articles } } }),
      errcode(45008),
    )
  })
})

describe('customer-service messages: typing', () => {
  test('on and off', async () => {
    const openid = follower()
    await api.customService.typing(openid)
    assert.deepEqual(lastBody(TYPING), { touser: openid, command: 'Typing' })
    await api.customService.typing(openid, false)
    assert.deepEqual(lastBody(TYPING), { touser: openid, command: 'CancelTyping' })
  })

  test('is retried once on -1 (harmless to repeat)', async () => {
    const before = wechat.count(TYPING)
    wechat.failNext(TYPING, -1, 'system error')
    await api.customService.typing(follower())
    assert.equal(wechat.count(TYPING), before + 2)
  })
})

describe('customer-service messages: the window', () => {
  test('no window: 45015', async () => {
    await assert.rejects(api.customService.send(follower(), 'hi'), errcode(45015))
  })

  test('after a message from the follower: 5 messages, then 45047', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid)
    for (let i = 1; i <= 5; i++) await api.customService.send(openid, `message ${i}`)
    await assert.rejects(api.customService.send(openid, 'message 6'), errcode(45047))
    assert.equal(wechat.sent.filter((m) => m.touser === openid).length, 5)
  })

  test('after a menu click, follow or scan: 3 messages within a minute, then 45047', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid, 'event')
    for (let i = 1; i <= 3; i++) {
      await api.customService.send(openid, `message ${i}`)
      clock += 10_000
    }
    await assert.rejects(api.customService.send(openid, 'message 4'), errcode(45047))
  })

  test('an event window ends after a minute: 45015', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid, 'event')
    await api.customService.send(openid, 'in time')
    clock += 60_000
    await assert.rejects(api.customService.send(openid, 'too late'), errcode(45015))
  })

  test('a message window ends after 48 hours: 45015 (the token is renewed on the way)', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid)
    clock += 48 * 3600 * 1000 - 1000
    await api.customService.send(openid, 'just in time')
    clock += 1000
    await assert.rejects(api.customService.send(openid, 'too late'), errcode(45015))
  })

  test('a new message from the follower opens a new window', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid, 'event')
    for (let i = 0; i < 3; i++) await api.customService.send(openid, `event ${i}`)
    wechat.openWindow(appId, openid)
    for (let i = 0; i < 5; i++) await api.customService.send(openid, `message ${i}`)
    await assert.rejects(api.customService.send(openid, 'one too many'), errcode(45047))
  })
})

describe('customer-service messages: retries', () => {
  test('a send is not retried on -1, and the window is not spent', async () => {
    const openid = follower()
    wechat.openWindow(appId, openid, 'event')
    const before = wechat.count(SEND)
    wechat.failNext(SEND, -1, 'system error')
    await assert.rejects(api.customService.send(openid, 'hi'), errcode(-1))
    assert.equal(wechat.count(SEND), before + 1)
    for (let i = 0; i < 3; i++) await api.customService.send(openid, `after ${i}`)
  })

  test('a read is retried once on -1, and only once', async () => {
    const path = '/cgi-bin/get_api_domain_ip'
    let before = wechat.count(path)
    wechat.failNext(path, -1, 'system error')
    assert.deepEqual((await api.call<{ ip_list: string[] }>(path)).ip_list, ['127.0.0.1'])
    assert.equal(wechat.count(path), before + 2)

    before = wechat.count(path)
    wechat.failNext(path, -1, 'system error', 2)
    await assert.rejects(api.call(path), errcode(-1))
    assert.equal(wechat.count(path), before + 2)
  })

  test('other errors are not retried', async () => {
    const before = wechat.count(SEND)
    await assert.rejects(api.customService.send(follower(), 'hi'), errcode(45015))
    assert.equal(wechat.count(SEND), before + 1)
  })
})
