/**
 * The Redis backend of the {@link Store} contract, on ioredis (an optional peer dependency,
 * loaded only when a store is first used).
 *
 * @example
 * import { createRedisStore } from 'wemp/storage/redis'
 *
 * const store = createRedisStore({ url: process.env.REDIS_URL, prefix: 'mybot:' })
 * await store.add('lock:token', { owner: 'a' }, { ttl: 10_000 })
 *
 * @module
 */
import type { Redis, RedisOptions } from 'ioredis'
import {
  checkKey,
  checkTtl,
  DEFAULT_PREFIX,
  type Entry,
  encodeValue,
  type Json,
  type Store,
  StoreError,
  type StoreOptions,
  type WriteOptions,
} from '../store.js'

const NAME = 'redis'

/** Options of {@link createRedisStore}: give either `url` or `client`. */
export interface RedisStoreOptions extends StoreOptions {
  /** A Redis URL (`redis://[user:password@]host:6379/0`, `rediss://` for TLS). */
  url?: string
  /**
   * An ioredis client to use instead of opening one. The store does not close it, does not change
   * its options, and only adds two script commands to it (`wempCompareAndSet`, `wempDeleteVersion`).
   */
  client?: Redis
  /** How long connecting may take, in ms (own connection only). Default 3000. */
  connectTimeout?: number
  /** How long a command may take, including waiting for the connection, in ms (own connection only). Default 3000. */
  timeout?: number
  /** More ioredis options for the store's own connection; they override the store's defaults. */
  redis?: RedisOptions
}

/**
 * Atomically replaces `KEYS[1]` with `ARGV[2]` if its version (the text before the first newline)
 * is `ARGV[1]`; `ARGV[3]` is the TTL in ms, or empty for none. Returns 1 when written, else 0.
 * JSON text never contains a raw newline, so `<version>\n` can only match the stored version.
 */
const COMPARE_AND_SET_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local expected = ARGV[1] .. '\\n'
if string.sub(current, 1, #expected) ~= expected then return 0 end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
`

/** Atomically deletes `KEYS[1]` if its version is `ARGV[1]`. Returns 1 when deleted, else 0. */
const DELETE_VERSION_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local expected = ARGV[1] .. '\\n'
if string.sub(current, 1, #expected) ~= expected then return 0 end
redis.call('DEL', KEYS[1])
return 1
`

/** The commands `defineCommand` adds (EVALSHA, falling back to EVAL once when the script cache is cold). */
interface ScriptCommands {
  wempCompareAndSet(key: string, version: string, entry: string, ttl: string): Promise<number>
  wempDeleteVersion(key: string, version: string): Promise<number>
}

type ScriptedRedis = Redis & ScriptCommands

/** What a version looks like: 8 random bytes in hex. Anything else cannot be current. */
const VERSION_PATTERN = /^[0-9a-f]{16}$/

/**
 * A {@link Store} on Redis.
 *
 * **Layout.** Each key is one Redis string, `<version>\n<json>`, under `prefix + key`. A string
 * rather than a hash because it makes every write a single native command with its expiry:
 * `set` is `SET … PX`, `add` is `SET … NX PX` (no script at all), `get` is one `GET`, and the TTL
 * lives on the key itself, so Redis reclaims expired keys on its own (nothing to sweep). A hash
 * would need `HSET` + `PEXPIRE` in a script for every write. Only `compareAndSet` and a versioned
 * `delete` are Lua scripts (sent with EVALSHA), which Redis runs atomically.
 *
 * **Versions** are 8 random bytes in hex, made by the client: unique in practice (a repeat needs a
 * 1 in 2^64 draw on the same key), and never reused after a delete and re-create, which a per-key
 * counter would be.
 *
 * **TTL** is Redis' own millisecond expiry (`PX`), on the Redis server's clock.
 *
 * **Failures.** The store's own connection is opened on first use (`lazyConnect`), and set up so
 * that an unreachable Redis fails fast instead of queueing commands: a refused or lost connection
 * fails every waiting command at once (`maxRetriesPerRequest: 0`), a command never waits more than
 * `timeout` ms (`commandTimeout`, which also covers waiting for the connection), and a command
 * sent on a connection that then dropped is failed rather than sent again after reconnecting
 * (its outcome is unknown, so the caller is told). Every such failure is a {@link StoreError}
 * with code `store_unavailable`.
 *
 * @example
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379' })
 * const version = await store.set('greeting', 'hello', { ttl: 60_000 })
 * await store.compareAndSet('greeting', version, 'hello again')
 * await store.close()
 */
export class RedisStore implements Store {
  readonly name = NAME
  readonly prefix: string
  readonly #options: RedisStoreOptions
  readonly #ownsClient: boolean
  #client: Promise<ScriptedRedis> | undefined
  #closed = false
  /** The last connection error of the own client, to explain "max retries" failures. */
  #lastError: Error | undefined

  constructor(options: RedisStoreOptions) {
    if ((options.url === undefined) === (options.client === undefined)) {
      throw new StoreError(NAME, 'store_misconfigured', 'give exactly one of `url` and `client`')
    }
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    this.#options = options
    this.#ownsClient = options.client === undefined
    if (options.client !== undefined) this.#client = Promise.resolve(withScripts(options.client))
  }

  async get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined> {
    checkKey(NAME, key)
    const client = await this.#open()
    let stored: string | null
    try {
      stored = await client.get(this.prefix + key)
    } catch (cause) {
      throw this.#unavailable('get', cause)
    }
    if (stored === null) return undefined
    const newline = stored.indexOf('\n')
    if (newline < 0) {
      throw new StoreError(
        NAME,
        'store_unavailable',
        `key ${JSON.stringify(key)} holds a value wemp did not write`,
      )
    }
    return { version: stored.slice(0, newline), value: JSON.parse(stored.slice(newline + 1)) as T }
  }

  async set(key: string, value: Json, options?: WriteOptions): Promise<string> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const client = await this.#open()
    const version = newVersion()
    try {
      if (ttl === undefined) await client.set(this.prefix + key, `${version}\n${json}`)
      else await client.set(this.prefix + key, `${version}\n${json}`, 'PX', ttl)
    } catch (cause) {
      throw this.#unavailable('set', cause)
    }
    return version
  }

  async add(key: string, value: Json, options?: WriteOptions): Promise<string | undefined> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const client = await this.#open()
    const version = newVersion()
    let reply: string | null
    try {
      reply =
        ttl === undefined
          ? await client.set(this.prefix + key, `${version}\n${json}`, 'NX')
          : await client.set(this.prefix + key, `${version}\n${json}`, 'PX', ttl, 'NX')
    } catch (cause) {
      throw this.#unavailable('add', cause)
    }
    return reply === null ? undefined : version
  }

  async compareAndSet(
    key: string,
    version: string,
    value: Json,
    options?: WriteOptions,
  ): Promise<string | undefined> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const client = await this.#open()
    if (typeof version !== 'string' || !VERSION_PATTERN.test(version)) return undefined
    const next = newVersion()
    let written: number
    try {
      written = await client.wempCompareAndSet(
        this.prefix + key,
        version,
        `${next}\n${json}`,
        ttl === undefined ? '' : String(ttl),
      )
    } catch (cause) {
      throw this.#unavailable('compareAndSet', cause)
    }
    return written === 1 ? next : undefined
  }

  async delete(key: string, options?: { version?: string }): Promise<boolean> {
    checkKey(NAME, key)
    const client = await this.#open()
    const version = options?.version
    if (version !== undefined && (typeof version !== 'string' || !VERSION_PATTERN.test(version))) return false
    try {
      const deleted =
        version === undefined
          ? await client.del(this.prefix + key)
          : await client.wempDeleteVersion(this.prefix + key, version)
      return deleted > 0
    } catch (cause) {
      throw this.#unavailable('delete', cause)
    }
  }

  /** Quits the store's own connection; a `client` that was passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const pending = this.#client
    if (pending === undefined || !this.#ownsClient) return
    const client = await pending.catch(() => undefined)
    if (client === undefined) return
    if (client.status === 'wait' || client.status === 'end') {
      client.disconnect()
      return
    }
    // QUIT lets in-flight commands finish; if Redis does not answer within a second, drop the socket.
    let timer: ReturnType<typeof setTimeout> | undefined
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000)
    })
    await Promise.race([client.quit().catch(() => {}), gaveUp])
    clearTimeout(timer)
    client.disconnect()
  }

  #unavailable(operation: string, cause: unknown): StoreError {
    let reason = cause instanceof Error ? cause.message : String(cause)
    // ioredis fails waiting commands with a generic "max retries" error when the connection
    // fails; the connection's own error says why.
    if (cause instanceof Error && cause.name === 'MaxRetriesPerRequestError') {
      reason = `cannot reach Redis${this.#lastError ? `: ${this.#lastError.message}` : ''}`
    }
    return new StoreError(NAME, 'store_unavailable', `${operation} failed: ${reason}`, { cause })
  }

  #open(): Promise<ScriptedRedis> {
    if (this.#closed) return Promise.reject(new StoreError(NAME, 'store_unavailable', 'the store is closed'))
    this.#client ??= this.#connect()
    return this.#client
  }

  async #connect(): Promise<ScriptedRedis> {
    let RedisClient: typeof Redis
    try {
      RedisClient = (await import('ioredis')).Redis
    } catch (cause) {
      this.#client = undefined
      throw new StoreError(
        NAME,
        'store_misconfigured',
        'install ioredis to use the Redis store: npm install ioredis',
        {
          cause,
        },
      )
    }
    const timeout = this.#options.timeout ?? 3000
    const client = new RedisClient(this.#options.url ?? '', {
      lazyConnect: true,
      connectTimeout: this.#options.connectTimeout ?? 3000,
      commandTimeout: timeout,
      // Queue commands only while a connection is being opened: with no retries per request, a
      // refused or dropped connection fails them at once (and commandTimeout bounds the wait).
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Reconnect in the background, quickly, so the next command after an outage finds Redis.
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      ...this.#options.redis,
    })
    // Failures reach the caller as rejected commands; without a listener ioredis prints each one.
    client.on('error', (error: Error) => {
      this.#lastError = error
    })
    client.on('ready', () => {
      this.#lastError = undefined
    })
    return withScripts(client)
  }
}

/**
 * Creates a {@link RedisStore}. Nothing is loaded or connected until the first operation.
 *
 * @example
 * import { createRedisStore } from 'wemp/storage/redis'
 *
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'bot1:' })
 * const entry = await store.get<{ count: number }>('counter')
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options)
}

function withScripts(client: Redis): ScriptedRedis {
  const scripted = client as ScriptedRedis
  if (typeof scripted.wempCompareAndSet !== 'function') {
    client.defineCommand('wempCompareAndSet', { numberOfKeys: 1, lua: COMPARE_AND_SET_LUA })
  }
  if (typeof scripted.wempDeleteVersion !== 'function') {
    client.defineCommand('wempDeleteVersion', { numberOfKeys: 1, lua: DELETE_VERSION_LUA })
  }
  return scripted
}

/**
 * 8 random bytes in hex. Web Crypto's global rather than `node:crypto`, whose import alone would
 * cost more than this whole module: it loads at the first write, after the driver.
 */
function newVersion(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(8)).buffer).toString('hex')
}
