import type { Message } from '../protocol/messages.js'
import { type Reply, type ReplyValue, toReply } from '../protocol/replies.js'
import type { Context } from './context.js'

/** A handler: gets the context, returns a reply value (see `ReplyValue`), or nothing to pass. */
export type Handler<M = Message, C = Context<M>> = (ctx: C) => ReplyValue | Promise<ReplyValue>

/** How a route decides whether it applies; may set `ctx.match`. */
export type Matcher = (message: Message, ctx: Context) => boolean

/** Any handler, as the router stores it. */
export type AnyHandler = (ctx: never) => ReplyValue | Promise<ReplyValue>

interface Route {
  readonly matches: Matcher
  readonly handler: Handler
}

/** A string (exact), a regular expression (its match lands in `ctx.match`) or a predicate. */
export type Pattern<M = Message> = string | RegExp | ((value: string, ctx: Context<M>) => boolean)

/** Builds a matcher for a string field from a pattern. */
export function patternMatcher<M>(pattern: Pattern<M>, read: (message: M) => string): Matcher {
  if (typeof pattern === 'string') return (message) => read(message as M) === pattern
  if (pattern instanceof RegExp) {
    return (message, ctx) => {
      pattern.lastIndex = 0
      const match = pattern.exec(read(message as M))
      if (match === null) return false
      ctx.match = match
      return true
    }
  }
  return (message, ctx) => pattern(read(message as M), ctx as Context<M>) === true
}

/**
 * The handler list. Routes are tried in the order they were added; the first whose handler returns
 * a reply value answers. Fallback routes are tried after all the others.
 *
 * Routing stays synchronous until a handler returns a promise: most handlers of a WeChat bot
 * answer at once, and every avoided promise is measurable at tens of thousands of requests a second.
 */
export class Router {
  readonly #routes: Route[] = []
  readonly #fallbacks: Route[] = []
  #all: Route[] | undefined

  add(matches: Matcher, handler: Handler): void {
    this.#routes.push({ matches, handler })
    this.#all = undefined
  }

  addFallback(handler: Handler): void {
    this.#fallbacks.push({ matches: () => true, handler })
    this.#all = undefined
  }

  /** Runs the first matching handler that answers; its reply, or undefined when none did. */
  route(ctx: Context): Reply | undefined | Promise<Reply | undefined> {
    this.#all ??= [...this.#routes, ...this.#fallbacks]
    return this.#from(this.#all, 0, ctx)
  }

  #from(routes: Route[], start: number, ctx: Context): Reply | undefined | Promise<Reply | undefined> {
    const message = ctx.message
    for (let i = start; i < routes.length; i++) {
      const route = routes[i]!
      if (!route.matches(message, ctx)) continue
      const value = route.handler(ctx)
      if (value instanceof Promise) {
        return value.then((resolved) => {
          const reply = toReply(resolved)
          if (reply !== undefined) return reply
          ctx.match = undefined
          return this.#from(routes, i + 1, ctx)
        })
      }
      const reply = toReply(value)
      if (reply !== undefined) return reply
      ctx.match = undefined
    }
    return undefined
  }
}
