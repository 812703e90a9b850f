import type { IncomingMessage } from 'node:http'

/**
 * The parts of Koa's context that wemp's middleware uses, written structurally so that the
 * adapter needs neither `koa` nor `@types/koa` (Koa 2 and 3 both fit).
 */

/** A Koa context, as far as wemp reads and writes it. */
export interface KoaContextLike {
  /** Node's request (its body stream is read when no parser consumed it). */
  req: IncomingMessage
  /** The path, relative to any mount point. */
  path: string
  /** The raw query string, without `?`. */
  querystring: string
  /** Where body parsers leave what they read (koa-bodyparser, @koa/bodyparser, koa-body). */
  request: { body?: unknown; rawBody?: unknown }
  status: number
  body: unknown
  set(fields: Record<string, string>): void
}

/** Koa's `next`. */
export type KoaNext = () => Promise<unknown>

/** Options of `koaMiddleware(bot, options)`. */
export interface KoaAdapterOptions {
  /** Answer only this path (`ctx.path`); other paths go to `next()`. Default: every request that reaches it. */
  path?: string
}

/** The middleware `koaMiddleware(bot)` returns. */
export type KoaMiddleware = (ctx: KoaContextLike, next: KoaNext) => Promise<void>
