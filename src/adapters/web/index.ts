import type { Bot } from '../../bot/bot.js'
import type { FetchAdapterOptions, FetchHandler, WorkerModule } from './types.js'

export type * from './types.js'

/**
 * Serving a bot on fetch runtimes. `bot.fetch` already is a web-standard handler (it reads the
 * body up to `maxBodySize` and answers 413 beyond), so this module only adds a path check and the
 * Workers module shape. The core uses `node:crypto`: on Cloudflare Workers, turn on the
 * `nodejs_compat` compatibility flag.
 *
 * @example
 * // Cloudflare Workers (wrangler.toml: compatibility_flags = ["nodejs_compat"])
 * import { worker } from 'wemp/adapters/web'
 * export default worker(bot, { path: '/wechat' })
 *
 * // Deno / Bun
 * Deno.serve(bot.fetch)
 * Bun.serve({ fetch: bot.fetch })
 */

const NOT_FOUND_HEADERS = { 'content-type': 'text/plain; charset=utf-8' }

/**
 * `bot.fetch`, answering 404 outside `options.path` when one is given.
 *
 * @example
 * export default fetchHandler(bot, { path: '/api/wechat' })   // Vercel / Netlify function
 */
export function fetchHandler(bot: Bot, options: FetchAdapterOptions = {}): FetchHandler {
  const path = options.path
  if (path === undefined) return bot.fetch
  return (request: Request, ...platform: unknown[]): Promise<Response> => {
    if (new URL(request.url).pathname === path) return bot.fetch(request, ...platform)
    return Promise.resolve(new Response('not_found', { status: 404, headers: NOT_FOUND_HEADERS }))
  }
}

/**
 * A Workers-style module, `{ fetch(request, env, ctx) }`, to `export default`.
 *
 * @example
 * export default worker(bot)
 */
export function worker(bot: Bot, options: FetchAdapterOptions = {}): WorkerModule {
  const handler = fetchHandler(bot, options)
  return {
    fetch: (request: Request, env?: unknown, ctx?: unknown) => handler(request, env, ctx),
  }
}
