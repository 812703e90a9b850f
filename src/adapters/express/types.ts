import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * The parts of Express's request, response and `next` that wemp's middleware uses, written as
 * Node's own types plus what body parsers add, so that the adapter needs neither `express` nor
 * `@types/express` (Express 4 and 5 both fit).
 */

/** An Express request: Node's, plus what body parsers and some platforms leave on it. */
export interface ExpressRequestLike extends IncomingMessage {
  /** Set by body parsers: a Buffer (`express.raw()`), a string (`express.text()`), or an object (`express.json()`, `express.urlencoded()`). */
  body?: unknown
  /** Kept by some parsers' `verify` hooks and by platforms such as Firebase. */
  rawBody?: unknown
  /** The URL before mount paths were removed. */
  originalUrl?: string
}

/** Express's `next`. */
export type ExpressNext = (error?: unknown) => void

/** Options of `expressMiddleware(bot, options)`. */
export interface ExpressAdapterOptions {
  /**
   * Answer only this path, relative to where the middleware is mounted; other paths go to
   * `next()`. Default: every request that reaches the middleware.
   */
  path?: string
}

/** The middleware `expressMiddleware(bot)` returns. */
export type ExpressMiddleware = (req: ExpressRequestLike, res: ServerResponse, next: ExpressNext) => void
