import type { Context } from './context.js'

/**
 * Middleware runs around the handlers, in the order added (onion order): code before
 * `await next()` runs on the way in, code after it on the way out, when `ctx.reply` is set.
 *
 * @example
 * bot.use(async (ctx, next) => {
 *   const started = Date.now()
 *   await next()
 *   ctx.log.info('handled', { ms: Date.now() - started, reply: ctx.reply?.type })
 * })
 */
export type Middleware = (ctx: Context, next: () => Promise<void>) => unknown

/** Composes middleware around a final step; `next()` may be called once per middleware. */
export function compose(middleware: readonly Middleware[], last: (ctx: Context) => Promise<void>) {
  return (ctx: Context): Promise<void> => {
    let index = -1
    const dispatch = async (i: number): Promise<void> => {
      if (i <= index) throw new Error('next() called more than once in one middleware')
      index = i
      if (i === middleware.length) return last(ctx)
      await middleware[i]!(ctx, () => dispatch(i + 1))
    }
    return dispatch(0)
  }
}
