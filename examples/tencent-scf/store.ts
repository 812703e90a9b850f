import type { Store } from 'wemp'
import { createRedisStore } from 'wemp/storage/redis'

/**
 * Opens the store WECHAT_STORE names: `memory` (or nothing) is the bot's default in-memory store,
 * which each function instance keeps to itself and loses when SCF recycles it; `redis://…` is
 * shared by every instance (TencentDB for Redis, in the function's VPC). The Redis driver is
 * bundled but only loaded when a Redis store is used.
 */
export function storeFromEnv(url: string | undefined): Store | undefined {
  if (!url || url === 'memory') return undefined
  if (/^rediss?:\/\//.test(url)) return createRedisStore({ url })
  throw new Error(`WECHAT_STORE=${url}: use memory (the default) or redis://[:password@]host:6379/0`)
}
