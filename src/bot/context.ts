import type { WechatApi } from '../api/client.js'
import type { CustomMessageValue, SendOptions } from '../api/custom-service.js'
import { WempError } from '../protocol/errors.js'
import type { Message } from '../protocol/messages.js'
import type { Mode } from '../protocol/push.js'
import type { Reply } from '../protocol/replies.js'
import type { Session, SessionData, SessionManager } from '../session/session.js'
import type { Logger } from './logger.js'
import type { WempRequest } from './request.js'

/**
 * What a handler or middleware gets for one push. Later parts of wemp add to it (the follower's
 * session, the WeChat API client) through declaration merging on this interface.
 *
 * @example
 * bot.text(/^hi/i, (ctx) => `hello ${ctx.openid}`)
 */
export interface Context<M = Message> {
  /** The typed message or event. */
  readonly message: M
  /** How the push arrived: plaintext, compatible or safe mode. */
  readonly mode: Mode
  /** The follower's OpenID (the message's FromUserName). */
  readonly openid: string
  /** The request as the adapter passed it. */
  readonly request: WempRequest
  /** Per-push scratch space for middleware and handlers. */
  readonly state: Record<string, unknown>
  /** The logger, for handlers to write through. */
  readonly log: Logger
  /**
   * The reply chosen so far: set once a handler answered. Middleware may read or replace it after
   * `await next()`.
   */
  reply: Reply | undefined
  /** The match of a regular-expression filter (text content or menu key), when one matched. */
  match?: RegExpExecArray
  /**
   * The follower's session, in the bot's store: read only when a handler asks, saved only when
   * changed, safe under concurrency (see `Session.update`).
   *
   * @example
   * const { count } = await ctx.session.update((s) => { s.count = (Number(s.count) || 0) + 1 })
   */
  readonly session: Session<SessionData>
  /**
   * WeChat's HTTP API, with the bot's shared access token. Needs `appId` and `appSecret` (or an
   * `api` option) in `createBot`; otherwise using it throws `api_not_configured`.
   *
   * @example
   * const user = await ctx.api.user.info(ctx.openid)
   */
  readonly api: WechatApi
  /**
   * Sends the follower a message now, through the customer-service API (within WeChat's window:
   * 5 messages in the 48 hours after the follower's message, 3 in the minute after a click, follow
   * or scan). Accepts what a handler may return: a string, articles, a reply or any
   * customer-service message.
   *
   * @example
   * bot.text('report', async (ctx) => {
   *   await ctx.send('working on it…')
   *   return await buildReport()
   * })
   */
  send(message: CustomMessageValue, options?: SendOptions): Promise<void>
}

/** A handler's context once a regular expression matched. */
export type MatchedContext<M = Message> = Context<M> & { readonly match: RegExpExecArray }

export class PushContext<M extends Message = Message> implements Context<M> {
  reply: Reply | undefined = undefined
  match?: RegExpExecArray
  #state: Record<string, unknown> | undefined
  #session: Session<SessionData> | undefined

  constructor(
    readonly message: M,
    readonly mode: Mode,
    readonly request: WempRequest,
    readonly log: Logger,
    readonly sessions: SessionManager,
    /** Whose sessions these are: the AppID, or the account id when no AppID is configured. */
    readonly account: string,
    readonly apiClient?: WechatApi,
  ) {}

  get api(): WechatApi {
    if (!this.apiClient) {
      throw new WempError(
        'api_not_configured',
        'ctx.api needs the AppSecret: createBot({ token, appId, appSecret }) (or the api option)',
      )
    }
    return this.apiClient
  }

  send(message: CustomMessageValue, options?: SendOptions): Promise<void> {
    try {
      return this.api.customService.send(this.message.fromUserName, message, options)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  get session(): Session<SessionData> {
    this.#session ??= this.sessions.open(this.account || this.message.toUserName, this.message.fromUserName)
    return this.#session
  }

  get openid(): string {
    return this.message.fromUserName
  }

  get state(): Record<string, unknown> {
    this.#state ??= {}
    return this.#state
  }
}
