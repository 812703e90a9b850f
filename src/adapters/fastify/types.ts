import type { FastifyPluginAsync } from 'fastify'

/** Options of `fastifyPlugin(bot, options)`. */
export interface FastifyAdapterOptions {
  /** The route's path, under the prefix the plugin is registered with. Default `/`. */
  path?: string
}

/**
 * The plugin `fastifyPlugin(bot)` returns: register it, optionally with a `prefix`. It is
 * encapsulated (not wrapped in fastify-plugin): its raw-body content-type parser applies to its
 * own route only, and the app's parsers do not reach that route.
 */
export type WempFastifyPlugin = FastifyPluginAsync
