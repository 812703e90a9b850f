import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { Bot } from '../../bot/bot.js'
import type { Query } from '../../protocol/push.js'

/**
 * Serving a bot from Node's own `http` server.
 *
 * @example
 * import { createServer } from 'wemp/adapters/node'
 * createServer(bot, { path: '/wechat' }).listen(3000)
 */

/** Options of {@link toNodeListener} and {@link createServer}. */
export interface NodeAdapterOptions {
  /** Answer only this path (404 elsewhere). Default: every path. */
  path?: string
}

/** The query string of a request URL as a plain object (the first value of a repeated key). */
export function parseQuery(url: string | undefined): Query {
  const query: Record<string, string> = {}
  if (!url) return query
  const q = url.indexOf('?')
  if (q < 0) return query
  for (const [key, value] of new URLSearchParams(url.slice(q + 1))) if (!(key in query)) query[key] = value
  return query
}

function pathOf(url: string | undefined): string {
  if (!url) return '/'
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  if (res.headersSent) return
  // end(body) right after writeHead lets Node set content-length and send head and body in one write.
  res.writeHead(status, headers)
  res.end(body)
}

/**
 * A `(req, res)` listener for `http.createServer`, or to mount under any framework that passes
 * Node's request and response. Reads the body itself, stopping at the bot's `maxBodySize`.
 */
export function toNodeListener(bot: Bot, options: NodeAdapterOptions = {}) {
  const limit = bot.maxBodySize
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (options.path !== undefined && pathOf(req.url) !== options.path) {
      send(res, 404, { 'content-type': 'text/plain; charset=utf-8' }, 'not_found')
      return
    }
    const query = parseQuery(req.url)
    const method = req.method ?? 'GET'
    if (method !== 'POST') {
      bot
        .handle({ method, query, headers: req.headers, body: null })
        .then((r) => send(res, r.status, r.headers, r.body))
      req.resume()
      return
    }
    const declared = Number(req.headers['content-length'] ?? '0')
    if (declared > limit) {
      tooLarge(bot, res, method)
      req.resume()
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let aborted = false
    req.on('data', (chunk: Buffer) => {
      if (aborted) return
      size += chunk.length
      if (size > limit) {
        aborted = true
        chunks.length = 0
        tooLarge(bot, res, method)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (aborted) return
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
      bot
        .handle({ method, query, headers: req.headers, body })
        .then((r) => send(res, r.status, r.headers, r.body))
    })
    req.on('error', (error) => {
      aborted = true
      bot.log.warn('request body could not be read', { error: error.message })
      if (!res.headersSent) send(res, 400, { 'content-type': 'text/plain; charset=utf-8' }, 'bad_request')
    })
  }
}

function tooLarge(bot: Bot, res: ServerResponse, method: string): void {
  const refused = bot.tooLarge(method)
  send(res, refused.status, refused.headers, refused.body)
}

/** An `http.Server` serving the bot; call `.listen(port)` on it. */
export function createServer(bot: Bot, options: NodeAdapterOptions = {}): Server {
  return createHttpServer(toNodeListener(bot, options))
}
