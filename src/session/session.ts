import { WempError } from '../protocol/errors.js'
import type { Entry, Json, Store } from '../storage/store.js'

/**
 * Per-follower sessions on a {@link Store}, safe under concurrency: two messages from the same
 * follower handled at once, on two function instances, lose no update.
 *
 * The session is read only when a handler asks for it, written only when it changed, and
 * deleted (not emptied) when cleared. Every change goes through {@link Session.update}: the
 * mutation runs on the current data and is saved with a compare-and-set on the version it read;
 * when another instance saved first, the data is read again and the mutation runs again on it.
 * That is why a mutation is a function and not a direct assignment: `s.count += 1` run twice
 * on the same stale value would lose one increment; run again on the fresh value, it cannot.
 */

/**
 * What a session holds: JSON values by name. Declare your own fields by augmenting it:
 *
 * @example
 * declare module 'wemp' {
 *   interface SessionData { count?: number; iftttKey?: string }
 * }
 */
export interface SessionData {
  [key: string]: Json | undefined
}

/** A follower's session, as handlers see it (`ctx.session`). */
export interface Session<T extends SessionData = SessionData> {
  /** The session's data; `{}` when there is none. A copy: change it through `update`. */
  get(): Promise<T>
  /**
   * Changes the session atomically: `mutate` gets a copy of the current data, changes it in place
   * (or returns new data), and the result is saved if it differs. On a concurrent change
   * `mutate` runs again on the fresh data, so it must not have other side effects. Data that
   * ends up empty deletes the session. Returns the data as saved.
   *
   * @example
   * const { count } = await ctx.session.update((s) => { s.count = (s.count ?? 0) + 1 })
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a mutation that changes the draft in place returns nothing.
  update(mutate: (data: T) => T | void | Promise<T | void>): Promise<T>
  /** Replaces the whole session. */
  set(data: T): Promise<T>
  /** Deletes the session for real: a later read finds nothing. */
  clear(): Promise<void>
}

/** Session settings (`createBot({ session })`). */
export interface SessionOptions {
  /** How long a session lives after its last change, in ms. Default 30 days. */
  ttl?: number
  /** How many times a conflicting update is retried before failing. Default 16. */
  maxRetries?: number
}

const DEFAULT_TTL = 30 * 24 * 3600 * 1000
const DEFAULT_RETRIES = 16

/** Opens sessions on a store; one per bot. */
export class SessionManager {
  readonly store: Store
  readonly ttl: number
  readonly maxRetries: number

  constructor(store: Store, options: SessionOptions = {}) {
    this.store = store
    this.ttl = options.ttl ?? DEFAULT_TTL
    this.maxRetries = options.maxRetries ?? DEFAULT_RETRIES
    if (!(this.ttl > 0))
      throw new WempError('invalid_config', 'session.ttl must be a positive number of milliseconds')
  }

  /** The store key of a follower's session: by account and OpenID. */
  key(account: string, openid: string): string {
    return `session:${safe(account)}:${safe(openid)}`
  }

  /** The session of one follower (nothing is read until it is used). */
  open<T extends SessionData = SessionData>(account: string, openid: string): Session<T> {
    return new StoredSession<T>(this, this.key(account, openid))
  }
}

// OpenIDs are [A-Za-z0-9_-]; anything else is escaped so that keys stay within the store contract.
function safe(part: string): string {
  return /^[A-Za-z0-9_\-.@]+$/.test(part) ? part : encodeURIComponent(part).replace(/%/g, '.')
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

function normalise(data: SessionData): { text: string; empty: boolean } {
  // JSON.stringify drops undefined fields: deleting a field and setting it to undefined are the same.
  const text = JSON.stringify(data)
  return { text, empty: text === '{}' }
}

class StoredSession<T extends SessionData> implements Session<T> {
  readonly #manager: SessionManager
  readonly #key: string
  /** What this push last read or wrote: undefined = not read yet; null = no session stored. */
  #entry: Entry<Json> | null | undefined

  constructor(manager: SessionManager, key: string) {
    this.#manager = manager
    this.#key = key
  }

  async #read(): Promise<Entry<Json> | null> {
    if (this.#entry === undefined) this.#entry = (await this.#manager.store.get(this.#key)) ?? null
    return this.#entry
  }

  async get(): Promise<T> {
    const entry = await this.#read()
    return (entry ? copy(entry.value) : {}) as T
  }

  // biome-ignore lint/suspicious/noConfusingVoidType: as in the interface.
  async update(mutate: (data: T) => T | void | Promise<T | void>): Promise<T> {
    const { store, ttl, maxRetries } = this.#manager
    for (let attempt = 0; ; attempt++) {
      const current = await this.#read()
      const before = (current ? current.value : {}) as T
      const draft = copy(before)
      const returned = (await mutate(draft)) ?? undefined
      const next = returned === undefined ? draft : returned
      if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        throw new WempError('invalid_config', 'a session update must leave the session an object')
      }
      const { text, empty } = normalise(next)
      if (text === JSON.stringify(before)) return copy(next)
      const value = JSON.parse(text) as Json
      let saved: boolean
      if (empty) {
        saved = current === null || (await store.delete(this.#key, { version: current.version }))
        if (saved) this.#entry = null
      } else {
        const version =
          current === null
            ? await store.add(this.#key, value, { ttl })
            : await store.compareAndSet(this.#key, current.version, value, { ttl })
        saved = version !== undefined
        if (version !== undefined) this.#entry = { value, version }
      }
      if (saved) return copy(next)
      if (attempt >= maxRetries) {
        throw new WempError(
          'session_conflict',
          `the session ${this.#key} kept changing under ${maxRetries + 1} attempts to update it`,
        )
      }
      this.#entry = undefined
      // Back off a little, with jitter, so that contending instances interleave instead of colliding again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)))
    }
  }

  set(data: T): Promise<T> {
    return this.update(() => copy(data))
  }

  async clear(): Promise<void> {
    await this.update(() => ({}) as T)
  }
}
