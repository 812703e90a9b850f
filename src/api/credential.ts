import { randomBytes } from 'node:crypto'
import type { Logger } from '../bot/logger.js'
import { WempError } from '../protocol/errors.js'
import { type Store, StoreError } from '../storage/store.js'

/**
 * A credential every instance of a bot shares through its store: the access token, the JS-SDK
 * ticket. WeChat's rules make this necessary: a classic `/cgi-bin/token` call invalidates the
 * previous token after a 5-minute overlap, and every credential has a small daily quota, so N
 * cloud-function instances must not each fetch their own.
 *
 * How it stays single-flight across instances:
 * 1. an in-memory copy answers while it is fresh (no store call on the hot path);
 * 2. otherwise the store's copy is read; if fresh, it is used;
 * 3. otherwise the instance takes a lock key with `add` (atomic on every backend), reads once
 *    more (another instance may have just written it), fetches, writes, and releases the lock;
 * 4. instances that did not get the lock poll the store until the credential appears or the lock
 *    expires (a crashed holder), then try again.
 * Concurrent callers in one process share one promise, so a process makes at most one attempt
 * at a time.
 *
 * When the store fails, the credential is fetched directly (logged as a warning): the bot keeps
 * working, at the cost of the sharing (which, for `stable_token`, costs nothing but quota).
 */

/** A credential as fetched: its value and lifetime in seconds. */
export interface FetchedCredential {
  value: string
  /** Seconds until WeChat expires it (7200 for tokens and tickets). */
  expiresIn: number
}

interface Stored {
  value: string
  /** When it expires (ms since the epoch). */
  expiresAt: number
  /** When instances should stop using it and fetch the next (ms since the epoch). */
  refreshAt: number
}

export interface SharedCredentialOptions {
  store: Store
  /** The store key of the credential; the lock is `<key>:lock`. */
  key: string
  /** Fetches a new credential from WeChat (or the user's own token service). */
  fetch: () => Promise<FetchedCredential>
  log: Logger
  /** What the credential is, for logs (`access token`, `jsapi ticket`). */
  label: string
  now?: () => number
  /** How long a lock holder may take before others take over, ms. Default 15 s. */
  lockTtl?: number
  /** How often waiters look at the store, ms. Default 50. */
  pollInterval?: number
  /** How long a caller waits in all before giving up, ms. Default 20 s. */
  waitTimeout?: number
}

/** The refresh margin: WeChat renews a stable token 5 minutes before it expires, with an overlap. */
const RENEW_BEFORE = 5 * 60 * 1000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class SharedCredential {
  readonly #options: SharedCredentialOptions
  readonly #now: () => number
  readonly #lockKey: string
  #memo: Stored | undefined
  #inflight: Promise<string> | undefined
  /** How many times this instance fetched the credential (for tests and logs). */
  fetches = 0

  constructor(options: SharedCredentialOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#lockKey = `${options.key}:lock`
  }

  /** The current credential, fetched (once, across instances) when there is none or it is due for renewal. */
  get(): Promise<string> {
    const memo = this.#memo
    if (memo && memo.refreshAt > this.#now()) return Promise.resolve(memo.value)
    this.#inflight ??= this.#obtain().finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  /**
   * Forgets `value` because WeChat refused it: in memory, and in the store if the store still holds
   * exactly it (so that an instance holding an old value cannot throw away a newer one).
   */
  async invalidate(value: string): Promise<void> {
    if (this.#memo?.value === value) this.#memo = undefined
    const { store, key, log, label } = this.#options
    try {
      const entry = await store.get<Stored & Record<string, string | number>>(key)
      if (entry?.value.value === value) await store.delete(key, { version: entry.version })
    } catch (error) {
      log.warn(`could not drop the refused ${label} from the store`, { reason: messageOf(error) })
    }
  }

  async #obtain(): Promise<string> {
    const { store, key, log, label } = this.#options
    const lockTtl = this.#options.lockTtl ?? 15_000
    const poll = this.#options.pollInterval ?? 50
    const giveUpAt = this.#now() + (this.#options.waitTimeout ?? 20_000)
    const owner = randomBytes(8).toString('hex')
    try {
      for (;;) {
        const cached = await this.#read()
        if (cached) return cached
        const lock = await store.add(this.#lockKey, { owner }, { ttl: lockTtl })
        if (lock !== undefined) {
          try {
            return (await this.#read()) ?? (await this.#fetchAndStore())
          } finally {
            await store.delete(this.#lockKey, { version: lock }).catch(() => {})
          }
        }
        if (this.#now() >= giveUpAt) {
          throw new WempError(
            'token_unavailable',
            `timed out waiting for another instance to fetch the ${label} (lock ${this.#lockKey})`,
          )
        }
        await sleep(poll / 2 + Math.random() * poll)
      }
    } catch (error) {
      if (!(error instanceof StoreError)) throw error
      log.warn(`the store failed; fetching the ${label} without sharing it`, {
        store: store.name,
        key,
        reason: error.message,
      })
      return this.#fetchAndStore(false)
    }
  }

  async #read(): Promise<string | undefined> {
    const entry = await this.#options.store.get<Stored & Record<string, string | number>>(this.#options.key)
    if (!entry) return undefined
    const stored = entry.value
    if (typeof stored?.value !== 'string' || !(stored.refreshAt > this.#now())) return undefined
    this.#memo = { value: stored.value, expiresAt: stored.expiresAt, refreshAt: stored.refreshAt }
    return stored.value
  }

  async #fetchAndStore(share = true): Promise<string> {
    const { store, key, log, label } = this.#options
    this.fetches++
    const fetched = await this.#options.fetch()
    if (typeof fetched.value !== 'string' || fetched.value === '') {
      throw new WempError('token_unavailable', `the ${label} source returned no value`)
    }
    const lifetime = Math.max(1, Number(fetched.expiresIn) || 7200) * 1000
    const now = this.#now()
    // Renew 5 minutes before expiry (WeChat keeps the old value valid for those 5 minutes), or at
    // half-life for short-lived values.
    const stored: Stored = {
      value: fetched.value,
      expiresAt: now + lifetime,
      refreshAt: now + Math.max(lifetime - RENEW_BEFORE, lifetime / 2),
    }
    this.#memo = stored
    log.info(`fetched the ${label}`, { key, expiresIn: Math.round(lifetime / 1000) })
    if (share) {
      try {
        await store.set(key, { ...stored }, { ttl: lifetime })
      } catch (error) {
        // The value is good; only the sharing failed. Fetching again would spend quota for nothing.
        log.warn(`could not share the ${label} through the store`, {
          store: store.name,
          reason: messageOf(error),
        })
      }
    }
    return stored.value
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
