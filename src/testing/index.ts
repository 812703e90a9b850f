import { randomBytes } from 'node:crypto'
import type { Bot } from '../bot/bot.js'
import type { WempRequest, WempResponse } from '../bot/request.js'
import { MessageCrypto } from '../protocol/crypto.js'
import { textOf } from '../protocol/fields.js'
import {
  buildMessageXml,
  type EventOf,
  type EventType,
  type MessageInput,
  type MessageOf,
  type MessageType,
} from '../protocol/messages.js'
import type { Mode } from '../protocol/push.js'
import { type Article, MAX_ARTICLES, MAX_ARTICLES_FOR_MESSAGES, type Reply } from '../protocol/replies.js'
import { computeSignature, signaturesEqual } from '../protocol/signature.js'
import { parseXml, type XmlObject, type XmlValue } from '../protocol/xml.js'

/**
 * The test kit: plays WeChat against a bot. It builds correctly signed (and, in compatible and
 * safe mode, encrypted) requests for any message or event, sends them to a bot in-process or over
 * HTTP, opens the reply (verifying its signature and decrypting it) and checks it against
 * WeChat's rules.
 *
 * @example
 * import { createTestKit } from 'wemp/testing'
 * const kit = createTestKit({ token, appId, encodingAESKey })
 * const res = await kit.send(bot, kit.text('hi'), { mode: 'safe' })
 * assert.deepEqual(res.reply, { type: 'text', content: 'hello!' })
 */

/** The account and follower the kit plays, and the bot's secrets. */
export interface TestKitOptions {
  token: string
  appId?: string
  encodingAESKey?: string
  /** The account's original id, ToUserName of every message. Default `gh_wemptest000`. */
  accountId?: string
  /** The follower's OpenID, FromUserName of every message. Default `oWempTestUser0000000000000`. */
  openid?: string
  /** The clock in milliseconds. Default `Date.now`. */
  now?: () => number
}

/** How to sign and send one request. */
export interface RequestOptions {
  /** Default `plaintext`. */
  mode?: Mode
  timestamp?: string
  nonce?: string
  /** Sign with this token instead of the bot's (to test forged requests). */
  token?: string
  /** Encrypt for this AppID instead of the bot's (to test the AppID check). */
  appId?: string
  /** Do not sign at all. */
  unsigned?: boolean
}

/** A request as the kit builds it, usable with `bot.handle()` or over HTTP. */
export interface SignedRequest extends WempRequest {
  method: string
  query: Record<string, string>
  body: string
  /** The query string, with its `?`. */
  search: string
  /** The message XML before encryption (for POSTs). */
  plainBody: string
  mode: Mode
}

/** A reply as the follower would get it. */
export type ReceivedReply = Reply

/** What came back, opened and checked. */
export interface TestResponse {
  status: number
  headers: Record<string, string>
  /** The body as sent. */
  body: string
  /** Whether the body was an encrypted envelope. */
  encrypted: boolean
  /** The reply XML after decryption (or the plain body). */
  xml: string
  /** The reply, typed; undefined when the status is not 200. */
  reply: ReceivedReply | undefined
  /** The reply's header, for non-`success` replies. */
  header?: { toUserName: string; fromUserName: string; createTime: number }
  /** Every way the response breaks WeChat's rules (empty when it is fine). */
  violations: string[]
}

/** Where the kit sends requests: a bot in-process, a `handle`-like function, or an HTTP URL. */
export type Target = Bot | ((request: WempRequest) => Promise<WempResponse>) | string | URL

type FieldsOf<T> = Partial<
  Omit<T, 'type' | 'event' | 'raw' | 'toUserName' | 'fromUserName' | 'createTime'>
> & {
  toUserName?: string
  fromUserName?: string
  createTime?: number
}

let msgIdCounter = 0n
const msgIdBase = 7_300_000_000_000_000_000n

/** The kit; see {@link createTestKit}. */
export class TestKit {
  readonly token: string
  readonly appId: string | undefined
  readonly accountId: string
  readonly openid: string
  readonly #crypto: MessageCrypto | undefined
  readonly #encodingAESKey: string
  readonly #now: () => number

  constructor(options: TestKitOptions) {
    this.token = options.token
    this.appId = options.appId
    this.accountId = options.accountId ?? 'gh_wemptest000'
    this.openid = options.openid ?? 'oWempTestUser0000000000000'
    this.#now = options.now ?? Date.now
    this.#encodingAESKey = options.encodingAESKey ?? ''
    if (options.encodingAESKey) this.#crypto = new MessageCrypto(options.encodingAESKey, options.appId ?? '')
  }

  /** Unix seconds now. */
  seconds(): number {
    return Math.floor(this.#now() / 1000)
  }

  /** A fresh 64-bit MsgId, as a string. */
  nextMsgId(): string {
    msgIdCounter += 1n
    return String(msgIdBase + msgIdCounter)
  }

  /** A normal message of any type, with the header and MsgId filled in. */
  message<T extends MessageType>(type: T, fields: FieldsOf<MessageOf<T>> = {}): MessageInput {
    return {
      type,
      toUserName: this.accountId,
      fromUserName: this.openid,
      createTime: this.seconds(),
      msgId: this.nextMsgId(),
      ...fields,
    } as unknown as MessageInput
  }

  /** A text message. */
  text(content: string, fields: FieldsOf<MessageOf<'text'>> = {}): MessageInput {
    return this.message('text', { content, ...fields })
  }

  /** An event of any type, with the header filled in. */
  event<E extends EventType>(event: E, fields: FieldsOf<EventOf<E>> = {}): MessageInput {
    return {
      type: 'event',
      event,
      toUserName: this.accountId,
      fromUserName: this.openid,
      createTime: this.seconds(),
      ...fields,
    } as unknown as MessageInput
  }

  /** A menu click. */
  click(eventKey: string): MessageInput {
    return this.event('CLICK', { eventKey })
  }

  /** A subscription, by a parametric QR code when `scene` is given. */
  subscribe(scene?: string): MessageInput {
    return scene === undefined
      ? this.event('subscribe', {})
      : this.event('subscribe', { eventKey: `qrscene_${scene}`, ticket: 'TICKET' })
  }

  /** The URL-verification GET WeChat sends when the server URL is saved. */
  handshake(
    options: { echostr?: string; token?: string; timestamp?: string; nonce?: string } = {},
  ): SignedRequest {
    const timestamp = options.timestamp ?? String(this.seconds())
    const nonce = options.nonce ?? randomNonce()
    const echostr = options.echostr ?? randomNonce() + randomNonce()
    const query = {
      signature: computeSignature([options.token ?? this.token, timestamp, nonce]),
      echostr,
      timestamp,
      nonce,
    }
    return { method: 'GET', query, body: '', search: toSearch(query), plainBody: '', mode: 'plaintext' }
  }

  /** A signed POST carrying a message (or raw XML) in the given mode. */
  request(message: MessageInput | string, options: RequestOptions = {}): SignedRequest {
    const mode = options.mode ?? 'plaintext'
    const token = options.token ?? this.token
    const timestamp = options.timestamp ?? String(this.seconds())
    const nonce = options.nonce ?? randomNonce()
    const xml = typeof message === 'string' ? message : buildMessageXml(message)
    const query: Record<string, string> = {}
    if (!options.unsigned) query.signature = computeSignature([token, timestamp, nonce])
    query.timestamp = timestamp
    query.nonce = nonce
    const openid = typeof message === 'string' ? undefined : message.fromUserName
    if (openid) query.openid = openid
    let body = xml
    if (mode !== 'plaintext') {
      const crypto = this.#cryptoFor(options.appId)
      const encrypt = crypto.encrypt(xml)
      query.encrypt_type = 'aes'
      if (!options.unsigned) query.msg_signature = computeSignature([token, timestamp, nonce, encrypt])
      const to = typeof message === 'string' ? this.accountId : message.toUserName
      body =
        mode === 'safe'
          ? `<xml><ToUserName><![CDATA[${to}]]></ToUserName><Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`
          : `${xml.slice(0, xml.lastIndexOf('</xml>'))}<Encrypt><![CDATA[${encrypt}]]></Encrypt></xml>`
    }
    return { method: 'POST', query, body, search: toSearch(query), plainBody: xml, mode }
  }

  /** Sends a message to a bot (in-process) or a URL (over HTTP) and opens the reply. */
  async send(
    target: Target,
    message: MessageInput | string,
    options: RequestOptions = {},
  ): Promise<TestResponse> {
    const request = this.request(message, options)
    const response = await deliver(target, request)
    return this.open(response, request)
  }

  /** Sends a handshake and returns the raw response. */
  async verifyUrl(
    target: Target,
    options: { echostr?: string } = {},
  ): Promise<WempResponse & { echostr: string }> {
    const request = this.handshake(options)
    const response = await deliver(target, request)
    return { ...response, echostr: request.query.echostr! }
  }

  /**
   * Opens a response to a request the kit built: verifies and decrypts an encrypted reply, parses
   * it, and lists every way it breaks WeChat's rules in `violations`.
   */
  open(response: WempResponse, request: SignedRequest): TestResponse {
    const violations: string[] = []
    const out: TestResponse = {
      status: response.status,
      headers: response.headers,
      body: response.body,
      encrypted: false,
      xml: response.body,
      reply: undefined,
      violations,
    }
    if (response.status !== 200) {
      violations.push(`status ${response.status}: WeChat shows "该公众号暂时无法提供服务" and retries`)
      return out
    }
    const body = response.body
    if (body === '' || body === 'success') {
      out.reply = { type: 'success' }
      return out
    }
    let xml: XmlObject
    try {
      xml = parseXml(body)
    } catch (error) {
      violations.push(`the body is not XML: ${(error as Error).message}`)
      return out
    }
    if (xml.Encrypt !== undefined) {
      out.encrypted = true
      const opened = this.#openEnvelope(xml, request, violations)
      if (opened === undefined) return out
      out.xml = opened
      try {
        xml = parseXml(opened)
      } catch (error) {
        violations.push(`the decrypted reply is not XML: ${(error as Error).message}`)
        return out
      }
    } else if (request.mode === 'safe') {
      violations.push('safe mode: the reply must be encrypted (only success or an empty body may be plain)')
    }
    const message = request.plainBody ? safeParse(request.plainBody) : undefined
    const header = {
      toUserName: textOf(xml.ToUserName),
      fromUserName: textOf(xml.FromUserName),
      createTime: Number(textOf(xml.CreateTime)),
    }
    out.header = header
    if (message) {
      if (header.toUserName !== textOf(message.FromUserName))
        violations.push('ToUserName must be the follower (the message FromUserName)')
      if (header.fromUserName !== textOf(message.ToUserName))
        violations.push('FromUserName must be the account (the message ToUserName)')
    }
    const created = textOf(xml.CreateTime)
    if (!/^\d{1,10}$/.test(created))
      violations.push(`CreateTime must be unix seconds, got ${JSON.stringify(created)}`)
    else if (Math.abs(header.createTime - this.seconds()) > 86_400)
      violations.push(`CreateTime ${created} is not near now (seconds, not milliseconds)`)
    const reply = parseReply(xml, violations)
    out.reply = reply
    if (reply?.type === 'news' && message) {
      const limit = textOf(message.MsgType) === 'event' ? MAX_ARTICLES : MAX_ARTICLES_FOR_MESSAGES
      if (reply.articles.length > limit)
        violations.push(`${reply.articles.length} articles: WeChat shows at most ${limit} here`)
    }
    return out
  }

  #openEnvelope(xml: XmlObject, request: SignedRequest, violations: string[]): string | undefined {
    const encrypt = textOf(xml.Encrypt)
    const signature = textOf(xml.MsgSignature)
    const timestamp = textOf(xml.TimeStamp)
    const nonce = textOf(xml.Nonce)
    if (!signature || !timestamp || !nonce) {
      violations.push('the encrypted reply needs Encrypt, MsgSignature, TimeStamp and Nonce')
      return undefined
    }
    if (request.mode === 'plaintext') violations.push('plaintext mode: the reply must not be encrypted')
    if (!/^\d{1,10}$/.test(timestamp))
      violations.push(`TimeStamp must be unix seconds, got ${JSON.stringify(timestamp)}`)
    if (!signaturesEqual(computeSignature([this.token, timestamp, nonce, encrypt]), signature)) {
      violations.push('MsgSignature does not verify')
    }
    try {
      const opened = this.#cryptoFor(undefined).decrypt(encrypt)
      if (opened.receiveId !== this.appId)
        violations.push(`the reply is encrypted for ${opened.receiveId}, not ${this.appId}`)
      return opened.message
    } catch (error) {
      violations.push(`the reply does not decrypt: ${(error as Error).message}`)
      return undefined
    }
  }

  #cryptoFor(appId: string | undefined): MessageCrypto {
    if (!this.#crypto)
      throw new Error('the test kit needs encodingAESKey (and appId) for compatible and safe mode')
    if (appId === undefined || appId === this.#crypto.receiveId) return this.#crypto
    return new MessageCrypto(this.#encodingAESKey, appId)
  }
}

/** Creates a test kit for a bot configured with the same token, AppID and EncodingAESKey. */
export function createTestKit(options: TestKitOptions): TestKit {
  return new TestKit(options)
}

function safeParse(xml: string): XmlObject | undefined {
  try {
    return parseXml(xml)
  } catch {
    return undefined
  }
}

function randomNonce(): string {
  return String(randomBytes(4).readUInt32BE(0))
}

function toSearch(query: Record<string, string>): string {
  return `?${new URLSearchParams(query).toString()}`
}

async function deliver(target: Target, request: SignedRequest): Promise<WempResponse> {
  if (typeof target === 'string' || target instanceof URL) {
    const url = new URL(String(target))
    url.search = request.search
    const init: RequestInit = { method: request.method, headers: { 'content-type': 'text/xml' } }
    if (request.method === 'POST') init.body = request.body
    const res = await fetch(url, init)
    const headers: Record<string, string> = {}
    res.headers.forEach((value, key) => {
      headers[key] = value
    })
    return { status: res.status, headers, body: await res.text() }
  }
  if (typeof target === 'function') return target(request)
  return target.handle(request)
}

function child(xml: XmlObject, name: string): XmlObject | undefined {
  const value = xml[name]
  const first = Array.isArray(value) ? value[0] : value
  return typeof first === 'object' && first !== null && !Array.isArray(first) ? first : undefined
}

function optional(xml: XmlObject | undefined, name: string): string | undefined {
  if (!xml) return undefined
  const value = xml[name]
  return value === undefined ? undefined : textOf(value)
}

/** Parses a passive reply's XML into a typed reply, noting what WeChat would refuse. */
export function parseReply(xml: XmlObject, violations: string[] = []): Reply | undefined {
  const type = textOf(xml.MsgType)
  const need = (value: string | undefined, what: string): string => {
    if (!value) violations.push(`${type} reply: ${what} is required`)
    return value ?? ''
  }
  const withOptional = <T extends object>(base: T, extra: Record<string, string | undefined>): T => {
    for (const [key, value] of Object.entries(extra))
      if (value !== undefined) (base as Record<string, unknown>)[key] = value
    return base
  }
  switch (type) {
    case 'text': {
      const content = textOf(xml.Content)
      if (content === '') violations.push('text reply: empty Content is not shown (answer success instead)')
      return { type: 'text', content }
    }
    case 'image':
    case 'voice': {
      const inner = child(xml, type === 'image' ? 'Image' : 'Voice')
      return { type, mediaId: need(optional(inner, 'MediaId'), 'MediaId') }
    }
    case 'video': {
      const inner = child(xml, 'Video')
      return withOptional(
        { type: 'video' as const, mediaId: need(optional(inner, 'MediaId'), 'MediaId') },
        { title: optional(inner, 'Title'), description: optional(inner, 'Description') },
      )
    }
    case 'music': {
      const inner = child(xml, 'Music')
      return withOptional(
        { type: 'music' as const, thumbMediaId: need(optional(inner, 'ThumbMediaId'), 'ThumbMediaId') },
        {
          title: optional(inner, 'Title'),
          description: optional(inner, 'Description'),
          musicUrl: optional(inner, 'MusicUrl'),
          hqMusicUrl: optional(inner, 'HQMusicUrl'),
        },
      )
    }
    case 'news': {
      const items = child(xml, 'Articles')?.item
      const list: XmlValue[] = items === undefined ? [] : Array.isArray(items) ? items : [items]
      const articles: Article[] = list.map((item) => {
        const element = typeof item === 'object' && !Array.isArray(item) ? item : undefined
        return withOptional(
          { title: optional(element, 'Title') ?? '' },
          {
            description: optional(element, 'Description'),
            picUrl: optional(element, 'PicUrl'),
            url: optional(element, 'Url'),
          },
        )
      })
      const count = Number(textOf(xml.ArticleCount))
      if (count !== articles.length)
        violations.push(`news reply: ArticleCount ${count} but ${articles.length} items`)
      if (articles.length === 0) violations.push('news reply: no articles')
      return { type: 'news', articles }
    }
    case 'transfer_customer_service': {
      const kfAccount = optional(child(xml, 'TransInfo'), 'KfAccount')
      return kfAccount === undefined ? { type } : { type, kfAccount }
    }
    default:
      violations.push(`unknown reply MsgType ${JSON.stringify(type)}`)
      return undefined
  }
}

/**
 * Throws unless a response is a valid WeChat reply.
 * @example
 * assertValidReply(await kit.send(bot, kit.text('hi')))
 */
export function assertValidReply(response: TestResponse): TestResponse {
  if (response.violations.length > 0) {
    throw new Error(
      `the reply breaks WeChat's rules:\n- ${response.violations.join('\n- ')}\nbody: ${response.body}`,
    )
  }
  return response
}

export * from './wechat-api/index.js'
