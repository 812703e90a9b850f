import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Bot } from '../../bot/bot.js'
import { parseQueryString } from '../event.js'
import type { FastifyAdapterOptions, WempFastifyPlugin } from './types.js'

export type * from './types.js'

/**
 * Serving a bot from a Fastify (4 or 5) app, as an encapsulated plugin with one route. Inside it,
 * every content type is read as raw bytes up to `bot.maxBodySize` (Fastify answers 413 beyond),
 * so whatever parsers the app registers elsewhere, wemp gets WeChat's XML untouched.
 *
 * @example
 * import Fastify from 'fastify'
 * import { fastifyPlugin } from 'wemp/adapters/fastify'
 * const app = Fastify()
 * await app.register(fastifyPlugin(bot), { prefix: '/wechat' })
 * await app.listen({ port: 3000 })
 */

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']

/**
 * A Fastify plugin answering WeChat at `options.path` (default `/`) under its prefix: the GET
 * handshake and POST pushes (other methods get 405).
 *
 * @example
 * await app.register(fastifyPlugin(bot, { path: '/wechat' }))
 */
export function fastifyPlugin(bot: Bot, options: FastifyAdapterOptions = {}): WempFastifyPlugin {
  return async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers()
    app.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: bot.maxBodySize },
      (_request, body, done) => {
        done(null, body)
      },
    )
    app.route({
      method: METHODS,
      url: options.path ?? '/',
      bodyLimit: bot.maxBodySize,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const url = request.raw.url ?? '/'
        const q = url.indexOf('?')
        const body = request.body
        const response = await bot.handle({
          method: request.method,
          query: parseQueryString(q < 0 ? '' : url.slice(q + 1)),
          headers: request.headers,
          body: typeof body === 'string' || body instanceof Uint8Array ? body : null,
        })
        return reply.code(response.status).headers(response.headers).send(response.body)
      },
    })
  }
}
