/**
 * The storage contract every backend implements (memory, file, SQLite, Redis, PostgreSQL, MySQL,
 * S3-compatible object storage). Sessions, retry de-duplication and the shared access token are
 * all built on these five operations, so a backend that passes the contract suite
 * (test/storage/contract.ts) supports all of them.
 *
 * Semantics every backend guarantees:
 * - **Keys** are strings of at most 200 characters (letters, digits and `:_-.@`); the store adds its
 *   `prefix` (default `wemp:`) so that several bots can share one database or bucket.
 * - **Values** are JSON: what `get` returns is a deep copy of what was written (`JSON.parse(JSON.stringify(v))`).
 *   `undefined` is not a value; top-level `null` is.
 * - **Versions** are opaque strings that change on every write of a key and are never reused for
 *   that key, even after it was deleted or expired (so a stale compare-and-set cannot succeed on a
 *   re-created key): counters, or at least 63 random bits, which never repeat in practice. Compare them only for equality; never parse them. An unknown or malformed
 *   version simply does not match.
 * - **Prefixes** use the key characters, at most 55 of them, and must not nest (`bot:` and `bot:x:`
 *   on one backend could name the same key): give each bot a prefix of its own, ending in `:`.
 * - **TTL** (`ttl`, milliseconds, > 0 and at most ten years) makes a key expire: once expired it reads as absent, `add`
 *   may create it again, and `compareAndSet` on it fails. Expiry is checked on read, so it is exact
 *   to the backend clock's precision (documented per backend); storage is reclaimed later by the
 *   backend's own expiry or a sweep. A write without `ttl` makes the key permanent.
 * - **Atomicity**: `add`, `compareAndSet` and a versioned `delete` are atomic against every other
 *   operation on the same key, across processes and machines sharing the backend: of many
 *   concurrent `add`s of one key exactly one succeeds; of many concurrent `compareAndSet`s from the
 *   same version exactly one succeeds.
 * - **Failures** of the backend (unreachable, timed out, refused) reject with {@link StoreError}
 *   (code `store_unavailable`) within the backend's timeout: never a hang, never a silent success.
 *   So does any operation on a store after `close()`, and a key holding data wemp did not write.
 *
 * @example
 * const created = await store.add('lock:token', { owner: id }, { ttl: 10_000 })  // undefined if held
 * const entry = await store.get<{ count: number }>('counter')
 * if (entry) await store.compareAndSet('counter', entry.version, { count: entry.value.count + 1 })
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A stored value with its version. */
export interface Entry<T extends Json = Json> {
  value: T
  version: string
}

/** Options of a write. */
export interface WriteOptions {
  /** Time to live in milliseconds; omitted: the key never expires. */
  ttl?: number
}

/** The storage contract. */
export interface Store {
  /** A short name for logs and errors (`memory`, `redis`, …). */
  readonly name: string
  /** The value and version of a key; undefined when absent or expired. */
  get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined>
  /** Writes a key unconditionally; returns the new version. */
  set(key: string, value: Json, options?: WriteOptions): Promise<string>
  /**
   * Creates a key only if it is absent (or expired): the basis of locks and de-duplication.
   * @returns the new version, or undefined when the key exists
   */
  add(key: string, value: Json, options?: WriteOptions): Promise<string | undefined>
  /**
   * Writes a key only if its current version is `version`: the basis of lost-update-free sessions.
   * @returns the new version, or undefined when the key changed, expired or was deleted since
   */
  compareAndSet(
    key: string,
    version: string,
    value: Json,
    options?: WriteOptions,
  ): Promise<string | undefined>
  /**
   * Deletes a key; with `version`, only if that is still its version.
   * @returns whether a live key was deleted
   */
  delete(key: string, options?: { version?: string }): Promise<boolean>
  /** Releases connections and timers (the store is unusable afterwards). */
  close(): Promise<void>
}

/** Options every backend accepts. */
export interface StoreOptions {
  /** Prepended to every key. Default `wemp:`. */
  prefix?: string
}

/** Stable codes of {@link StoreError}. */
export type StoreErrorCode = 'store_unavailable' | 'invalid_key' | 'invalid_value' | 'store_misconfigured'

/** An error from a store: the backend failed, or a key or value broke the contract. */
export class StoreError extends Error {
  readonly code: StoreErrorCode
  /** The backend's name. */
  readonly store: string

  constructor(store: string, code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${store} store: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StoreError'
    this.code = code
    this.store = store
  }
}

const KEY_PATTERN = /^[A-Za-z0-9:_\-.@]{1,200}$/

/** Checks a key against the contract. @throws StoreError `invalid_key` */
export function checkKey(store: string, key: string): void {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new StoreError(
      store,
      'invalid_key',
      `invalid key ${JSON.stringify(key)}: use 1-200 of A-Z a-z 0-9 : _ - . @`,
    )
  }
}

/** Serialises a value for storage. @throws StoreError `invalid_value` */
export function encodeValue(store: string, value: Json): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (cause) {
    throw new StoreError(store, 'invalid_value', 'the value is not JSON-serialisable', { cause })
  }
  if (text === undefined) throw new StoreError(store, 'invalid_value', 'undefined is not a storable value')
  return text
}

/** Checks a TTL. @throws StoreError `invalid_value` */
export function checkTtl(store: string, options: WriteOptions | undefined): number | undefined {
  const ttl = options?.ttl
  if (ttl === undefined) return undefined
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TTL) {
    throw new StoreError(
      store,
      'invalid_value',
      `ttl must be a number of milliseconds from 1 to ${MAX_TTL} (ten years), got ${String(ttl)}`,
    )
  }
  return Math.ceil(ttl)
}

/** The longest TTL: ten years, in milliseconds. */
export const MAX_TTL = 10 * 365 * 24 * 3600 * 1000

export const DEFAULT_PREFIX = 'wemp:'
