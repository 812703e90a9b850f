import { type Bot, type BotOptions, type Context, createBot } from 'wemp'
import { createIftttClient, type FireResult, IFTTT_BASE, type IftttValues } from './ifttt.js'

/**
 * The seed's IFTTT bridge (zhu327/ifwechat), rebuilt on wemp: a WeChat Official Account that acts
 * as the IFTTT "this" trigger. A follower binds their Maker Webhooks key with `BD+<key>`; from then
 * on what they send fires their webhooks — `text`, `image` (a picture and its caption),
 * `location` and `link` — and the reply says whether IFTTT took it.
 *
 * Unlike the seed, which answered "queued" at once and pushed later through SAE's task queue, the
 * handlers simply await IFTTT. When IFTTT is slow, wemp's delivery layer answers WeChat in time
 * and sends the handler's reply later through the customer-service API (needs `appSecret`).
 */

declare module 'wemp' {
  interface SessionData {
    /** The follower's IFTTT Maker Webhooks key, once validated. */
    iftttKey?: string
    /** A picture URL waiting for its caption (the next text or voice). */
    pendingImage?: string
  }
}

export interface IftttBotOptions extends BotOptions {
  /** IFTTT's webhook host. Default `https://maker.ifttt.com`; a local stand-in in tests. */
  iftttBase?: string
  /** How long one IFTTT trigger may take, ms. Default 10 000. */
  iftttTimeout?: number
  /** The link the `help` command ends with. Default IFTTT's Webhooks page. */
  helpUrl?: string
  /** The fetch used to reach IFTTT. Default: the global one. */
  fetch?: typeof fetch
}

/** Where a follower finds their key (the part after `/use/` of the URL shown there). */
export const KEY_SETTINGS_URL = 'https://ifttt.com/maker_webhooks/settings'
export const DEFAULT_HELP_URL = 'https://ifttt.com/maker_webhooks'
/** The event fired to check a key when it is bound, with `value1=test` (as the seed did). */
export const TEST_EVENT = 'ifmaker_test'

/**
 * `BD+<key>`: the exact prefix (any case; the full-width ＋ of Chinese keyboards too) and
 * whitespace around the key. The seed's Python `lstrip('BD+')` removed any leading B, D and +
 * characters instead, so `BD+Bx9…` was bound as `x9…`.
 */
export const BIND_COMMAND = /^\s*BD[+＋]([\s\S]*)$/i
/** IFTTT keys: letters, digits, `-` and `_` (they are base64url). */
export const VALID_KEY = /^[A-Za-z0-9_-]{1,64}$/

/** Extracts the key of a `BD+` command: the text after the prefix, trimmed. */
export function keyOfBindCommand(content: string): string | undefined {
  const match = BIND_COMMAND.exec(content)
  return match ? match[1]!.trim() : undefined
}

const BIND_HINT = `请在 ${KEY_SETTINGS_URL} 找到你的 key（网址中 /use/ 后面的部分），然后发送：BD+你的key`

/** Every text a follower can get, in one place. */
export const texts = {
  welcome: `欢迎关注！这个公众号是你的 IFTTT 触发器：你发来的文字、语音、图片、位置和链接会触发你的 IFTTT Webhooks。\n\n第一步，绑定你的 IFTTT key。${BIND_HINT}\n\n发送 help 查看说明。`,
  help: (helpUrl: string) =>
    [
      '使用说明：',
      '· BD+你的key：绑定（或更换）IFTTT Webhooks 的 key',
      '· 文字或语音：触发事件 text（value1 = 内容）',
      '· 图片：先发图片，再发一段文字作为说明，触发事件 image（value1 = 图片地址，value2 = 说明）',
      '· 位置：触发事件 location（value1 = 地点，value2 = 纬度，value3 = 经度）',
      '· 链接：触发事件 link（value1 = 网址，value2 = 标题，value3 = 描述）',
      '在 IFTTT 新建 applet，If This 选 Webhooks 的 "Receive a web request"，Event Name 填上面的事件名。',
      `key 在这里：${KEY_SETTINGS_URL}`,
      `详细说明：${helpUrl}`,
    ].join('\n'),
  notBound: `你还没有绑定 IFTTT key。${BIND_HINT}`,
  emptyKey: '请在 BD+ 后面写上你的 IFTTT key，例如：BD+dQw4w9WgXcQ_abc-123',
  invalidKey:
    '这不是有效的 IFTTT key：key 只能包含英文字母、数字、- 和 _（最长 64 位）。请检查后重新发送：BD+你的key',
  bound: (key: string) =>
    `绑定成功！key ${maskKey(key)}已保存（IFTTT 收到了测试事件 ${TEST_EVENT}）。现在发给我的文字、语音、图片、位置和链接都会触发你的 IFTTT Webhooks。发送 help 查看说明。`,
  bindRejected: (status: number, reason: string) =>
    `key 有误：IFTTT 拒绝了这个 key（HTTP ${status}：${reason}）。${BIND_HINT}`,
  bindTimeout: (ms: number) =>
    `请求超时：IFTTT 在 ${ms / 1000} 秒内没有响应，key 没有绑定。请稍后重新发送：BD+你的key`,
  bindUnreachable: (reason: string) =>
    `无法连接 IFTTT（${reason}），key 没有绑定。请稍后重新发送：BD+你的key`,
  pushed: (event: string) => `已推送到 IFTTT (${event})`,
  pushRejected: (event: string, status: number, reason: string) =>
    `推送失败 (${event})：IFTTT 拒绝了请求（HTTP ${status}：${reason}）。如果 key 已失效，请重新绑定：BD+你的key`,
  pushTimeout: (event: string, ms: number) =>
    `请求超时 (${event})：IFTTT 在 ${ms / 1000} 秒内没有响应，这条消息可能没有送达。`,
  pushUnreachable: (event: string, reason: string) =>
    `推送失败 (${event})：无法连接 IFTTT（${reason}），请稍后再试。`,
  imageLost: '这张图片不再等待说明；要重试，请重新发送图片和说明。',
  imagePending: '收到图片。请再发一段文字（或语音）作为说明，图片和说明会一起推送到 IFTTT (image)。',
  imageReplaced:
    '收到新图片，它替换了之前还没有说明的那张。请再发一段文字（或语音）作为说明，图片和说明会一起推送到 IFTTT (image)。',
  noRecognition:
    '没有收到这条语音的识别结果，无法推送。请打开语音识别（公众号需在后台开启“接收语音识别结果”）后再试，或者直接发送文字。',
  unsupported: (type: string) =>
    `暂不支持这种消息（${type}）。可以发送文字、语音、图片、位置或链接；发送 help 查看说明。`,
  error: '出错了，请稍后再试。',
}

/** The key as shown back to the follower: its start (so a B or D is visibly kept) and length. */
export function maskKey(key: string): string {
  return `${key.slice(0, 4)}…（${key.length} 位）`
}

/**
 * Builds the bridge. Every bot option passes through (store, api, delivery, logger…).
 *
 * @example
 * const bot = createIftttBot({ token, appId, encodingAESKey, appSecret, store })
 */
export function createIftttBot(options: IftttBotOptions): Bot {
  const { iftttBase, iftttTimeout, helpUrl, fetch: fetchImpl, ...botOptions } = options
  const ifttt = createIftttClient({
    base: iftttBase ?? IFTTT_BASE,
    timeout: iftttTimeout ?? 10_000,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  })
  const bot = createBot({ onError: () => texts.error, ...botOptions })

  /** Fires one event, logging failures (never the key). */
  async function fire(ctx: Context, event: string, key: string, values: IftttValues): Promise<FireResult> {
    const result = await ifttt.fire(event, key, values)
    if (result.kind !== 'ok') {
      ctx.log.warn('IFTTT trigger failed', {
        event,
        openid: ctx.openid,
        result: result.kind,
        status: 'status' in result ? result.status : undefined,
        reason: 'reason' in result ? result.reason : 'message' in result ? result.message : undefined,
      })
    }
    return result
  }

  function pushReply(event: string, result: FireResult): string {
    switch (result.kind) {
      case 'ok':
        return texts.pushed(event)
      case 'rejected':
        return texts.pushRejected(event, result.status, result.message)
      case 'timeout':
        return texts.pushTimeout(event, result.timeout)
      case 'unreachable':
        return texts.pushUnreachable(event, result.reason)
    }
  }

  /** The follower's key, or undefined when they have not bound one. */
  async function keyOf(ctx: Context): Promise<string | undefined> {
    return (await ctx.session.get()).iftttKey
  }

  /**
   * Text (or a voice's recognition): the caption of a pending picture, or a `text` event. The
   * picture is taken out of the session in the same atomic update that reads the key, so two
   * captions arriving at once cannot both fire it.
   */
  async function forwardText(ctx: Context, text: string): Promise<string> {
    const taken: { key?: string; image?: string } = {}
    await ctx.session.update((s) => {
      taken.key = s.iftttKey
      taken.image = s.iftttKey ? s.pendingImage : undefined
      if (taken.image !== undefined) delete s.pendingImage
    })
    if (!taken.key) return texts.notBound
    if (taken.image === undefined)
      return pushReply('text', await fire(ctx, 'text', taken.key, { value1: text }))
    const result = await fire(ctx, 'image', taken.key, { value1: taken.image, value2: text })
    const answer = pushReply('image', result)
    return result.kind === 'ok' ? answer : `${answer}\n${texts.imageLost}`
  }

  bot.subscribe(() => texts.welcome)

  // Unfollowing deletes everything kept about the follower (key and pending picture).
  bot.unsubscribe(async (ctx) => {
    await ctx.session.clear()
    return null
  })

  // BD+<key>: validate the key with a test event, then save it (rebinding overwrites).
  bot.text(BIND_COMMAND, async (ctx) => {
    const key = keyOfBindCommand(ctx.message.content) ?? ''
    if (key === '') return texts.emptyKey
    if (!VALID_KEY.test(key)) return texts.invalidKey
    const result = await fire(ctx, TEST_EVENT, key, { value1: 'test' })
    switch (result.kind) {
      case 'ok':
        await ctx.session.update((s) => {
          s.iftttKey = key
        })
        return texts.bound(key)
      case 'rejected':
        return texts.bindRejected(result.status, result.message)
      case 'timeout':
        return texts.bindTimeout(result.timeout)
      case 'unreachable':
        return texts.bindUnreachable(result.reason)
    }
  })

  bot.text(/^\s*(help|帮助)\s*$/i, () => texts.help(helpUrl ?? DEFAULT_HELP_URL))

  bot.text((ctx) => forwardText(ctx, ctx.message.content))

  bot.voice(async (ctx) => {
    if (!(await keyOf(ctx))) return texts.notBound
    const recognition = ctx.message.recognition?.trim()
    if (!recognition) return texts.noRecognition
    return forwardText(ctx, recognition)
  })

  // A picture waits in the session for its caption; a newer picture replaces it.
  bot.image(async (ctx) => {
    const url = ctx.message.picUrl
    const seen = { bound: false, replaced: false }
    await ctx.session.update((s) => {
      seen.bound = Boolean(s.iftttKey)
      seen.replaced = false
      if (!seen.bound) return
      seen.replaced = s.pendingImage !== undefined
      s.pendingImage = url
    })
    if (!seen.bound) return texts.notBound
    return seen.replaced ? texts.imageReplaced : texts.imagePending
  })

  bot.location(async (ctx) => {
    const key = await keyOf(ctx)
    if (!key) return texts.notBound
    const { label, latitude, longitude } = ctx.message
    return pushReply(
      'location',
      await fire(ctx, 'location', key, {
        value1: label,
        value2: String(latitude),
        value3: String(longitude),
      }),
    )
  })

  bot.link(async (ctx) => {
    const key = await keyOf(ctx)
    if (!key) return texts.notBound
    const { url, title, description } = ctx.message
    return pushReply(
      'link',
      await fire(ctx, 'link', key, { value1: url, value2: title, value3: description }),
    )
  })

  // Other messages (video, file…) are not bridged; events (LOCATION reports, menu views…) are ignored.
  bot.fallback((ctx) => {
    const message = ctx.message
    if (message.type === 'event' || message.type === 'unknown') return null
    return texts.unsupported(message.type)
  })

  return bot
}
