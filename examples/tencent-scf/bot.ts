import { type Bot, createBot, reply, type Store } from 'wemp'

/**
 * The seed's bot, done right, for Tencent Cloud SCF: it echoes text exactly as `echo: <content>`
 * (like the demo) and counts each follower's messages in their session, kept in a store that
 * outlives one function instance (Redis) or, by default, in the instance's memory.
 */

/** The environment variables the function reads (set them in the SCF console). */
export interface ScfBotEnv {
  /** The Token of the MP console's server configuration (required). */
  WECHAT_TOKEN?: string
  /** The AppID (required with WECHAT_ENCODING_AES_KEY). */
  WECHAT_APP_ID?: string
  /** The EncodingAESKey, for compatible and safe mode. */
  WECHAT_ENCODING_AES_KEY?: string
  /** Where sessions live: `memory` (default: per instance) or `redis://…` (shared by every instance). */
  WECHAT_STORE?: string
  /** The AppSecret: enables ctx.api and late replies through the customer-service API. */
  WECHAT_APP_SECRET?: string
  /** WeChat's API base URL, e.g. a fixed-egress-IP proxy (WeChat's IP whitelist). */
  WECHAT_API_BASE?: string
  [name: string]: string | undefined
}

/**
 * Builds the bot from the function's environment and a store (`undefined`: the bot's default,
 * in memory); throws, naming the variable, when one is missing.
 */
export function createScfBot(env: ScfBotEnv, store?: Store): Bot {
  const token = env.WECHAT_TOKEN
  if (!token) {
    throw new Error(
      'WECHAT_TOKEN is not set: add it (and WECHAT_APP_ID, WECHAT_ENCODING_AES_KEY) under the function’s 环境变量, the same values as the MP console’s 服务器配置',
    )
  }
  const bot = createBot({
    token,
    ...(env.WECHAT_APP_ID ? { appId: env.WECHAT_APP_ID } : {}),
    ...(env.WECHAT_ENCODING_AES_KEY ? { encodingAESKey: env.WECHAT_ENCODING_AES_KEY } : {}),
    ...(store ? { store } : {}),
    ...(env.WECHAT_APP_SECRET ? { appSecret: env.WECHAT_APP_SECRET } : {}),
    ...(env.WECHAT_API_BASE ? { api: { baseUrl: env.WECHAT_API_BASE } } : {}),
    onError: () => 'Sorry, something went wrong. 出错了，请稍后再试。',
  })

  // Every text message counts in the follower's session; `/count` tells them the count, and any
  // other text is echoed back exactly.
  bot.text(async (ctx) => {
    const data = await ctx.session.update((s) => {
      s.count = (Number(s.count) || 0) + 1
    })
    if (ctx.message.content.trim() === '/count') return `You have sent ${Number(data.count)} messages.`
    return `echo: ${ctx.message.content}`
  })
  // The demo's menu key for the same count.
  bot.click('V1003_COUNT', async (ctx) => {
    const { count } = await ctx.session.get()
    return `You have sent ${Number(count) || 0} messages.`
  })
  bot.subscribe(() => 'Welcome! 欢迎关注。Send anything and I echo it; send /count to see your count.')
  // Unfollowing deletes the session for real.
  bot.unsubscribe(async (ctx) => {
    await ctx.session.clear()
    return null
  })
  bot.image((ctx) => reply.image(ctx.message.mediaId))
  bot.fallback((ctx) =>
    ctx.message.type === 'event' || ctx.message.type === 'unknown'
      ? null
      : `This bot echoes text and returns pictures. (${ctx.message.type} is not handled.)`,
  )
  return bot
}
