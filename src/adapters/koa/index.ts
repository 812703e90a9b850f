import type { Bot } from '../../bot/bot.js'
import { parseQueryString } from '../event.js'
import { nodeRequestBody } from '../node-body.js'
import type { KoaAdapterOptions, KoaContextLike, KoaMiddleware, KoaNext } from './types.js'

export type * from './types.js'

/**
 * Serving a bot from a Koa app. The middleware works whether or not a body parser ran before it:
 * it reads the raw stream when nothing did, takes `ctx.request.rawBody` or a text/Buffer
 * `ctx.request.body` when a parser kept one, and answers a clear error when a JSON or form parser
 * consumed the XML body.
 *
 * @example
 * import Koa from 'koa'
 * import { koaMiddleware } from 'wemp/adapters/koa'
 * const app = new Koa()
 * app.use(koaMiddleware(bot, { path: '/wechat' }))
 * app.listen(3000)
 */

const HINT =
  'use wemp before the body parser (app.use order), or let the parser keep ctx.request.rawBody (koa-bodyparser and @koa/bodyparser do for the types they parse)'

/**
 * Koa middleware answering WeChat (GET handshake and POST pushes; other methods get 405).
 *
 * @example
 * app.use(koaMiddleware(bot, { path: '/wechat' }))
 * // or with @koa/router:
 * router.all('/wechat', koaMiddleware(bot))
 */
export function koaMiddleware(bot: Bot, options: KoaAdapterOptions = {}): KoaMiddleware {
  return async (ctx: KoaContextLike, next: KoaNext): Promise<void> => {
    if (options.path !== undefined && ctx.path !== options.path) {
      await next()
      return
    }
    const decoded = await nodeRequestBody(bot, ctx.req, ctx.request, HINT)
    const response =
      'refused' in decoded
        ? decoded.refused
        : await bot.handle({
            method: ctx.req.method ?? 'GET',
            query: parseQueryString(ctx.querystring),
            headers: ctx.req.headers,
            body: decoded.body,
          })
    ctx.status = response.status
    ctx.set(response.headers)
    ctx.body = response.body
  }
}
