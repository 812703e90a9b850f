import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type WechatApi } from './client.js'
import { WechatApiError } from './errors.js'
import { type DraftArticle, PublishStatus } from './publishing.js'

const appId = 'wx1234567890abcdef'
const otherAppId = 'wxfedcba0987654321'

let clock = Date.UTC(2024, 5, 1, 8, 0, 0)
const now = () => clock

const failsWith = (errcode: number) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, errcode, `expected errcode ${errcode}, got ${error.errcode} ${error.errmsg}`)
  return true
}

let wechat: WechatApiStandIn
let api: WechatApi
let other: WechatApi
/** A permanent image and thumb of `api`'s account, for covers. */
let cover: string
let thumb: string

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: 'secret', [otherAppId]: 'secret2' }, now })
  api = createApi({ appId, appSecret: 'secret', baseUrl: wechat.url, logger: false, now })
  other = createApi({ appId: otherAppId, appSecret: 'secret2', baseUrl: wechat.url, logger: false, now })
  const jpg = Uint8Array.from({ length: 200 }, (_, i) => i)
  cover = (await api.material.add('image', { data: jpg, filename: 'cover.jpg' })).media_id
  thumb = (await api.material.add('thumb', { data: jpg, filename: 'thumb.jpg' })).media_id
})

after(() => wechat.close())

const article = (title: string, extra: Partial<DraftArticle> = {}): DraftArticle =>
  ({
    title,
    author: 'wemp',
    digest: `About ${title}`,
    content: `<p>${title}: 正文</p>`,
    content_source_url: 'https://example.com/source',
    thumb_media_id: cover,
    need_open_comment: 1,
    only_fans_can_comment: 0,
    ...extra,
  }) as DraftArticle

/** Polls a publishing task the way a client must, at most `tries` times. */
async function poll(publishId: string, tries = 5) {
  const seen: number[] = []
  for (let i = 0; i < tries; i++) {
    const job = await api.publish.get(publishId)
    seen.push(job.publish_status)
    if (job.publish_status !== PublishStatus.Publishing) return { job, seen }
  }
  throw new Error(`still publishing after ${tries} polls`)
}

describe('drafts', () => {
  test('a draft keeps its articles as sent, with links and the cover URL', async () => {
    const sent = [article('First'), article('Second', { thumb_media_id: thumb, need_open_comment: 0 })]
    const mediaId = await api.draft.add(sent)
    assert.match(mediaId, /^[\w-]{16,}$/)
    const { news_item } = await api.draft.get(mediaId)
    assert.equal(news_item.length, 2)
    for (const [i, item] of news_item.entries()) {
      const expected = sent[i]!
      assert.equal(item.title, expected.title)
      assert.equal(item.author, expected.author)
      assert.equal(item.digest, expected.digest)
      assert.equal(item.content, expected.content)
      assert.equal(item.content_source_url, expected.content_source_url)
      assert.equal(item.need_open_comment, expected.need_open_comment)
      assert.equal(item.only_fans_can_comment, 0)
      assert.equal(item.thumb_media_id, (expected as { thumb_media_id: string }).thumb_media_id)
      assert.match(item.url, /^http:\/\/127\.0\.0\.1:\d+\//)
      const preview = await fetch(item.url)
      assert.match(await preview.text(), new RegExp(`<h1>${expected.title}</h1>`))
    }
    const cover = await fetch(news_item[0]!.thumb_url!)
    assert.deepEqual(
      new Uint8Array(await cover.arrayBuffer()),
      Uint8Array.from({ length: 200 }, (_, i) => i),
    )
  })

  test('a single article without a digest gets the first 54 characters of its text', async () => {
    const content = `<p>${'字'.repeat(40)}</p><p>${'x'.repeat(40)}</p>`
    const mediaId = await api.draft.add([{ title: 'Digest', content, thumb_media_id: cover }])
    const { news_item } = await api.draft.get(mediaId)
    assert.equal(news_item[0]?.digest, `${'字'.repeat(40)}${'x'.repeat(14)}`)
  })

  test('a picture article (newspic) keeps its images and cover crop', async () => {
    const mediaId = await api.draft.add([
      {
        article_type: 'newspic',
        title: '图片消息',
        content: 'plain text',
        image_info: { image_list: [{ image_media_id: cover }, { image_media_id: thumb }] },
        cover_info: { crop_percent_list: [{ ratio: '1_1', x1: '0.1', y1: '0', x2: '0.9', y2: '1' }] },
      },
    ])
    const [item] = (await api.draft.get(mediaId)).news_item
    assert.equal(item?.article_type, 'newspic')
    assert.deepEqual(item?.image_info, { image_list: [{ image_media_id: cover }, { image_media_id: thumb }] })
    assert.deepEqual(item?.cover_info, {
      crop_percent_list: [{ ratio: '1_1', x1: '0.1', y1: '0', x2: '0.9', y2: '1' }],
    })
    await assert.rejects(
      api.draft.add([{ article_type: 'newspic', title: 't', content: 'c', image_info: { image_list: [] } }]),
      failsWith(40097),
    )
  })

  test('covers and images must be the account’s permanent material (40007)', async () => {
    await assert.rejects(api.draft.add([article('x', { thumb_media_id: 'nope' })]), failsWith(40007))
    const temporary = await api.media.upload('image', { data: new Uint8Array(10).fill(1), filename: 't.jpg' })
    await assert.rejects(
      api.draft.add([article('x', { thumb_media_id: temporary.media_id })]),
      failsWith(40007),
    )
    await assert.rejects(other.draft.add([article('x')]), failsWith(40007))
    const voice = await api.material.add('voice', { data: new Uint8Array(10).fill(2), filename: 'v.mp3' })
    await assert.rejects(api.draft.add([article('x', { thumb_media_id: voice.media_id })]), failsWith(40007))
    await assert.rejects(
      api.draft.add([
        {
          article_type: 'newspic',
          title: 't',
          content: 'c',
          image_info: { image_list: [{ image_media_id: 'no' }] },
        },
      ]),
      failsWith(40007),
    )
  })

  test('field checks: no articles 44003, no title 40097, long title 45003, huge content 45002', async () => {
    await assert.rejects(api.draft.add([]), failsWith(44003))
    await assert.rejects(api.draft.add([article('')]), failsWith(40097))
    await assert.rejects(api.draft.add([article('题'.repeat(33))]), failsWith(45003))
    assert.ok(await api.draft.add([article('题'.repeat(32))]))
    await assert.rejects(api.draft.add([article('big', { content: 'a'.repeat(20_000) })]), failsWith(45002))
  })

  test('update replaces one article by index (from 0); bad index 40097, unknown draft 40007', async () => {
    const mediaId = await api.draft.add([article('One'), article('Two')])
    clock += 60_000
    await api.draft.update(mediaId, 1, article('Two, revised', { digest: 'new digest' }))
    const { news_item } = await api.draft.get(mediaId)
    assert.deepEqual(
      news_item.map((item) => [item.title, item.digest]),
      [
        ['One', 'About One'],
        ['Two, revised', 'new digest'],
      ],
    )
    const listed = (await api.draft.list(0, 20)).item.find((draft) => draft.media_id === mediaId)
    assert.equal(listed?.update_time, Math.floor(clock / 1000))
    await assert.rejects(api.draft.update(mediaId, 2, article('Three')), failsWith(40097))
    await assert.rejects(api.draft.update('unknown', 0, article('Three')), failsWith(40007))
  })

  test('delete, count and list (newest first, without content on request)', async () => {
    const fresh = createApi({
      appId: otherAppId,
      appSecret: 'secret2',
      baseUrl: wechat.url,
      logger: false,
      now,
    })
    const image = await fresh.material.add('image', { data: new Uint8Array(30).fill(3), filename: 'c.png' })
    const start = await fresh.draft.count()
    const ids: string[] = []
    for (const title of ['d1', 'd2', 'd3']) {
      clock += 1000
      ids.push(await fresh.draft.add([article(title, { thumb_media_id: image.media_id })]))
    }
    assert.equal(await fresh.draft.count(), start + 3)

    const page = await fresh.draft.list(0, 2)
    assert.equal(page.total_count, start + 3)
    assert.equal(page.item_count, 2)
    assert.deepEqual(
      page.item.map((draft) => draft.media_id),
      [ids[2], ids[1]],
    )
    assert.equal(page.item[0]?.content.news_item[0]?.content, '<p>d3: 正文</p>')
    const bare = await fresh.draft.list(2, 1, true)
    assert.equal(bare.item[0]?.media_id, ids[0])
    assert.equal(bare.item[0]?.content.news_item[0]?.title, 'd1')
    assert.ok(!('content' in bare.item[0]!.content.news_item[0]!), 'no_content leaves content out')

    await fresh.draft.delete(ids[1]!)
    await assert.rejects(fresh.draft.get(ids[1]!), failsWith(40007))
    await assert.rejects(fresh.draft.delete(ids[1]!), failsWith(40007))
    assert.equal(await fresh.draft.count(), start + 2)
    await assert.rejects(fresh.draft.list(0, 21), failsWith(40097))
    await assert.rejects(fresh.draft.list(0, 0), failsWith(40097))
  })
})

describe('publishing', () => {
  test('draft → submit → poll (1, then 0) → published article, and the draft is gone', async () => {
    const sent = [article('Launch'), article('Details', { thumb_media_id: thumb })]
    const draftId = await api.draft.add(sent)
    const draftsBefore = await api.draft.count()

    const publishId = await api.publish.submit(draftId)
    assert.match(publishId, /^\d+$/)
    assert.equal(await api.draft.count(), draftsBefore - 1, 'a submitted draft leaves the draft box')
    await assert.rejects(api.draft.get(draftId), failsWith(40007))
    await assert.rejects(api.publish.submit(draftId), failsWith(40007))

    const { job, seen } = await poll(publishId)
    assert.deepEqual(seen, [PublishStatus.Publishing, PublishStatus.Success])
    assert.equal(job.publish_id, publishId)
    assert.ok(job.article_id)
    assert.equal(job.article_detail?.count, 2)
    assert.deepEqual(
      job.article_detail?.item.map((item) => item.idx),
      [1, 2],
    )

    const { news_item } = await api.publish.article(job.article_id)
    assert.deepEqual(
      news_item.map((item) => [item.title, item.content, item.is_deleted]),
      sent.map((a) => [a.title, a.content, false]),
    )
    assert.equal(news_item[0]?.url, job.article_detail?.item[0]?.article_url)
    assert.match(await (await fetch(news_item[1]!.url)).text(), /<h1>Details<\/h1>/)

    const listed = await api.publish.list(0, 20)
    const found = listed.item.find((item) => item.article_id === job.article_id)
    assert.equal(found?.content.news_item[1]?.title, 'Details')
    const bare = await api.publish.list(0, 20, true)
    const bareItem = bare.item.find((item) => item.article_id === job.article_id)
    assert.ok(bareItem && !('content' in bareItem.content.news_item[0]!))
  })

  test('delete one article (index from 1), then all: is_deleted, status 5, out of the list', async () => {
    const publishId = await api.publish.submit(await api.draft.add([article('A'), article('B')]))
    const { job } = await poll(publishId)
    const articleId = job.article_id!
    await api.publish.delete(articleId, 1)
    assert.deepEqual(
      (await api.publish.article(articleId)).news_item.map((item) => [item.title, item.is_deleted]),
      [
        ['A', true],
        ['B', false],
      ],
    )
    assert.equal((await api.publish.get(publishId)).article_detail?.count, 1)
    await assert.rejects(api.publish.delete(articleId, 3), failsWith(40097))

    await api.publish.delete(articleId)
    assert.equal((await api.publish.get(publishId)).publish_status, PublishStatus.DeletedByUser)
    const listed = await api.publish.list(0, 20)
    assert.ok(!listed.item.some((item) => item.article_id === articleId))
  })

  test('unknown ids: draft 40007, article 53600, publish task 40097; other accounts see nothing', async () => {
    await assert.rejects(api.publish.submit('no-such-draft'), failsWith(40007))
    await assert.rejects(api.publish.article('no-such-article'), failsWith(53600))
    await assert.rejects(api.publish.delete('no-such-article'), failsWith(53600))
    await assert.rejects(api.publish.get('123'), failsWith(40097))
    const publishId = await api.publish.submit(await api.draft.add([article('Mine')]))
    const { job } = await poll(publishId)
    await assert.rejects(other.publish.article(job.article_id!), failsWith(53600))
    await assert.rejects(other.publish.get(publishId), failsWith(40097))
    await assert.rejects(api.publish.list(0, 21), failsWith(40097))
  })

  test('submit is not retried on "system busy" (-1): it could publish twice', async () => {
    const draftId = await api.draft.add([article('Busy')])
    const before = wechat.count('/cgi-bin/freepublish/submit')
    wechat.failNext('/cgi-bin/freepublish/submit', -1, 'system error')
    await assert.rejects(api.publish.submit(draftId), failsWith(-1))
    assert.equal(wechat.count('/cgi-bin/freepublish/submit'), before + 1)
    assert.ok(await api.publish.submit(draftId), 'the draft is still there to submit')
  })

  test('the requests carry WeChat’s own field names', async () => {
    const draftId = await api.draft.add([article('Names')])
    await api.draft.update(draftId, 0, article('Names 2'))
    await api.draft.list(0, 5, true)
    const publishId = await api.publish.submit(draftId)
    const { job } = await poll(publishId)
    await api.publish.delete(job.article_id!, 1)
    const body = (path: string) => wechat.calls.filter((call) => call.path === path).at(-1)?.body
    assert.deepEqual(Object.keys(body('/cgi-bin/draft/update') as object).sort(), [
      'articles',
      'index',
      'media_id',
    ])
    assert.deepEqual(body('/cgi-bin/draft/batchget'), { offset: 0, count: 5, no_content: 1 })
    assert.deepEqual(body('/cgi-bin/freepublish/submit'), { media_id: draftId })
    assert.deepEqual(body('/cgi-bin/freepublish/get'), { publish_id: publishId })
    assert.deepEqual(body('/cgi-bin/freepublish/delete'), { article_id: job.article_id, index: 1 })
    const add = wechat.calls.filter((call) => call.path === '/cgi-bin/draft/add').at(-1)?.body as {
      articles: Record<string, unknown>[]
    }
    assert.deepEqual(Object.keys(add.articles[0]!).sort(), [
      'author',
      'content',
      'content_source_url',
      'digest',
      'need_open_comment',
      'only_fans_can_comment',
      'thumb_media_id',
      'title',
    ])
  })
})
