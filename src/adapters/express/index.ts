import type { ServerResponse } from 'node:http'
import type { Bot } from '../../bot/bot.js'
import type { WempResponse } from '../../bot/request.js'
import { parseQueryString } from '../event.js'
import { nodeRequestBody } from '../node-body.js'
import type { ExpressAdapterOptions, ExpressMiddleware, ExpressNext, ExpressRequestLike } from './types.js'

export type * from './types.js'

/**
 * Serving a bot from an Express (4 or 5) app. The middleware works whether or not a body parser
 * ran before it: it reads the raw stream itself when nothing did, takes the text or bytes that
 * `express.text()` / `express.raw()` left, and answers a clear error when a JSON or form parser
 * consumed the XML body.
 *
 * @example
 * import express from 'express'
 * import { expressMiddleware } from 'wemp/adapters/express'
 * const app = express()
 * app.all('/wechat', expressMiddleware(bot))
 * app.use(express.json())   // before or after: either works for wemp's route
 * app.listen(3000)
 */

const HINT =
  "mount wemp's route before express.json() / express.urlencoded(), or give it express.text({ type: '*/*' }) or express.raw({ type: '*/*' })"

function splitUrl(url: string | undefined): { path: string; search: string } {
  if (!url) return { path: '/', search: '' }
  const q = url.indexOf('?')
  return q < 0 ? { path: url, search: '' } : { path: url.slice(0, q), search: url.slice(q + 1) }
}

function send(res: ServerResponse, response: WempResponse): void {
  if (res.headersSent) return
  res.writeHead(response.status, response.headers)
  res.end(response.body)
}

/**
 * Express middleware answering WeChat at the route it is mounted on (GET handshake and POST
 * pushes; other methods get 405).
 *
 * @example
 * app.all('/wechat', expressMiddleware(bot))
 * // or, mounted for every path:
 * app.use(expressMiddleware(bot, { path: '/wechat' }))
 */
export function expressMiddleware(bot: Bot, options: ExpressAdapterOptions = {}): ExpressMiddleware {
  return (req: ExpressRequestLike, res: ServerResponse, next: ExpressNext): void => {
    const { path, search } = splitUrl(req.url)
    if (options.path !== undefined && path !== options.path) {
      next()
      return
    }
    const method = req.method ?? 'GET'
    nodeRequestBody(bot, req, req, HINT)
      .then((decoded) =>
        'refused' in decoded
          ? decoded.refused
          : bot.handle({ method, query: parseQueryString(search), headers: req.headers, body: decoded.body }),
      )
      .then((response) => send(res, response))
      .catch(next)
  }
}
