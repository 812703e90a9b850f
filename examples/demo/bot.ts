import { type Bot, createBot, reply, type Store } from 'wemp'

/** The demo's settings: from the environment, or development values when none are set. */
export interface DemoConfig {
  token: string
  appId: string
  encodingAESKey?: string
  /** Enables ctx.api and late replies (WECHAT_APP_SECRET). */
  appSecret?: string
  /** WeChat's API base URL (WECHAT_API_BASE): a fixed-IP proxy, or a local stand-in. */
  apiBase?: string
  /** Where sessions live: `WECHAT_STORE`, a store URL for wemp's `openStore` (memory, redis://…, postgres://…, mysql://…, sqlite:<file>, file:<dir>); default in memory. */
  store?: string
  /** Whether the development values are in use (nothing was configured). */
  development: boolean
}

/** Development values: good for `npm start` and the test kit, useless against the real WeChat. */
export const DEVELOPMENT_CONFIG = {
  token: 'wempdev',
  appId: 'wx0000000000000000',
  encodingAESKey: 'wempDevelopmentKey0000000000000000000000000',
} as const

/**
 * Reads WECHAT_TOKEN, WECHAT_APP_ID, WECHAT_ENCODING_AES_KEY, WECHAT_APP_SECRET, WECHAT_API_BASE
 * and WECHAT_STORE. Without WECHAT_TOKEN the development values are used (the secret, API base and
 * store still apply, e.g. to try late replies against a local stand-in of WeChat's API).
 */
export function configFromEnv(env: Record<string, string | undefined> = process.env): DemoConfig {
  const token = env.WECHAT_TOKEN
  const config: DemoConfig = token
    ? { token, appId: env.WECHAT_APP_ID ?? '', development: false }
    : { ...DEVELOPMENT_CONFIG, development: true }
  if (token && env.WECHAT_ENCODING_AES_KEY) config.encodingAESKey = env.WECHAT_ENCODING_AES_KEY
  if (env.WECHAT_APP_SECRET) config.appSecret = env.WECHAT_APP_SECRET
  if (env.WECHAT_API_BASE) config.apiBase = env.WECHAT_API_BASE
  if (env.WECHAT_STORE) config.store = env.WECHAT_STORE
  return config
}

/** The longest `slow N` the demo accepts, in seconds. */
export const MAX_SLOW_SECONDS = 20

/**
 * The demo bot: echoes text, counts each follower's messages in their session, and shows menu
 * keys, subscriptions, news, media and middleware.
 */
export function createDemoBot(config: DemoConfig, store?: Store): Bot {
  const bot = createBot({
    token: config.token,
    ...(store ? { store } : {}),
    ...(config.appId ? { appId: config.appId } : {}),
    ...(config.encodingAESKey ? { encodingAESKey: config.encodingAESKey } : {}),
    ...(config.appSecret ? { appSecret: config.appSecret } : {}),
    ...(config.apiBase ? { api: { baseUrl: config.apiBase } } : {}),
    onError: () => 'Sorry, something went wrong. 出错了，请稍后再试。',
  })

  // Middleware, onion order: time every push (visible with WEMP_LOG_LEVEL=debug).
  bot.use(async (ctx, next) => {
    const started = performance.now()
    await next()
    ctx.log.debug('handled', {
      type: ctx.message.type,
      reply: ctx.reply?.type,
      ms: Number((performance.now() - started).toFixed(2)),
    })
  })

  // `slow N`: a handler that takes N seconds, as a slow outside call (an LLM, an API) would. Under
  // 4 s the reply is passive; beyond, WeChat gets `success` in time and the reply follows through
  // the customer-service API (which needs the AppSecret).
  bot.text(/^slow (\d+)$/i, async (ctx) => {
    const seconds = Number(ctx.match[1])
    if (!config.appSecret) {
      return 'slow N needs WECHAT_APP_SECRET: a reply later than 5 s goes through the customer-service API.'
    }
    if (seconds > MAX_SLOW_SECONDS) return `slow N: N is at most ${MAX_SLOW_SECONDS} seconds.`
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
    return `done after ${seconds} s`
  })

  // Every text message gets `echo: <content>`, and counts in the follower's session.
  bot.text(async (ctx) => {
    await ctx.session.update((s) => {
      s.messages = (Number(s.messages) || 0) + 1
    })
    return `echo: ${ctx.message.content}`
  })
  // The menu key V1003_COUNT tells the follower how many messages they sent.
  bot.click('V1003_COUNT', async (ctx) => {
    const { messages } = await ctx.session.get()
    return `You have sent ${Number(messages) || 0} messages.`
  })

  // A follower subscribed, perhaps through a parametric QR code (qrscene_<scene>).
  bot.subscribe((ctx) => `Welcome! 欢迎关注。scene: ${ctx.message.scene ?? 'none'}`)
  bot.scan((ctx) => `You scanned the code for scene ${ctx.message.scene}.`)

  // Menu keys: an exact key answers with news (up to 8 articles in reply to an event)…
  bot.click('V1001_TODAY', () => [
    {
      title: 'Today in wemp',
      description: 'WeChat bots in TypeScript, built to run serverless.',
      picUrl: 'https://example.com/wemp.png',
      url: 'https://example.com/wemp',
    },
    { title: 'Quick start', url: 'https://example.com/wemp/quick-start' },
  ])
  // …and a regular expression catches a family of keys (the match is ctx.match).
  bot.click(/^V1002_(\w+)$/, (ctx) => `You chose ${ctx.match[1]}.`)

  // Media: send a follower's picture back to them.
  bot.image((ctx) => reply.image(ctx.message.mediaId))
  bot.location(
    (ctx) => `You are at ${ctx.message.latitude}, ${ctx.message.longitude} (${ctx.message.label}).`,
  )
  // The LOCATION event arrives every few seconds when enabled: never answer it.
  bot.event('LOCATION', () => null)

  // Anything else: say what is supported.
  bot.fallback((ctx) =>
    ctx.message.type === 'event' || ctx.message.type === 'unknown'
      ? null
      : `This demo echoes text, returns pictures and locations. (${ctx.message.type} is not handled.)`,
  )
  return bot
}
