import type { WechatApi } from './client.js'

/** A cover crop of a picture article (newspic): corners as fractions (0–1) of the first image. */
export interface CropPercent {
  /** `1_1`, `16_9` or `2.35_1`. */
  ratio?: string
  x1?: string
  y1?: string
  x2?: string
  y2?: string
}

/** What an article has whatever its type. Field names are WeChat's, as in its documentation. */
interface ArticleFields {
  /** The title (WeChat: at most 32 characters). */
  title: string
  author?: string
  /** The summary (single-article drafts only); default: the first 54 characters of the content. */
  digest?: string
  /**
   * The body. For `news`: HTML under 20 000 characters and 1 MB, scripts removed, images only from
   * `api.media.uploadImage`. For `newspic`: plain text.
   */
  content: string
  /** 阅读原文 link. */
  content_source_url?: string
  /** 1 to open comments. */
  need_open_comment?: 0 | 1
  /** 1 to let only followers comment. */
  only_fans_can_comment?: 0 | 1
  /** Goods at the end of the article (needs 带货 rights). */
  product_info?: { footer_product_info?: { product_key: string } }
}

/** A classic article (图文消息). */
export interface NewsArticle extends ArticleFields {
  article_type?: 'news'
  /** The cover: a permanent image or thumb material's media_id. */
  thumb_media_id: string
  /** The cover's 2.35:1 crop, `X1_Y1_X2_Y2` as fractions of the cover, e.g. `0.1945_0_1_0.5236`. */
  pic_crop_235_1?: string
  /** The cover's 1:1 crop, same form. */
  pic_crop_1_1?: string
}

/** A picture article (图片消息): up to 20 permanent images, the first is the cover. */
export interface NewspicArticle extends ArticleFields {
  article_type: 'newspic'
  image_info: { image_list: { image_media_id: string }[] }
  cover_info?: { crop_percent_list: CropPercent[] }
}

/** An article to put in a draft (草稿). */
export type DraftArticle = NewsArticle | NewspicArticle

/** An article as WeChat gives it back (drafts and published articles). */
export interface ArticleItem {
  article_type?: 'news' | 'newspic'
  title: string
  author?: string
  digest?: string
  content: string
  content_source_url?: string
  thumb_media_id?: string
  thumb_url?: string
  show_cover_pic?: number
  need_open_comment?: number
  only_fans_can_comment?: number
  pic_crop_235_1?: string
  pic_crop_1_1?: string
  image_info?: { image_list: { image_media_id: string }[] }
  cover_info?: { crop_percent_list: CropPercent[] }
  product_info?: { footer_product_info?: { product_key: string } }
  /** A draft's temporary preview link; a published article's permanent link. */
  url: string
}

/** An article of a published item. */
export interface PublishedArticleItem extends ArticleItem {
  /** Whether it was deleted after publishing. */
  is_deleted: boolean
}

/** A listed article: without `content` when the list was asked with `noContent`. */
export type Listed<T extends ArticleItem> = Omit<T, 'content'> & { content?: string }

/** A page of drafts or published items. */
export interface ArticlePage<T> {
  total_count: number
  item_count: number
  item: T[]
}

/** One draft in `draft/batchget`. */
export interface DraftListItem {
  media_id: string
  content: { news_item: Listed<ArticleItem>[]; create_time?: number; update_time?: number }
  /** Unix seconds. */
  update_time: number
}

/** One published item in `freepublish/batchget`. */
export interface PublishedListItem {
  article_id: string
  content: { news_item: Listed<PublishedArticleItem>[]; create_time?: number; update_time?: number }
  /** Unix seconds. */
  update_time: number
}

/** What `freepublish/submit` answers: the publishing task (the result comes later). */
export interface PublishSubmitted {
  publish_id: string
  msg_data_id?: string
}

/** `publish_status` values. */
export const PublishStatus = {
  Success: 0,
  Publishing: 1,
  /** 原创声明失败. */
  OriginalCheckFailed: 2,
  Failed: 3,
  /** 平台审核不通过. */
  Rejected: 4,
  /** Published, then every article deleted by the account. */
  DeletedByUser: 5,
  /** Published, then every article blocked by WeChat. */
  Blocked: 6,
} as const

/** What `freepublish/get` answers. */
export interface PublishJob {
  publish_id: string
  /** See {@link PublishStatus}: 0 success, 1 still publishing, 2–6 failed or removed. */
  publish_status: number
  /** On success: the published item's id (for `article`, `delete`, and `mpnewsarticle` messages). */
  article_id?: string
  /** On success: each article's permanent link (`idx` from 1). */
  article_detail?: { count: number; item: { idx: number; article_url: string }[] }
  /** On status 2 or 4: the articles that failed (from 1). */
  fail_idx?: number[]
}

/** Drafts (草稿箱, `/cgi-bin/draft/*`): articles saved for publishing. */
export class DraftApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Saves a draft of one or more articles and returns its media_id.
   *
   * @example
   * const { media_id: thumb } = await api.material.add('image', { data: jpg, filename: 'cover.jpg' })
   * const mediaId = await api.draft.add([{ title: 'Hello', content: '<p>Hi</p>', thumb_media_id: thumb }])
   */
  async add(articles: DraftArticle[]): Promise<string> {
    const { media_id } = await this.api.call<{ media_id: string }>('/cgi-bin/draft/add', {
      json: { articles },
      idempotent: false,
    })
    return media_id
  }

  /**
   * Gets a draft's articles.
   *
   * @example
   * const { news_item } = await api.draft.get(mediaId)
   * console.log(news_item[0]?.title, news_item[0]?.url)
   */
  get(mediaId: string): Promise<{ news_item: ArticleItem[] }> {
    return this.api.call('/cgi-bin/draft/get', { json: { media_id: mediaId } })
  }

  /**
   * Deletes a draft (irreversible).
   *
   * @example
   * await api.draft.delete(mediaId)
   */
  async delete(mediaId: string): Promise<void> {
    await this.api.call('/cgi-bin/draft/delete', { json: { media_id: mediaId } })
  }

  /**
   * Replaces one article of a draft; `index` counts from 0.
   *
   * @example
   * await api.draft.update(mediaId, 0, { title: 'Hello again', content: '<p>Hi</p>', thumb_media_id: thumb })
   */
  async update(mediaId: string, index: number, article: DraftArticle): Promise<void> {
    await this.api.call('/cgi-bin/draft/update', { json: { media_id: mediaId, index, articles: article } })
  }

  /**
   * Counts the drafts.
   *
   * @example
   * const drafts = await api.draft.count()
   */
  async count(): Promise<number> {
    const { total_count } = await this.api.call<{ total_count: number }>('/cgi-bin/draft/count')
    return total_count
  }

  /**
   * Lists drafts a page at a time (`count` 1–20), newest first; `noContent` leaves out the bodies.
   *
   * @example
   * const page = await api.draft.list(0, 20, true)
   * for (const draft of page.item) console.log(draft.media_id, draft.content.news_item[0]?.title)
   */
  list(offset = 0, count = 20, noContent = false): Promise<ArticlePage<DraftListItem>> {
    return this.api.call('/cgi-bin/draft/batchget', {
      json: { offset, count, no_content: noContent ? 1 : 0 },
    })
  }
}

/**
 * Free publishing (发布能力, `/cgi-bin/freepublish/*`): publishes a draft without notifying
 * followers. Publishing is asynchronous: poll `get` (or handle the PUBLISHJOBFINISH event).
 */
export class PublishApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Submits a draft for publishing and returns the task's id. Not retried on "system busy": a
   * second submission could publish twice. The draft leaves the draft box.
   *
   * @example
   * const publishId = await api.publish.submit(draftMediaId)
   */
  async submit(mediaId: string): Promise<string> {
    const { publish_id } = await this.api.call<PublishSubmitted>('/cgi-bin/freepublish/submit', {
      json: { media_id: mediaId },
      idempotent: false,
    })
    return String(publish_id)
  }

  /**
   * The state of a publishing task: `publish_status` 1 while publishing, 0 with `article_id` and
   * the links on success.
   *
   * @example
   * let job = await api.publish.get(publishId)
   * while (job.publish_status === PublishStatus.Publishing) {
   *   await sleep(2000)
   *   job = await api.publish.get(publishId)
   * }
   */
  get(publishId: string): Promise<PublishJob> {
    return this.api.call<PublishJob>('/cgi-bin/freepublish/get', { json: { publish_id: publishId } })
  }

  /**
   * Deletes a published item (irreversible): the article at `index` (from 1), or all of them when
   * `index` is left out.
   *
   * @example
   * await api.publish.delete(articleId)     // every article
   * await api.publish.delete(articleId, 2)  // only the second
   */
  async delete(articleId: string, index?: number): Promise<void> {
    await this.api.call('/cgi-bin/freepublish/delete', {
      json: index === undefined ? { article_id: articleId } : { article_id: articleId, index },
    })
  }

  /**
   * Gets a published item's articles by its article_id.
   *
   * @example
   * const { news_item } = await api.publish.article(articleId)
   * const live = news_item.filter((a) => !a.is_deleted)
   */
  article(articleId: string): Promise<{ news_item: PublishedArticleItem[] }> {
    return this.api.call('/cgi-bin/freepublish/getarticle', { json: { article_id: articleId } })
  }

  /**
   * Lists the items published through this API, a page at a time (`count` 1–20).
   *
   * @example
   * const page = await api.publish.list(0, 20, true)
   * for (const item of page.item) console.log(item.article_id, item.content.news_item[0]?.url)
   */
  list(offset = 0, count = 20, noContent = false): Promise<ArticlePage<PublishedListItem>> {
    return this.api.call('/cgi-bin/freepublish/batchget', {
      json: { offset, count, no_content: noContent ? 1 : 0 },
    })
  }
}
