/**
 * The PostgreSQL backend of the {@link Store} contract, on `pg` (an optional peer dependency,
 * loaded only when a store is first used).
 *
 * @example
 * import { createPostgresStore } from 'wemp/storage/postgres'
 *
 * const store = createPostgresStore({ url: process.env.DATABASE_URL })
 * await store.set('greeting', 'hello', { ttl: 60_000 })
 *
 * @module
 */
import type { Pool, PoolConfig, QueryResultRow } from 'pg'
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

const NAME = 'postgres'

/** Options of {@link createPostgresStore}: give either `url` or `pool`. */
export interface PostgresStoreOptions extends StoreOptions {
  /** A connection string (`postgres://user:password@host:5432/db`). */
  url?: string
  /** A `pg` pool to use instead of opening one. The store does not end it. */
  pool?: Pool
  /** The table, optionally schema-qualified (`schema.table`). Default `wemp_store`. */
  table?: string
  /** Create the table (and its expiry index) on first use when it is missing. Default true. */
  createTable?: boolean
  /**
   * How often expired rows are deleted, in ms; 0 turns the sweep off. Default 60 000. The first
   * sweep runs just after first use (serverless instances rarely live a whole interval); the
   * timer never keeps the process alive.
   */
  sweepInterval?: number
  /** How long connecting may take, in ms (own pool only). Default 3000. */
  connectTimeout?: number
  /** How long a statement may take, in ms, enforced by the server and the client (own pool only). Default 3000. */
  timeout?: number
  /** More `pg` pool options for the store's own pool; they override the store's defaults. */
  pg?: PoolConfig
}

/** What a version looks like: a positive BIGINT in decimal. Anything else cannot be current. */
const VERSION_PATTERN = /^[1-9][0-9]{0,18}$/
const MAX_BIGINT = 2n ** 63n - 1n
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
/** SQLSTATEs of a concurrent `CREATE … IF NOT EXISTS` that lost the race on the catalogs. */
const CREATE_RACE = new Set(['23505', '42P07', '42710'])

interface Statements {
  create: string
  get: string
  set: string
  add: string
  compareAndSet: string
  delete: string
  deleteVersion: string
  sweep: string
}

/**
 * A {@link Store} on PostgreSQL: one row per key.
 *
 * ```sql
 * CREATE TABLE wemp_store (
 *   key        TEXT COLLATE "C" PRIMARY KEY,  -- prefix + key, compared byte for byte
 *   value      TEXT NOT NULL,                 -- the JSON text exactly as written
 *   version    BIGINT NOT NULL,               -- random, positive
 *   expires_at TIMESTAMPTZ                    -- NULL: permanent
 * )
 * ```
 *
 * **Value as TEXT, not JSONB**: JSONB would reorder object keys, drop duplicate ones, and refuse
 * strings containing `\u0000`, which JSON allows; the store never queries inside values, so TEXT
 * keeps exactly what was written at no cost.
 *
 * **The database clock.** Expiry is computed and checked with the server's `now()` in the same
 * statement that reads or writes, never with the client's clock: many serverless instances share
 * one table, and their clocks may disagree, but they all agree on the database's. TTLs are exact
 * to the microsecond of that clock.
 *
 * **Atomicity** comes from single statements on one row: `add` is
 * `INSERT … ON CONFLICT (key) DO UPDATE … WHERE expires_at <= now()` (it takes over an expired
 * row, never a live one), `compareAndSet` is `UPDATE … WHERE key = $1 AND version = $2` and not
 * expired; PostgreSQL re-checks those conditions on the newest row version after waiting for a
 * concurrent writer, so of concurrent writers exactly one wins.
 *
 * **Versions** are random 63-bit integers, made by the client: never reused after a delete and
 * re-create, as a per-key counter would be.
 *
 * **Expired rows** read as absent at once, and are deleted by a sweep (see `sweepInterval`),
 * helped by a partial index on `expires_at`.
 *
 * **Failures** (refused, timed out, server errors) reject with a {@link StoreError}
 * `store_unavailable`; the own pool bounds connecting with `connectTimeout` and each statement
 * with `timeout`.
 *
 * @example
 * const store = new PostgresStore({ url: 'postgres://postgres@127.0.0.1:5432/test', table: 'bot_store' })
 * const entry = await store.get<{ count: number }>('counter')
 * await store.close()
 */
export class PostgresStore implements Store {
  readonly name = NAME
  readonly prefix: string
  /** The table, as written in SQL (quoted). */
  readonly table: string
  readonly #options: PostgresStoreOptions
  readonly #sql: Statements
  #pool: Promise<Pool> | undefined
  #ready: Promise<Pool> | undefined
  #sweepTimer: ReturnType<typeof setInterval> | undefined
  #closed = false

  constructor(options: PostgresStoreOptions) {
    if ((options.url === undefined) === (options.pool === undefined)) {
      throw new StoreError(NAME, 'store_misconfigured', 'give exactly one of `url` and `pool`')
    }
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    this.#options = options
    const parts = (options.table ?? 'wemp_store').split('.')
    if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
      throw new StoreError(NAME, 'store_misconfigured', `invalid table name ${JSON.stringify(options.table)}`)
    }
    this.table = parts.map((part) => `"${part}"`).join('.')
    this.#sql = statements(this.table, `"${parts.at(-1)}_expires_at_idx"`)
    if (options.pool !== undefined) this.#pool = Promise.resolve(options.pool)
  }

  async get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined> {
    checkKey(NAME, key)
    const rows = await this.#query<{ value: string; version: string }>('get', this.#sql.get, [
      this.prefix + key,
    ])
    const row = rows.rows[0]
    return row === undefined ? undefined : { value: JSON.parse(row.value) as T, version: row.version }
  }

  async set(key: string, value: Json, options?: WriteOptions): Promise<string> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options) ?? null
    const version = newVersion()
    await this.#query('set', this.#sql.set, [this.prefix + key, json, version, ttl])
    return version
  }

  async add(key: string, value: Json, options?: WriteOptions): Promise<string | undefined> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options) ?? null
    const version = newVersion()
    const result = await this.#query('add', this.#sql.add, [this.prefix + key, json, version, ttl])
    return result.rowCount === 1 ? version : undefined
  }

  async compareAndSet(
    key: string,
    version: string,
    value: Json,
    options?: WriteOptions,
  ): Promise<string | undefined> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options) ?? null
    if (!isVersion(version)) return undefined
    const next = newVersion()
    const result = await this.#query('compareAndSet', this.#sql.compareAndSet, [
      this.prefix + key,
      version,
      json,
      next,
      ttl,
    ])
    return result.rowCount === 1 ? next : undefined
  }

  async delete(key: string, options?: { version?: string }): Promise<boolean> {
    checkKey(NAME, key)
    const version = options?.version
    if (version === undefined) {
      const result = await this.#query('delete', this.#sql.delete, [this.prefix + key])
      return (result.rowCount ?? 0) > 0
    }
    if (!isVersion(version)) return false
    const result = await this.#query('delete', this.#sql.deleteVersion, [this.prefix + key, version])
    return (result.rowCount ?? 0) > 0
  }

  /**
   * Deletes every expired row of the table now (whatever its prefix: expired is expired for
   * everyone). The store also does this on its own; see `sweepInterval`.
   * @returns how many rows were deleted
   */
  async sweep(): Promise<number> {
    const result = await this.#query('sweep', this.#sql.sweep, [])
    return result.rowCount ?? 0
  }

  /** Stops the sweep and ends the store's own pool; a `pool` that was passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweepTimer)
    if (this.#options.pool !== undefined || this.#pool === undefined) return
    const pool = await this.#pool.catch(() => undefined)
    await pool?.end().catch(() => {})
  }

  async #query<R extends QueryResultRow = QueryResultRow>(
    operation: string,
    text: string,
    values: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    const pool = await this.#open()
    try {
      return await pool.query<R>(text, values)
    } catch (cause) {
      throw unavailable(operation, cause)
    }
  }

  #open(): Promise<Pool> {
    if (this.#closed) return Promise.reject(new StoreError(NAME, 'store_unavailable', 'the store is closed'))
    this.#ready ??= this.#prepare().catch((error: unknown) => {
      this.#ready = undefined // the next operation tries again
      throw error
    })
    return this.#ready
  }

  async #prepare(): Promise<Pool> {
    this.#pool ??= this.#connect().catch((error: unknown) => {
      this.#pool = undefined
      throw error
    })
    const pool = await this.#pool
    if (this.#options.createTable !== false) {
      for (let attempt = 1; ; attempt++) {
        try {
          // One round trip: both statements run in one implicit transaction (simple query protocol).
          await pool.query(this.#sql.create)
          break
        } catch (cause) {
          // Two instances creating the table at once: one may fail on the catalogs' unique index;
          // by then the other has created it, and IF NOT EXISTS succeeds on the next try.
          if (attempt < 3 && CREATE_RACE.has(sqlState(cause))) continue
          throw unavailable('create table', cause)
        }
      }
    }
    this.#startSweeping()
    return pool
  }

  #startSweeping(): void {
    const interval = this.#options.sweepInterval ?? 60_000
    if (interval <= 0 || this.#sweepTimer !== undefined || this.#closed) return
    const sweep = () => {
      if (!this.#closed) this.sweep().catch(() => {}) // a failed sweep is retried at the next tick
    }
    setTimeout(sweep, 0).unref()
    this.#sweepTimer = setInterval(sweep, interval)
    this.#sweepTimer.unref()
  }

  async #connect(): Promise<Pool> {
    let PoolClass: typeof Pool
    try {
      const pg = await import('pg')
      PoolClass = pg.default.Pool
    } catch (cause) {
      throw new StoreError(
        NAME,
        'store_misconfigured',
        'install pg to use the PostgreSQL store: npm install pg',
        {
          cause,
        },
      )
    }
    const timeout = this.#options.timeout ?? 3000
    const pool = new PoolClass({
      connectionString: this.#options.url,
      max: 4,
      connectionTimeoutMillis: this.#options.connectTimeout ?? 3000,
      statement_timeout: timeout,
      query_timeout: timeout,
      idleTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      keepAlive: true,
      application_name: 'wemp',
      ...this.#options.pg,
    })
    // An idle connection that breaks (a server restart) is only dropped from the pool; without a
    // listener the pool's 'error' event would crash the process.
    pool.on('error', () => {})
    return pool
  }
}

/**
 * Creates a {@link PostgresStore}. Nothing is loaded or connected until the first operation,
 * which also creates the table when it is missing.
 *
 * @example
 * import { createPostgresStore } from 'wemp/storage/postgres'
 *
 * const store = createPostgresStore({ url: 'postgres://postgres@127.0.0.1:5432/test', prefix: 'bot1:' })
 * const created = await store.add('lock:menu', { owner: 'a' }, { ttl: 10_000 })
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options)
}

function statements(table: string, index: string): Statements {
  const live = '(expires_at IS NULL OR expires_at > now())'
  const expiry = (param: string) => `now() + ${param}::float8 * interval '1 millisecond'`
  const insert = `INSERT INTO ${table} AS t (key, value, version, expires_at) VALUES ($1, $2, $3, ${expiry('$4')})
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version, expires_at = EXCLUDED.expires_at`
  return {
    create: `CREATE TABLE IF NOT EXISTS ${table} (
        key TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL,
        version BIGINT NOT NULL,
        expires_at TIMESTAMPTZ
      );
      CREATE INDEX IF NOT EXISTS ${index} ON ${table} (expires_at) WHERE expires_at IS NOT NULL`,
    get: `SELECT value, version::text AS version FROM ${table} WHERE key = $1 AND ${live}`,
    set: insert,
    add: `${insert} WHERE t.expires_at IS NOT NULL AND t.expires_at <= now() RETURNING t.version`,
    compareAndSet: `UPDATE ${table} SET value = $3, version = $4, expires_at = ${expiry('$5')}
      WHERE key = $1 AND version = $2 AND ${live}`,
    delete: `DELETE FROM ${table} WHERE key = $1 AND ${live}`,
    deleteVersion: `DELETE FROM ${table} WHERE key = $1 AND version = $2 AND ${live}`,
    sweep: `DELETE FROM ${table} WHERE expires_at <= now()`,
  }
}

function isVersion(version: unknown): version is string {
  return typeof version === 'string' && VERSION_PATTERN.test(version) && BigInt(version) <= MAX_BIGINT
}

/**
 * A random version in [1, 2^63 - 1], in decimal. Web Crypto's global rather than `node:crypto`,
 * whose import alone would cost more than this whole module: it loads at the first write.
 */
function newVersion(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  const version = new DataView(bytes.buffer).getBigUint64(0) >> 1n
  return version === 0n ? '1' : version.toString()
}

function sqlState(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}

function unavailable(operation: string, cause: unknown): StoreError {
  const reason = cause instanceof Error ? cause.message || String(cause) : String(cause)
  const state = sqlState(cause)
  return new StoreError(
    NAME,
    'store_unavailable',
    `${operation} failed: ${reason}${state ? ` (${state})` : ''}`,
    {
      cause,
    },
  )
}
