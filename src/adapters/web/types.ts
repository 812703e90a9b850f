/**
 * Web-standard (fetch) serving: Cloudflare Workers, Deno, Bun, Vercel, Netlify and Node's own
 * `Request`/`Response` need no event translation; these are the shapes of the helpers around
 * `bot.fetch`.
 */

/** A `(request) => Response` handler, as every fetch runtime takes. */
/** A web-standard handler; extra arguments (Workers' `env, ctx`, Vercel's `context`) may carry `waitUntil`. */
export type FetchHandler = (request: Request, ...platform: unknown[]) => Promise<Response>

/** Cloudflare's `ctx` argument, as far as wemp's docs use it. */
export interface WorkerExecutionContext {
  waitUntil(promise: Promise<unknown>): void
  passThroughOnException?(): void
}

/** A Workers-style module: `export default worker(bot)`. */
export interface WorkerModule {
  fetch(request: Request, env?: unknown, ctx?: WorkerExecutionContext): Promise<Response>
}

/** Options of `fetchHandler(bot, options)` and `worker(bot, options)`. */
export interface FetchAdapterOptions {
  /** Answer only this path (404 elsewhere). Default: every path. */
  path?: string
}
