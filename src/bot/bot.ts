import { type ApiOptions, WechatApi } from '../api/client.js'
import { Delivery, type DeliveryOptions } from '../delivery/delivery.js'
import { RequestRejectedError, WempError } from '../protocol/errors.js'
import {
  type EventOf,
  type EventType,
  isUserMessage,
  type Message,
  type MessageOf,
  type MessageType,
  type UnknownMessage,
} from '../protocol/messages.js'
import { type Mode, type OpenedPush, PushProtocol } from '../protocol/push.js'
import {
  MAX_ARTICLES,
  MAX_ARTICLES_FOR_MESSAGES,
  type Reply,
  type ReplyValue,
  reply as replies,
  toReply,
  validateReply,
} from '../protocol/replies.js'
import { SessionManager, type SessionOptions } from '../session/session.js'
import { MemoryStore } from '../storage/memory/index.js'
import { type Store, StoreError } from '../storage/store.js'
import { type Context, type MatchedContext, PushContext } from './context.js'
import { createConsoleLogger, type Logger, type LogLevel, silentLogger } from './logger.js'
import { compose, type Middleware } from './middleware.js'
import {
  bodyText,
  DEFAULT_MAX_BODY_SIZE,
  exceedsLimit,
  readLimited,
  type WempRequest,
  type WempResponse,
} from './request.js'
import { type AnyHandler, type Handler, type Pattern, patternMatcher, Router } from './router.js'

/** How a bot is configured. Only `token` is always required. */
export interface BotOptions {
  /** The Token entered in the MP console (设置与开发 → 基本配置 → 服务器配置): 3-32 letters and digits. */
  token: string
  /** The AppID; required with `encodingAESKey` (encrypted pushes name the AppID they are for). */
  appId?: string
  /** The 43-character EncodingAESKey; needed for safe mode (and to read compatible mode's ciphertext). */
  encodingAESKey?: string
  /** Refuse plaintext pushes (403): only encrypted ones are accepted. */
  requireEncryption?: boolean
  /**
   * Refuse pushes whose `timestamp` is further than this many seconds from now (replay
   * protection). Off by default: WeChat's clock and retries make a tight window risky; 300 is a
   * sensible value.
   */
  maxTimestampSkew?: number
  /** The largest body accepted, in bytes (413 beyond it). Default 64 KiB. */
  maxBodySize?: number
  /** Where to log; `false` for nothing. Default: one line per entry on stderr from `logLevel` up. */
  logger?: Logger | false
  /** The default logger's level (default `info`, or `WEMP_LOG_LEVEL`). */
  logLevel?: LogLevel
  /**
   * Called when a handler throws or returns an invalid reply. It may return a reply for the
   * follower (e.g. "something went wrong"); otherwise WeChat gets `success` (the follower sees
   * nothing, and WeChat does not retry).
   */
  onError?: ErrorHook
  /**
   * Where state lives: sessions now; retry de-duplication and the access token later. Default:
   * an in-memory store (fine for one long-lived process; use Redis, a database or object storage
   * when several instances or cloud functions serve the bot).
   */
  store?: Store
  /** Session settings. */
  session?: SessionOptions
  /**
   * The AppSecret (基本配置 → 开发者密码): enables `ctx.api`, `ctx.send` and late replies through
   * the customer-service API. Needs `appId`.
   */
  appSecret?: string
  /**
   * The WeChat API client's settings (base URL, token source, timeout), or a client of your own.
   * By default the client shares the bot's store and logger.
   */
  api?: WechatApi | Omit<ApiOptions, 'appId' | 'appSecret' | 'store' | 'logger' | 'now'>
  /**
   * WeChat's delivery rules: retry de-duplication and the 5-second deadline (see `Delivery`).
   * On by default; `false` turns both off (every delivery runs the handlers, and WeChat waits for
   * them however long they take).
   */
  delivery?: DeliveryOptions | false
  /** The clock, in milliseconds (for tests). */
  now?: () => number
}

/** See {@link BotOptions.onError}. */
export type ErrorHook = (error: unknown, ctx: Context) => ReplyValue | Promise<ReplyValue>

const XML_HEADERS = { 'content-type': 'application/xml; charset=utf-8' } as const
const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8' } as const
const SUCCESS: Reply = replies.success()

const isType =
  <T extends string>(type: T) =>
  (message: Message) =>
    message.type === type
const isEvent =
  (event: string) =>
  (message: Message): boolean =>
    (message.type === 'event' || message.type === 'unknown') && message.event === event

/**
 * A WeChat Official Account bot: register handlers, then serve it through `handle` (plain
 * request data), `fetch` (web-standard Request/Response) or an adapter.
 *
 * @example
 * const bot = createBot({ token: process.env.WECHAT_TOKEN! })
 * bot.text(/^hi/i, () => 'hello!')
 * bot.subscribe((ctx) => `welcome, scene ${ctx.message.scene ?? 'none'}`)
 * bot.click('V1001_TODAY', () => [{ title: 'Today', url: 'https://example.com' }])
 */
export class Bot {
  readonly log: Logger
  readonly protocol: PushProtocol
  readonly maxBodySize: number
  /** The bot's store (see {@link BotOptions.store}). */
  readonly store: Store
  readonly sessions: SessionManager
  /** The WeChat API client, when the bot has an AppSecret (or an `api` option). */
  readonly api: WechatApi | undefined
  readonly #account: string
  readonly #delivery: Delivery | undefined
  readonly #now: () => number
  readonly #router = new Router()
  readonly #middleware: Middleware[] = []
  #run: ((ctx: Context) => Promise<void>) | undefined
  #onError: ErrorHook | undefined

  constructor(options: BotOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new WempError('invalid_config', 'createBot needs options: { token, appId?, encodingAESKey? }')
    }
    this.protocol = new PushProtocol(options)
    this.maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE
    this.log =
      options.logger === false ? silentLogger : (options.logger ?? createConsoleLogger(options.logLevel))
    this.#onError = options.onError
    this.store = options.store ?? new MemoryStore()
    this.sessions = new SessionManager(this.store, options.session)
    this.#account = options.appId ?? ''
    this.api = createApiClient(options, this.store, this.log)
    this.#now = options.now ?? Date.now
    this.#delivery =
      options.delivery === false
        ? undefined
        : new Delivery(options.delivery ?? {}, this.store, this.log, this.api, this.#now)
  }

  // ── registration ──────────────────────────────────────────────────────────

  /** Adds middleware around every handler (onion order). */
  use(middleware: Middleware): this {
    this.#middleware.push(middleware)
    this.#run = undefined
    return this
  }

  /** Handles every message of one MsgType (`text`, `image`, …), every `event`, or every `unknown` push. */
  on<T extends MessageType>(type: T, handler: Handler<MessageOf<T>>): this
  on(type: 'event', handler: Handler<Extract<Message, { type: 'event' }>>): this
  on(type: 'unknown', handler: Handler<UnknownMessage>): this
  on(type: string, handler: AnyHandler): this {
    return this.#add(isType(type), handler)
  }

  /**
   * Handles text messages: all of them, those equal to a string, those matching a regular
   * expression (the match is `ctx.match`), or those a predicate accepts.
   *
   * @example
   * bot.text('help', () => 'commands: …')
   * bot.text(/^weather (\w+)/, (ctx) => weatherIn(ctx.match[1]))
   */
  text(handler: Handler<MessageOf<'text'>>): this
  text(pattern: RegExp, handler: Handler<MessageOf<'text'>, MatchedContext<MessageOf<'text'>>>): this
  text(pattern: Pattern<MessageOf<'text'>>, handler: Handler<MessageOf<'text'>>): this
  text(a: Pattern<MessageOf<'text'>> | Handler<MessageOf<'text'>>, b?: AnyHandler): this {
    if (b === undefined) return this.#add(isType('text'), a as AnyHandler)
    const pattern = patternMatcher(a as Pattern<MessageOf<'text'>>, (m) => m.content)
    return this.#add((m, ctx) => m.type === 'text' && pattern(m, ctx), b)
  }

  image(handler: Handler<MessageOf<'image'>>): this {
    return this.#add(isType('image'), handler)
  }
  voice(handler: Handler<MessageOf<'voice'>>): this {
    return this.#add(isType('voice'), handler)
  }
  video(handler: Handler<MessageOf<'video'>>): this {
    return this.#add(isType('video'), handler)
  }
  shortvideo(handler: Handler<MessageOf<'shortvideo'>>): this {
    return this.#add(isType('shortvideo'), handler)
  }
  /** Handles location messages (a follower sent a location; the LOCATION event is `event('LOCATION')`). */
  location(handler: Handler<MessageOf<'location'>>): this {
    return this.#add(isType('location'), handler)
  }
  link(handler: Handler<MessageOf<'link'>>): this {
    return this.#add(isType('link'), handler)
  }
  file(handler: Handler<MessageOf<'file'>>): this {
    return this.#add(isType('file'), handler)
  }
  miniprogrampage(handler: Handler<MessageOf<'miniprogrampage'>>): this {
    return this.#add(isType('miniprogrampage'), handler)
  }

  /**
   * Handles one event by WeChat's name for it (`'subscribe'`, `'SCAN'`, `'TEMPLATESENDJOBFINISH'`…),
   * typed; an event wemp does not know arrives as an `UnknownMessage`.
   */
  event<E extends EventType>(event: E, handler: Handler<EventOf<E>>): this
  event(event: string, handler: Handler<UnknownMessage>): this
  event(event: string, handler: AnyHandler): this {
    return this.#add(isEvent(event), handler)
  }

  /** A follower subscribed; `ctx.message.scene` is the QR-code scene when they came by a parametric code. */
  subscribe(handler: Handler<EventOf<'subscribe'>>): this {
    return this.event('subscribe', handler)
  }
  unsubscribe(handler: Handler<EventOf<'unsubscribe'>>): this {
    return this.event('unsubscribe', handler)
  }
  /** A follower scanned a parametric QR code (`ctx.message.scene`). */
  scan(handler: Handler<EventOf<'SCAN'>>): this {
    return this.event('SCAN', handler)
  }

  /**
   * Handles a menu click (CLICK event): every one, or those whose key equals a string, matches a
   * regular expression (`ctx.match`) or passes a predicate.
   *
   * @example
   * bot.click('V1001_TODAY', () => 'today…')
   */
  click(handler: Handler<EventOf<'CLICK'>>): this
  click(key: RegExp, handler: Handler<EventOf<'CLICK'>, MatchedContext<EventOf<'CLICK'>>>): this
  click(key: Pattern<EventOf<'CLICK'>>, handler: Handler<EventOf<'CLICK'>>): this
  click(a: Pattern<EventOf<'CLICK'>> | Handler<EventOf<'CLICK'>>, b?: AnyHandler): this {
    const click = isEvent('CLICK')
    if (b === undefined) return this.#add(click, a as AnyHandler)
    const key = patternMatcher(a as Pattern<EventOf<'CLICK'>>, (m) => m.eventKey)
    return this.#add((m, ctx) => m.type === 'event' && m.event === 'CLICK' && key(m, ctx), b)
  }

  /** A follower opened a menu link (VIEW event); WeChat ignores any reply to it. */
  view(handler: Handler<EventOf<'VIEW'>>): this {
    return this.event('VIEW', handler)
  }

  /**
   * Handles the pushes a predicate accepts; a type-guard predicate narrows the handler's message.
   *
   * @example
   * bot.filter((m): m is TextMessage => m.type === 'text' && m.content.length > 100, () => 'too long')
   */
  filter<M extends Message>(
    predicate: (message: Message, ctx: Context) => message is M,
    handler: Handler<M>,
  ): this
  filter(predicate: (message: Message, ctx: Context) => boolean, handler: Handler): this
  filter(predicate: (message: Message, ctx: Context) => boolean, handler: AnyHandler): this {
    return this.#add((m, ctx) => predicate(m, ctx) === true, handler)
  }

  /** Handles every push, at this point in the order. */
  all(handler: Handler): this {
    return this.#add(() => true, handler)
  }

  /** Handles what no other handler answered, whatever the order they were added in. */
  fallback(handler: Handler): this {
    this.#router.addFallback(handler)
    return this
  }

  /** Sets the hook called when a handler fails (see {@link BotOptions.onError}). */
  onError(hook: ErrorHook): this {
    this.#onError = hook
    return this
  }

  #add(matches: (message: Message, ctx: Context) => boolean, handler: AnyHandler): this {
    this.#router.add(matches, handler as Handler)
    return this
  }

  // ── serving ───────────────────────────────────────────────────────────────

  /**
   * Answers one HTTP request from WeChat, given as plain data. Never throws (nor rejects): every
   * failure is a status with a short reason, and is logged.
   */
  handle = (request: WempRequest): Promise<WempResponse> => {
    try {
      const method = request.method.toUpperCase()
      if (method === 'POST') {
        if (exceedsLimit(request.body, this.maxBodySize)) throw this.#tooLarge()
        const push: OpenedPush = this.protocol.open(request.query, bodyText(request.body))
        const ctx = new PushContext(
          push.message,
          push.mode,
          request,
          this.log,
          this.sessions,
          this.#account,
          this.api,
        )
        const delivery = this.#delivery
        const value = delivery
          ? delivery.run({
              account: this.#account || push.message.toUserName,
              message: push.message,
              receivedAt: this.#now(),
              lifetime: request.lifetime,
              answer: () => this.#answer(ctx),
            })
          : this.#answer(ctx)
        if (value instanceof Promise) {
          return value.then(
            (reply) => this.#respond(reply, push),
            (error: unknown) => this.#failure(error, request),
          )
        }
        return Promise.resolve(this.#respond(value, push))
      }
      if (method === 'GET') {
        return Promise.resolve({
          status: 200,
          headers: { ...TEXT_HEADERS },
          body: this.protocol.handshake(request.query),
        })
      }
      throw new RequestRejectedError(
        'method_not_allowed',
        405,
        `${method} is not used by WeChat: only GET and POST`,
      )
    } catch (error) {
      return Promise.resolve(this.#failure(error, request))
    }
  }

  /**
   * The bot as a web-standard handler, for Cloudflare Workers, Deno, Bun, Vercel, Netlify and
   * anything else that speaks `Request`/`Response`.
   *
   * Late replies (see `delivery`) use the runtime's `waitUntil` when one is passed (Workers' `ctx`,
   * Vercel's and Netlify's `context`); without one, the process is assumed to live on.
   *
   * @example
   * export default { fetch: bot.fetch }
   */
  fetch = async (request: Request, ...platform: unknown[]): Promise<Response> => {
    const url = new URL(request.url)
    const query: Record<string, string> = {}
    for (const [key, value] of url.searchParams) if (!(key in query)) query[key] = value
    let body: Uint8Array | undefined
    if (request.method.toUpperCase() === 'POST') {
      const declared = Number(request.headers.get('content-length') ?? '0')
      body = declared > this.maxBodySize ? undefined : await readLimited(request.body, this.maxBodySize)
      if (body === undefined) {
        const response = this.tooLarge(request.method)
        return new Response(response.body, { status: response.status, headers: response.headers })
      }
    }
    const response = await this.handle({
      method: request.method,
      query,
      body: body ?? null,
      lifetime: waitUntilOf(platform),
    })
    return new Response(response.body, { status: response.status, headers: response.headers })
  }

  /**
   * Runs middleware and handlers for a message and returns the reply, with no HTTP and no
   * signatures: for tests, and for messages that did not come through `handle`.
   */
  async dispatch(message: Message, options?: { mode?: Mode; request?: WempRequest }): Promise<Reply> {
    const request = options?.request ?? { method: 'POST', query: {} }
    const ctx = new PushContext(
      message,
      options?.mode ?? 'plaintext',
      request,
      this.log,
      this.sessions,
      this.#account,
      this.api,
    )
    return this.#answer(ctx)
  }

  #respond(value: Reply, push: OpenedPush): WempResponse {
    return {
      status: 200,
      headers: value.type === 'success' ? { ...TEXT_HEADERS } : { ...XML_HEADERS },
      body: this.protocol.seal(value, push),
    }
  }

  /** Runs middleware and handlers; synchronous unless one of them is not. Never throws. */
  #answer(ctx: PushContext): Reply | Promise<Reply> {
    try {
      if (this.#middleware.length === 0) {
        const routed = this.#router.route(ctx)
        if (routed instanceof Promise) {
          return routed.then(
            (reply) => this.#finish(ctx, reply),
            (error: unknown) => this.#handlerFailed(error, ctx),
          )
        }
        return this.#finish(ctx, routed)
      }
      this.#run ??= compose(this.#middleware, async (c) => {
        c.reply = await this.#router.route(c)
      })
      return this.#run(ctx).then(
        () => this.#finish(ctx, ctx.reply),
        (error: unknown) => this.#handlerFailed(error, ctx),
      )
    } catch (error) {
      return this.#handlerFailed(error, ctx)
    }
  }

  #finish(ctx: PushContext, routed: Reply | undefined): Reply | Promise<Reply> {
    ctx.reply = routed
    const value = routed ?? SUCCESS
    try {
      validateReply(value, isUserMessage(ctx.message) ? MAX_ARTICLES_FOR_MESSAGES : MAX_ARTICLES)
    } catch (error) {
      return this.#handlerFailed(error, ctx)
    }
    return value
  }

  async #handlerFailed(error: unknown, ctx: PushContext): Promise<Reply> {
    const message = ctx.message
    this.log.error('handler failed', {
      code:
        error instanceof WempError || error instanceof StoreError
          ? error.code
          : typeof (error as { code?: unknown })?.code === 'string'
            ? (error as { code: string }).code
            : 'handler_error',
      msgType: message.type === 'unknown' ? message.msgType : message.type,
      event: 'event' in message ? message.event : undefined,
      msgId: 'msgId' in message ? message.msgId : undefined,
      openid: message.fromUserName,
      error,
    })
    if (!this.#onError) return SUCCESS
    try {
      const value = toReply(await this.#onError(error, ctx))
      if (value === undefined) return SUCCESS
      validateReply(value, isUserMessage(message) ? MAX_ARTICLES_FOR_MESSAGES : MAX_ARTICLES)
      return value
    } catch (hookError) {
      this.log.error('onError hook failed', { openid: message.fromUserName, error: hookError })
      return SUCCESS
    }
  }

  /**
   * Answers a request refused before it reaches the core (an adapter's malformed event, a body
   * over the limit), worded and logged exactly as the core's own refusals: `code: reason` in plain
   * text, a warning (an error for a 5xx status).
   */
  refuse(status: number, code: string, reason: string, method?: string): WempResponse {
    return this.#refused(status, code, reason, { method })
  }

  /** The 413 answer for a body over {@link maxBodySize}, for adapters that read bodies themselves. */
  tooLarge(method?: string): WempResponse {
    return this.refuse(413, 'body_too_large', this.#tooLarge().message, method)
  }

  #refused(status: number, code: string, reason: string, fields: Record<string, unknown>): WempResponse {
    const log = status >= 500 ? this.log.error : this.log.warn
    log.call(this.log, 'request refused', { status, code, ...fields, reason })
    const headers: Record<string, string> = { ...TEXT_HEADERS }
    if (status === 405) headers.allow = 'GET, POST'
    if (status === 413) headers.connection = 'close'
    return { status, headers, body: `${code}: ${reason}` }
  }

  #tooLarge(): RequestRejectedError {
    return new RequestRejectedError(
      'body_too_large',
      413,
      `the body is larger than maxBodySize (${this.maxBodySize} bytes)`,
    )
  }

  #failure(error: unknown, request: Pick<WempRequest, 'method' | 'query'>): WempResponse {
    if (error instanceof RequestRejectedError) {
      return this.#refused(error.status, error.code, error.message, {
        errcode: error.errcode,
        method: request.method,
      })
    }
    if (error instanceof WempError) {
      this.log.error('request failed', { code: error.code, errcode: error.errcode, reason: error.message })
      return {
        status: 500,
        headers: { ...TEXT_HEADERS },
        body: `${error.code}: the server is misconfigured (see its log)`,
      }
    }
    this.log.error('request failed', { error })
    return { status: 500, headers: { ...TEXT_HEADERS }, body: 'internal_error: see the server log' }
  }
}

/** Finds `waitUntil` among a fetch handler's extra arguments (`(request, env, ctx)` or `(request, context)`). */
function waitUntilOf(platform: unknown[]): WempRequest['lifetime'] {
  for (const candidate of platform) {
    if (typeof candidate !== 'object' || candidate === null || !('waitUntil' in candidate)) continue
    const waitUntil = (candidate as { waitUntil: unknown }).waitUntil
    if (typeof waitUntil === 'function') {
      return (work: Promise<unknown>) => {
        waitUntil.call(candidate, work)
      }
    }
  }
  return undefined
}

function createApiClient(options: BotOptions, store: Store, log: Logger): WechatApi | undefined {
  const api = options.api
  if (api instanceof WechatApi) return api
  const custom = typeof api?.accessToken === 'function'
  if (!options.appSecret && !custom) return undefined
  if (!options.appId) {
    throw new WempError('invalid_config', 'appSecret needs appId: createBot({ token, appId, appSecret })')
  }
  return new WechatApi({
    ...api,
    appId: options.appId,
    appSecret: options.appSecret,
    store,
    logger: log,
    now: options.now,
  })
}

/**
 * Creates a bot.
 *
 * @example
 * const bot = createBot({ token, appId, encodingAESKey })
 * bot.text((ctx) => `echo: ${ctx.message.content}`)
 */
export function createBot(options: BotOptions): Bot {
  return new Bot(options)
}
