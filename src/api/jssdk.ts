import { createHash, randomBytes } from 'node:crypto'
import { WempError } from '../protocol/errors.js'
import type { WechatApi } from './client.js'
import { SharedCredential } from './credential.js'

/**
 * JS-SDK configuration. A web page inside WeChat calls `wx.config({...})` with a signature made
 * from the account's jsapi ticket; the ticket (`/cgi-bin/ticket/getticket?type=jsapi`, valid 7200 s,
 * small daily quota) is fetched once and shared by every instance through the store, exactly like
 * the access token. The card ticket (`type=wx_card`, for WeChat cards) is shared the same way under
 * its own key.
 */

/** The fields signed for `wx.config` (WeChat's names). */
export interface JssdkSignatureFields {
  jsapi_ticket: string
  noncestr: string
  timestamp: string | number
  /** The page's full URL; anything from `#` on is dropped. */
  url: string
}

/** What `wx.config` takes, signed. */
export interface JssdkConfig {
  debug: boolean
  appId: string
  /** Seconds since the epoch, as signed. */
  timestamp: number
  nonceStr: string
  signature: string
  jsApiList: string[]
  /** Open tags (`wx-open-launch-weapp`, …), when asked for. */
  openTagList?: string[]
}

/** Options of {@link JssdkApi.config}. */
export interface JssdkConfigOptions {
  /** The JS APIs the page will call (`updateAppMessageShareData`, `chooseImage`, …). Default `[]`. */
  jsApiList?: string[]
  /** Alerts every call's result in the page. Default false. */
  debug?: boolean
  /** The open tags the page uses (`wx-open-launch-weapp`, `wx-open-launch-app`, …). */
  openTagList?: string[]
}

/** The URL WeChat signs: the page URL without `#` and what follows. */
export function jssdkUrl(url: string): string {
  const hash = url.indexOf('#')
  return hash < 0 ? url : url.slice(0, hash)
}

/**
 * The string the JS-SDK signature is the SHA-1 of: the fields sorted by name (ASCII) and joined as
 * `k=v&k=v` with raw, unescaped values.
 */
export function jssdkStringToSign(fields: JssdkSignatureFields): string {
  const values: Record<string, string> = {
    jsapi_ticket: fields.jsapi_ticket,
    noncestr: fields.noncestr,
    timestamp: String(fields.timestamp),
    url: jssdkUrl(fields.url),
  }
  return Object.keys(values)
    .sort()
    .map((key) => `${key}=${values[key]}`)
    .join('&')
}

/**
 * The JS-SDK signature (附录1): the SHA-1 hex of {@link jssdkStringToSign}.
 *
 * @example
 * jssdkSignature({
 *   jsapi_ticket: 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
 *   noncestr: 'Wm3WZYTPz0wzccnW',
 *   timestamp: 1414587457,
 *   url: 'http://mp.weixin.qq.com?params=value',
 * }) // '0f9de62fce790f9a083d5c99e95740ceb90c27ed'
 */
export function jssdkSignature(fields: JssdkSignatureFields): string {
  return createHash('sha1').update(jssdkStringToSign(fields), 'utf8').digest('hex')
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A random nonce of letters and digits (16 by default; WeChat takes up to 32). */
export function jssdkNonce(length = 16): string {
  const bytes = randomBytes(length)
  let out = ''
  for (const byte of bytes) out += NONCE_ALPHABET[byte % NONCE_ALPHABET.length]
  return out
}

type TicketType = 'jsapi' | 'wx_card'
type TicketAnswer = { ticket?: unknown; expires_in?: unknown }

/** JS-SDK tickets and `wx.config` signatures (`/cgi-bin/ticket/getticket`). */
export class JssdkApi {
  /** The shared jsapi ticket. */
  readonly jsapiTicket: SharedCredential
  /** The shared card ticket (`wx_card`). */
  readonly wxCardTicket: SharedCredential

  constructor(protected readonly api: WechatApi) {
    this.jsapiTicket = this.#shared('jsapi', 'jsapi ticket')
    this.wxCardTicket = this.#shared('wx_card', 'card ticket')
  }

  #shared(type: TicketType, label: string): SharedCredential {
    const api = this.api
    return new SharedCredential({
      store: api.store,
      key: `ticket:${api.appId}:${type}`,
      fetch: async () => {
        const answer = await api.call<TicketAnswer>('/cgi-bin/ticket/getticket', { query: { type } })
        if (typeof answer.ticket !== 'string' || answer.ticket === '') {
          throw new WempError('token_unavailable', `WeChat answered the ${label} request without a ticket`)
        }
        return {
          value: answer.ticket,
          expiresIn: typeof answer.expires_in === 'number' ? answer.expires_in : 7200,
        }
      },
      log: api.log,
      label,
      now: api.now,
    })
  }

  /**
   * The current jsapi ticket, fetched once across instances and renewed before it expires.
   *
   * @example
   * const ticket = await api.jssdk.ticket()
   */
  ticket(): Promise<string> {
    return this.jsapiTicket.get()
  }

  /**
   * The current card ticket (`type=wx_card`, for the card JS APIs), shared like the jsapi ticket.
   *
   * @example
   * const cardTicket = await api.jssdk.cardTicket()
   */
  cardTicket(): Promise<string> {
    return this.wxCardTicket.get()
  }

  /**
   * Everything `wx.config` needs for the page at `url` (the page's own full URL, as the browser has
   * it, e.g. `location.href`; the `#…` part is dropped). The page's domain must be one of the
   * account's JS接口安全域名.
   *
   * @example
   * const config = await api.jssdk.config('https://example.com/share?id=1', {
   *   jsApiList: ['updateAppMessageShareData', 'updateTimelineShareData'],
   * })
   * // in the page: wx.config(config)
   */
  async config(url: string, options: JssdkConfigOptions = {}): Promise<JssdkConfig> {
    if (typeof url !== 'string' || !/^https?:\/\/[^\s/?#]+/i.test(url)) {
      throw new WempError(
        'invalid_config',
        `the JS-SDK signs a full page URL (http or https); got ${String(url)}`,
      )
    }
    const jsapi_ticket = await this.ticket()
    const timestamp = Math.floor(this.api.now() / 1000)
    const nonceStr = jssdkNonce()
    const config: JssdkConfig = {
      debug: options.debug ?? false,
      appId: this.api.appId,
      timestamp,
      nonceStr,
      signature: jssdkSignature({ jsapi_ticket, noncestr: nonceStr, timestamp, url }),
      jsApiList: [...(options.jsApiList ?? [])],
    }
    if (options.openTagList) config.openTagList = [...options.openTagList]
    return config
  }
}
