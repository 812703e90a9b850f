import { type Route, StandInError, type WechatApiStandIn } from '../server.js'
import { checkPage, fileUrl, permanentMaterial } from './media.js'

/**
 * Drafts (`/cgi-bin/draft/*`) and free publishing (`/cgi-bin/freepublish/*`), as WeChat documents
 * them (developers.weixin.qq.com, 草稿箱 and 发布能力):
 *
 * - `draft/add` needs a non-empty `articles` (44003 "empty news data"). Each article: `article_type`
 *   news (default) or newspic; a string `title` and `content` (40097 "invalid args"); title at most
 *   32 characters (45003), content under 20 000 characters and 1 MB (45002). A news article's
 *   `thumb_media_id` and a newspic's 1–20 `image_info.image_list[].image_media_id` must be the app's
 *   permanent image or thumb material: 40007 "invalid media_id" otherwise (a temporary media_id
 *   included). A single article without `digest` gets the first 54 characters of its text.
 * - Unknown draft media_id (get, update, delete, submit): 40007. `draft/update`'s `index` (from 0)
 *   must name an existing article (40097).
 * - List APIs: offset ≥ 0, count 1–20 (40097), newest first; `no_content: 1` leaves out `content`.
 * - `freepublish/submit` takes the draft out of the draft box and starts a task. The stand-in
 *   completes it on the second poll: the first `freepublish/get` answers publish_status 1
 *   (publishing), the next ones 0 with `article_id` and `article_detail` — so a client must poll.
 *   When every article of an item is deleted, its status becomes 5. Unknown publish_id: 40097.
 * - `freepublish/getarticle` and `freepublish/delete` with an unknown article_id: 53600 (the
 *   documented "Article ID 无效"). `delete`'s `index` counts from 1; 0 or absent deletes all.
 * - Preview and article links are served by the stand-in (`/stand-in/article`).
 */

const MAX_TITLE = 32
const MAX_CONTENT_CHARS = 20_000
const MAX_CONTENT_BYTES = 1024 * 1024
const MAX_NEWSPIC_IMAGES = 20

interface StoredArticle {
  article_type: 'news' | 'newspic'
  title: string
  author: string
  digest: string
  content: string
  content_source_url: string
  thumb_media_id?: string
  thumb_url?: string
  need_open_comment: number
  only_fans_can_comment: number
  pic_crop_235_1?: string
  pic_crop_1_1?: string
  image_info?: { image_list: { image_media_id: string }[] }
  cover_info?: unknown
  product_info?: unknown
  /** Whether the digest was derived from the content (and is to follow it). */
  derivedDigest: boolean
}

interface Draft {
  mediaId: string
  articles: StoredArticle[]
  createTime: number
  updateTime: number
}

interface Publication {
  publishId: string
  msgDataId: string
  articleId: string
  articles: (StoredArticle & { deleted: boolean })[]
  polls: number
  done: boolean
  createTime: number
  updateTime: number
}

interface AppPublishing {
  drafts: Map<string, Draft>
  jobs: Map<string, Publication>
  published: Map<string, Publication>
}

const invalidArgs = () => new StandInError(40097, 'invalid args')
const invalidArticleId = () => new StandInError(53600, 'Article ID 无效')

function textOfHtml(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim()
}

/** The stand-in's routes for drafts and free publishing. */
export function publishingRoutes(standIn: WechatApiStandIn): Route[] {
  const apps = new Map<string, AppPublishing>()
  let nextPublishId = 2_247_500_000

  const appOf = (appId: string): AppPublishing => {
    let app = apps.get(appId)
    if (!app) {
      app = { drafts: new Map(), jobs: new Map(), published: new Map() }
      apps.set(appId, app)
    }
    return app
  }

  const seconds = () => Math.floor(standIn.now() / 1000)

  const optionalString = (value: unknown): string | undefined => {
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'string') throw invalidArgs()
    return value
  }

  const flag = (value: unknown): number => {
    if (value === undefined || value === null) return 0
    const number = Number(value)
    if (number !== 0 && number !== 1) throw invalidArgs()
    return number
  }

  const image = (appId: string, mediaId: unknown) => {
    const media = permanentMaterial(standIn, appId, mediaId)
    if (!media || (media.type !== 'image' && media.type !== 'thumb')) {
      throw new StandInError(40007, 'invalid media_id')
    }
    return media
  }

  const checkArticle = (appId: string, raw: unknown): StoredArticle => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidArgs()
    const input = raw as Record<string, unknown>
    const type = input.article_type ?? 'news'
    if (type !== 'news' && type !== 'newspic') throw invalidArgs()
    const { title, content } = input
    if (typeof title !== 'string' || title === '' || typeof content !== 'string') throw invalidArgs()
    if ([...title].length > MAX_TITLE) throw new StandInError(45003, 'title size out of limit')
    if (content.length >= MAX_CONTENT_CHARS || Buffer.byteLength(content) >= MAX_CONTENT_BYTES) {
      throw new StandInError(45002, 'content size out of limit')
    }
    const digest = optionalString(input.digest)
    const article: StoredArticle = {
      article_type: type,
      title,
      author: optionalString(input.author) ?? '',
      digest: digest ?? '',
      content,
      content_source_url: optionalString(input.content_source_url) ?? '',
      need_open_comment: flag(input.need_open_comment),
      only_fans_can_comment: flag(input.only_fans_can_comment),
      derivedDigest: digest === undefined,
    }
    if (type === 'news') {
      const thumb = image(appId, input.thumb_media_id)
      article.thumb_media_id = thumb.mediaId
      article.thumb_url = fileUrl(standIn, thumb)
      const wide = optionalString(input.pic_crop_235_1)
      const square = optionalString(input.pic_crop_1_1)
      if (wide !== undefined) article.pic_crop_235_1 = wide
      if (square !== undefined) article.pic_crop_1_1 = square
    } else {
      const list = (input.image_info as { image_list?: unknown } | undefined)?.image_list
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_NEWSPIC_IMAGES) throw invalidArgs()
      const images = list.map((entry: unknown) => ({
        image_media_id: image(appId, (entry as { image_media_id?: unknown } | null)?.image_media_id).mediaId,
      }))
      article.image_info = { image_list: images }
      if (input.cover_info !== undefined) article.cover_info = input.cover_info
    }
    if (input.product_info !== undefined) article.product_info = input.product_info
    return article
  }

  /** WeChat: "仅有单图文消息才有摘要…如果本字段为没有填写，则默认抓取正文前54个字". */
  const fillDigests = (articles: StoredArticle[]) => {
    for (const article of articles) {
      if (!article.derivedDigest) continue
      article.digest = articles.length === 1 ? [...textOfHtml(article.content)].slice(0, 54).join('') : ''
    }
  }

  const draftOf = (appId: string, mediaId: unknown): Draft => {
    const draft = typeof mediaId === 'string' ? appOf(appId).drafts.get(mediaId) : undefined
    if (!draft) throw new StandInError(40007, 'invalid media_id')
    return draft
  }

  const publicationOf = (appId: string, articleId: unknown): Publication => {
    const item = typeof articleId === 'string' ? appOf(appId).published.get(articleId) : undefined
    if (!item) throw invalidArticleId()
    return item
  }

  const link = (query: string, idx: number) => `${standIn.url}/stand-in/article?${query}&idx=${idx}`

  const shown = (article: StoredArticle, url: string, withContent = true): Record<string, unknown> => {
    const { derivedDigest: _, content, ...rest } = article
    return withContent ? { ...rest, content, url } : { ...rest, url }
  }

  const draftItems = (draft: Draft, withContent = true) =>
    draft.articles.map((article, i) =>
      shown(article, link(`draft=${encodeURIComponent(draft.mediaId)}`, i + 1), withContent),
    )

  const publishedItems = (item: Publication, withContent = true) =>
    item.articles.map(({ deleted, ...article }, i) => ({
      ...shown(article, link(`id=${encodeURIComponent(item.articleId)}`, i + 1), withContent),
      is_deleted: deleted,
    }))

  const pageBody = (body: { offset?: unknown; count?: unknown; no_content?: unknown }) => ({
    ...checkPage(body.offset, body.count),
    withContent: Number(body.no_content ?? 0) !== 1,
  })

  const newestFirst = <T extends { updateTime: number }>(items: Iterable<T>): T[] =>
    [...items].reverse().sort((a, b) => b.updateTime - a.updateTime)

  const jobStatus = (job: Publication) => {
    if (!job.done) return 1
    return job.articles.every((article) => article.deleted) ? 5 : 0
  }

  return [
    {
      method: 'POST',
      path: '/cgi-bin/draft/add',
      handle(request) {
        const { articles } = request.json<{ articles?: unknown }>()
        if (!Array.isArray(articles) || articles.length === 0) {
          throw new StandInError(44003, 'empty news data')
        }
        const checked = articles.map((article: unknown) => checkArticle(request.appId, article))
        fillDigests(checked)
        const now = seconds()
        const draft: Draft = { mediaId: standIn.newId(), articles: checked, createTime: now, updateTime: now }
        appOf(request.appId).drafts.set(draft.mediaId, draft)
        return { media_id: draft.mediaId }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/draft/get',
      handle(request) {
        const draft = draftOf(request.appId, request.json<{ media_id?: unknown }>().media_id)
        return { news_item: draftItems(draft) }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/draft/delete',
      handle(request) {
        const draft = draftOf(request.appId, request.json<{ media_id?: unknown }>().media_id)
        appOf(request.appId).drafts.delete(draft.mediaId)
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/draft/update',
      handle(request) {
        const body = request.json<{ media_id?: unknown; index?: unknown; articles?: unknown }>()
        const draft = draftOf(request.appId, body.media_id)
        const index = Number(body.index ?? 0)
        if (!Number.isInteger(index) || index < 0 || index >= draft.articles.length) throw invalidArgs()
        const article = checkArticle(request.appId, body.articles)
        draft.articles[index] = article
        fillDigests(draft.articles)
        draft.updateTime = seconds()
        return {}
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/draft/count',
      handle(request) {
        return { total_count: appOf(request.appId).drafts.size }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/draft/batchget',
      handle(request) {
        const { offset, count, withContent } = pageBody(request.json())
        const all = newestFirst(appOf(request.appId).drafts.values())
        const item = all.slice(offset, offset + count).map((draft) => ({
          media_id: draft.mediaId,
          content: {
            news_item: draftItems(draft, withContent),
            create_time: draft.createTime,
            update_time: draft.updateTime,
          },
          update_time: draft.updateTime,
        }))
        return { total_count: all.length, item_count: item.length, item }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/freepublish/submit',
      handle(request) {
        const app = appOf(request.appId)
        const draft = draftOf(request.appId, request.json<{ media_id?: unknown }>().media_id)
        app.drafts.delete(draft.mediaId)
        const now = seconds()
        const job: Publication = {
          publishId: String(nextPublishId++),
          msgDataId: String(nextPublishId++),
          articleId: standIn.newId(),
          articles: draft.articles.map((article) => ({ ...article, deleted: false })),
          polls: 0,
          done: false,
          createTime: now,
          updateTime: now,
        }
        app.jobs.set(job.publishId, job)
        return { publish_id: job.publishId, msg_data_id: job.msgDataId }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/freepublish/get',
      handle(request) {
        const app = appOf(request.appId)
        const publishId = request.json<{ publish_id?: unknown }>().publish_id
        const job = app.jobs.get(String(publishId ?? ''))
        if (!job) throw invalidArgs()
        job.polls++
        if (!job.done && job.polls >= 2) {
          job.done = true
          job.updateTime = seconds()
          app.published.set(job.articleId, job)
        }
        const status = jobStatus(job)
        if (status === 1) return { publish_id: job.publishId, publish_status: 1, fail_idx: [] }
        const live = job.articles.flatMap((article, i) =>
          article.deleted ? [] : [{ idx: i + 1, article_url: link(`id=${job.articleId}`, i + 1) }],
        )
        return {
          publish_id: job.publishId,
          publish_status: status,
          article_id: job.articleId,
          article_detail: { count: live.length, item: live },
          fail_idx: [],
        }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/freepublish/delete',
      handle(request) {
        const body = request.json<{ article_id?: unknown; index?: unknown }>()
        const item = publicationOf(request.appId, body.article_id)
        const index = Number(body.index ?? 0)
        if (!Number.isInteger(index) || index < 0 || index > item.articles.length) throw invalidArgs()
        for (const [i, article] of item.articles.entries()) {
          if (index === 0 || index === i + 1) article.deleted = true
        }
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/freepublish/getarticle',
      handle(request) {
        const item = publicationOf(request.appId, request.json<{ article_id?: unknown }>().article_id)
        return { news_item: publishedItems(item) }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/freepublish/batchget',
      handle(request) {
        const { offset, count, withContent } = pageBody(request.json())
        const all = newestFirst(appOf(request.appId).published.values()).filter(
          (item) => jobStatus(item) === 0,
        )
        const item = all.slice(offset, offset + count).map((publication) => ({
          article_id: publication.articleId,
          content: {
            news_item: publishedItems(publication, withContent),
            create_time: publication.createTime,
            update_time: publication.updateTime,
          },
          update_time: publication.updateTime,
        }))
        return { total_count: all.length, item_count: item.length, item }
      },
    },
    {
      // Not WeChat's: a draft's preview or a published article, as a bare HTML page.
      method: 'GET',
      path: '/stand-in/article',
      auth: 'none',
      handle(request) {
        const idx = Number(request.query.get('idx') ?? 1)
        let article: StoredArticle | undefined
        for (const app of apps.values()) {
          const draft = app.drafts.get(request.query.get('draft') ?? '')
          const item = app.published.get(request.query.get('id') ?? '')
          const found = draft?.articles[idx - 1] ?? item?.articles[idx - 1]
          if (found && !(found as { deleted?: boolean }).deleted) article = found
        }
        if (!article) {
          return { raw: { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' } }
        }
        const title = article.title.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
        return {
          raw: {
            headers: { 'content-type': 'text/html; charset=utf-8' },
            body: `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1>${article.content}`,
          },
        }
      },
    },
  ]
}
