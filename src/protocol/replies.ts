import { WempError } from './errors.js'
import { cdata } from './xml.js'

/** One article of a news reply. */
export interface Article {
  title: string
  description?: string
  /** The picture (large for the first article, small for the others). */
  picUrl?: string
  /** Where a tap leads. */
  url?: string
}

/** A passive reply: what the bot answers WeChat within the 5 seconds. */
export type Reply =
  | { type: 'text'; content: string }
  | { type: 'image'; mediaId: string }
  | { type: 'voice'; mediaId: string }
  | { type: 'video'; mediaId: string; title?: string; description?: string }
  | {
      type: 'music'
      thumbMediaId: string
      title?: string
      description?: string
      musicUrl?: string
      hqMusicUrl?: string
    }
  | { type: 'news'; articles: Article[] }
  | { type: 'transfer_customer_service'; kfAccount?: string }
  /** "Nothing to say": WeChat shows nothing and does not retry. Sent unencrypted, as WeChat requires. */
  | { type: 'success' }

/** The `type` of every reply. */
export type ReplyType = Reply['type']

/** The most articles WeChat shows in a news reply to a message a follower sent. */
export const MAX_ARTICLES_FOR_MESSAGES = 1
/** The most articles WeChat shows in a news reply in other scenes (events). */
export const MAX_ARTICLES = 8

/**
 * Reply builders, for the cases a plain return value does not cover.
 *
 * @example
 * bot.image((ctx) => reply.image(ctx.message.mediaId))
 * bot.text('人工', () => reply.transferToCustomerService())
 */
export const reply = {
  text: (content: string): Reply => ({ type: 'text', content }),
  image: (mediaId: string): Reply => ({ type: 'image', mediaId }),
  voice: (mediaId: string): Reply => ({ type: 'voice', mediaId }),
  video: (video: { mediaId: string; title?: string; description?: string }): Reply => ({
    type: 'video',
    ...video,
  }),
  music: (music: {
    thumbMediaId: string
    title?: string
    description?: string
    musicUrl?: string
    hqMusicUrl?: string
  }): Reply => ({ type: 'music', ...music }),
  news: (articles: Article | Article[]): Reply => ({
    type: 'news',
    articles: Array.isArray(articles) ? articles : [articles],
  }),
  /** Hands the conversation to the customer-service system (多客服), optionally to one agent. */
  transferToCustomerService: (kfAccount?: string): Reply =>
    kfAccount === undefined
      ? { type: 'transfer_customer_service' }
      : { type: 'transfer_customer_service', kfAccount },
  /** Answers WeChat with `success`: nothing is shown to the follower and WeChat does not retry. */
  success: (): Reply => SUCCESS,
}

const SUCCESS: Reply = Object.freeze({ type: 'success' })

const REPLY_TYPES = new Set<string>([
  'text',
  'image',
  'voice',
  'video',
  'music',
  'news',
  'transfer_customer_service',
  'success',
])

/** Whether a value is a {@link Reply} object (and not, say, an article). */
export function isReply(value: unknown): value is Reply {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    REPLY_TYPES.has((value as { type: string }).type)
  )
}

function isArticle(value: unknown): value is Article {
  return (
    typeof value === 'object' && value !== null && typeof (value as { title?: unknown }).title === 'string'
  )
}

/**
 * What a handler may return:
 * - a string: a text reply (the empty string means `success`);
 * - an article or an array of articles: a news reply;
 * - a {@link Reply} object: that reply;
 * - `null`: handled, answer `success`;
 * - `undefined` (nothing): not handled, the next handler is tried.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing are typed `void`.
export type ReplyValue = string | Reply | Article | Article[] | null | undefined | void

/**
 * Turns a handler's return value into a reply; `undefined` means "not handled".
 * @throws WempError `invalid_reply` for anything else
 */
export function toReply(value: ReplyValue): Reply | undefined {
  if (value === undefined) return undefined
  if (value === null || value === '') return SUCCESS
  if (typeof value === 'string') return { type: 'text', content: value }
  if (isReply(value)) return value
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(isArticle)) return { type: 'news', articles: value }
  } else if (isArticle(value)) {
    return { type: 'news', articles: [value] }
  }
  throw new WempError(
    'invalid_reply',
    'a handler returned something that is not a reply: return a string, an article or articles, a reply.* object, null, or nothing',
  )
}

/**
 * Checks a reply against WeChat's rules before it is sent.
 * @param maxArticles 1 for replies to a follower's message, 8 otherwise
 * @throws WempError `invalid_reply`
 */
export function validateReply(value: Reply, maxArticles: number): void {
  const fail = (why: string) => new WempError('invalid_reply', `invalid ${value.type} reply: ${why}`)
  switch (value.type) {
    case 'text':
      if (typeof value.content !== 'string') throw fail('content must be a string')
      return
    case 'image':
    case 'voice':
    case 'video':
      if (typeof value.mediaId !== 'string' || value.mediaId === '') throw fail('mediaId is required')
      return
    case 'music':
      if (typeof value.thumbMediaId !== 'string' || value.thumbMediaId === '')
        throw fail('thumbMediaId is required')
      return
    case 'news':
      if (!Array.isArray(value.articles) || value.articles.length === 0)
        throw fail('at least one article is required')
      if (value.articles.length > maxArticles) {
        throw fail(
          `${value.articles.length} articles, but WeChat shows at most ${maxArticles} ${
            maxArticles === MAX_ARTICLES_FOR_MESSAGES
              ? 'in a reply to a message a follower sent (up to 8 in replies to events); send the others through the customer-service API'
              : 'in one news reply'
          }`,
        )
      }
      for (const article of value.articles) if (!isArticle(article)) throw fail('every article needs a title')
      return
    case 'transfer_customer_service':
    case 'success':
      return
  }
}

/** Who a reply goes to and when: the inbound message's ids, swapped by {@link buildReplyXml}. */
export interface ReplyAddress {
  /** The follower's OpenID (the inbound FromUserName). */
  toUserName: string
  /** The account's original id (the inbound ToUserName). */
  fromUserName: string
  /** Unix seconds. */
  createTime: number
}

const opt = (name: string, value: string | undefined) =>
  value === undefined ? '' : `<${name}>${cdata(value)}</${name}>`

/**
 * Writes a passive reply as WeChat expects it. A `success` reply is the bare text `success`.
 *
 * @example
 * buildReplyXml({ type: 'text', content: 'hi' }, { toUserName: 'oUser', fromUserName: 'gh_x', createTime: 1700000000 })
 */
export function buildReplyXml(value: Reply, address: ReplyAddress): string {
  if (value.type === 'success') return 'success'
  const head = `<xml><ToUserName>${cdata(address.toUserName)}</ToUserName><FromUserName>${cdata(address.fromUserName)}</FromUserName><CreateTime>${Math.trunc(address.createTime)}</CreateTime><MsgType><![CDATA[${value.type}]]></MsgType>`
  switch (value.type) {
    case 'text':
      return `${head}<Content>${cdata(value.content)}</Content></xml>`
    case 'image':
      return `${head}<Image><MediaId>${cdata(value.mediaId)}</MediaId></Image></xml>`
    case 'voice':
      return `${head}<Voice><MediaId>${cdata(value.mediaId)}</MediaId></Voice></xml>`
    case 'video':
      return `${head}<Video><MediaId>${cdata(value.mediaId)}</MediaId>${opt('Title', value.title)}${opt('Description', value.description)}</Video></xml>`
    case 'music':
      return `${head}<Music>${opt('Title', value.title)}${opt('Description', value.description)}${opt('MusicUrl', value.musicUrl)}${opt('HQMusicUrl', value.hqMusicUrl)}<ThumbMediaId>${cdata(value.thumbMediaId)}</ThumbMediaId></Music></xml>`
    case 'news': {
      let items = ''
      for (const a of value.articles) {
        items += `<item><Title>${cdata(a.title)}</Title>${opt('Description', a.description)}${opt('PicUrl', a.picUrl)}${opt('Url', a.url)}</item>`
      }
      return `${head}<ArticleCount>${value.articles.length}</ArticleCount><Articles>${items}</Articles></xml>`
    }
    case 'transfer_customer_service':
      return value.kfAccount === undefined
        ? `${head}</xml>`
        : `${head}<TransInfo><KfAccount>${cdata(value.kfAccount)}</KfAccount></TransInfo></xml>`
  }
}

/**
 * The safe-mode reply envelope, laid out exactly as the official samples' template (whitespace is
 * not significant to WeChat, but byte-equality with the samples makes the vectors testable).
 */
export function buildEncryptedEnvelope(
  encrypt: string,
  msgSignature: string,
  timestamp: string,
  nonce: string,
): string {
  return `<xml>\n<Encrypt><![CDATA[${encrypt}]]></Encrypt>\n<MsgSignature><![CDATA[${msgSignature}]]></MsgSignature>\n<TimeStamp>${timestamp}</TimeStamp>\n<Nonce>${cdata(nonce)}</Nonce>\n</xml>`
}
