import { WempError } from '../protocol/errors.js'
import type { Article, Reply } from '../protocol/replies.js'
import type { WechatApi } from './client.js'

/**
 * A customer-service message (客服消息): what a bot sends a follower outside the passive reply, within
 * WeChat's window (since 2023: 5 messages in the 48 hours after the follower's last message; 3 in
 * the minute after a menu click, a follow or a scan). Outside it WeChat answers 45015; over the
 * quota, 45047.
 *
 * The passive replies' shapes (`text`, `image`, `voice`, `video`, `music`, `news`) are accepted as they
 * are, so a handler's reply can be sent as a late message unchanged.
 */
export type CustomMessage =
  /** The passive replies' shapes, unchanged. */
  | Extract<Reply, { type: 'text' | 'image' | 'voice' | 'music' | 'news' }>
  /** A video; unlike the passive reply it may carry a thumbnail. */
  | { type: 'video'; mediaId: string; thumbMediaId?: string; title?: string; description?: string }
  /** A published article, by its material media_id. */
  | { type: 'mpnews'; mediaId: string }
  /** A published article, by its article_id (free publishing). */
  | { type: 'mpnewsarticle'; articleId: string }
  /** A menu message: tappable choices whose tap comes back as a text message with `bizmsgmenuid`. */
  | { type: 'msgmenu'; headContent: string; list: { id: string; content: string }[]; tailContent?: string }
  | { type: 'wxcard'; cardId: string }
  | { type: 'miniprogrampage'; title: string; appId: string; pagePath: string; thumbMediaId: string }

/** What `send` accepts: a message, or what a handler may return (a string is a text message). */
export type CustomMessageValue = CustomMessage | Reply | string | Article | Article[]

/** Options of one customer-service send. */
export interface SendOptions {
  /** Send as this customer-service agent (`account@公众号id`). */
  kfAccount?: string
}

/** Turns what a handler may return into a customer-service message; `undefined` for `success` (nothing to send). */
export function toCustomMessage(value: CustomMessageValue): CustomMessage | undefined {
  if (typeof value === 'string') return { type: 'text', content: value }
  if (Array.isArray(value)) return { type: 'news', articles: value }
  if (!('type' in value)) return { type: 'news', articles: [value] }
  if (value.type === 'success') return undefined
  if (value.type === 'transfer_customer_service') {
    throw new WempError(
      'invalid_reply',
      'a transfer to customer service can only be a passive reply, not a customer-service message',
    )
  }
  return value
}

/** The JSON body WeChat expects for a message. */
export function customMessageBody(openid: string, message: CustomMessage, options?: SendOptions) {
  const body: Record<string, unknown> = { touser: openid, msgtype: message.type }
  switch (message.type) {
    case 'text':
      body.text = { content: message.content }
      break
    case 'image':
    case 'voice':
      body[message.type] = { media_id: message.mediaId }
      break
    case 'video':
      body.video = {
        media_id: message.mediaId,
        thumb_media_id: message.thumbMediaId,
        title: message.title,
        description: message.description,
      }
      break
    case 'music':
      body.music = {
        title: message.title,
        description: message.description,
        musicurl: message.musicUrl,
        hqmusicurl: message.hqMusicUrl,
        thumb_media_id: message.thumbMediaId,
      }
      break
    case 'news':
      if (message.articles.length !== 1) {
        throw new WempError(
          'invalid_reply',
          `a customer-service news message holds exactly 1 article (got ${message.articles.length})`,
        )
      }
      body.news = {
        articles: message.articles.map((a) => ({
          title: a.title,
          description: a.description,
          url: a.url,
          picurl: a.picUrl,
        })),
      }
      break
    case 'mpnews':
      body.mpnews = { media_id: message.mediaId }
      break
    case 'mpnewsarticle':
      body.mpnewsarticle = { article_id: message.articleId }
      break
    case 'msgmenu':
      body.msgmenu = {
        head_content: message.headContent,
        list: message.list,
        tail_content: message.tailContent,
      }
      break
    case 'wxcard':
      body.wxcard = { card_id: message.cardId }
      break
    case 'miniprogrampage':
      body.miniprogrampage = {
        title: message.title,
        appid: message.appId,
        pagepath: message.pagePath,
        thumb_media_id: message.thumbMediaId,
      }
      break
    default: {
      const unknown: { type?: unknown } = message
      throw new WempError('invalid_reply', `unknown customer-service message type ${String(unknown.type)}`)
    }
  }
  if (options?.kfAccount) body.customservice = { kf_account: options.kfAccount }
  return body
}

/** Customer-service messages (`/cgi-bin/message/custom/*`). */
export class CustomServiceApi {
  constructor(private readonly api: WechatApi) {}

  /**
   * Sends a message to a follower.
   *
   * @example
   * await api.customService.send(openid, 'your report is ready')
   * await api.customService.send(openid, { type: 'image', mediaId })
   */
  async send(openid: string, message: CustomMessageValue, options?: SendOptions): Promise<void> {
    const value = toCustomMessage(message)
    if (value === undefined) return
    await this.api.call('/cgi-bin/message/custom/send', {
      json: customMessageBody(openid, value, options),
      idempotent: false,
    })
  }

  /** Shows (or cancels) "对方正在输入…" to a follower, for up to 15 s or until the next message. */
  async typing(openid: string, typing = true): Promise<void> {
    await this.api.call('/cgi-bin/message/custom/typing', {
      json: { touser: openid, command: typing ? 'Typing' : 'CancelTyping' },
    })
  }
}
