/**
 * The SQLite backend of the {@link Store} contract, on better-sqlite3 12 (an optional peer
 * dependency, loaded only when a store is created): one table in one database file, shared by
 * every process on the machine that opens the file.
 *
 * - One table (`wemp_store` by default): `key TEXT PRIMARY KEY, value TEXT, version INTEGER,
 *   expires_at INTEGER NULL`, created on first use. The row with the empty key holds the last
 *   version issued, so a version is never reused, even after its key is deleted.
 * - `add`, `compareAndSet` and `set` are IMMEDIATE transactions, `delete` a single statement, so
 *   they are atomic across connections and processes; a connection waits up to `busyTimeout` for
 *   another's write, then rejects with `store_unavailable`.
 * - Own connections use WAL mode (readers never wait for writers) with `synchronous = NORMAL`.
 * - TTL is checked on every read with `Date.now()` (millisecond precision); expired rows are
 *   replaced by `add` and `set` and deleted by an unref'd sweep.
 *
 * @example
 * import { createSqliteStore } from 'wemp/storage/sqlite'
 *
 * const store = createSqliteStore({ filename: '.wemp/store.db', prefix: 'mybot:' })
 * await store.set('greeting', { text: '你好' })
 *
 * @module
 */
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import type Sqlite from 'better-sqlite3'
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

const NAME = 'sqlite'
const TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
/** Versions this store issued: positive integers without leading zeros, within 2^53. */
const VERSION_PATTERN = /^[1-9][0-9]{0,15}$/
/** Rows the sweep deletes per statement, so that one sweep never blocks for long. */
const SWEEP_BATCH = 1000

/** An open better-sqlite3 database. */
export type SqliteDatabase = Sqlite.Database

/** Options of {@link createSqliteStore}: give either `filename` or `database`. */
export interface SqliteStoreOptions extends StoreOptions {
  /** The database file (its directory is created if missing); `:memory:` for one in-memory store. */
  filename?: string
  /**
   * An open better-sqlite3 database to use instead. The store does not close it and does not change
   * its journal mode; it sets nothing but its own table.
   */
  database?: SqliteDatabase
  /** The table name. Default `wemp_store`. */
  table?: string
  /** How long a write waits for another connection's write, in ms (own connection only). Default 5000. */
  busyTimeout?: number
  /** How often expired rows are deleted, in ms; 0 turns the sweep off. Default 60 000. */
  sweepInterval?: number
}

let driver: typeof Sqlite | undefined

/** Loads better-sqlite3 once, on first use. */
function loadDriver(): typeof Sqlite {
  if (driver) return driver
  try {
    driver = createRequire(import.meta.url)('better-sqlite3') as typeof Sqlite
    return driver
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND'
    throw new StoreError(
      NAME,
      'store_misconfigured',
      missing
        ? 'the SQLite store needs better-sqlite3: install better-sqlite3@12 (npm install better-sqlite3@12)'
        : `better-sqlite3 could not be loaded (${String(cause)}): reinstall better-sqlite3@12 for this Node version`,
      { cause },
    )
  }
}

/** What a failed statement means for the caller. */
function failure(cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause
  const code = (cause as { code?: unknown }).code
  const detail = typeof code === 'string' ? `${code}: ${(cause as Error).message}` : String(cause)
  return new StoreError(NAME, 'store_unavailable', detail, { cause })
}

interface Row {
  value: string
  version: number
}

/**
 * A {@link Store} in one table of a SQLite database.
 *
 * @example
 * const store = new SqliteStore({ filename: '.wemp/store.db' })
 * const version = await store.add('lock:token', { owner: 'a' }, { ttl: 10_000 })
 */
export class SqliteStore implements Store {
  readonly name = NAME
  readonly #db: SqliteDatabase
  readonly #ownsDatabase: boolean
  readonly #prefix: string
  readonly #select: Sqlite.Statement<[string, number], Row>
  readonly #deleteAny: Sqlite.Statement<[string], { expires_at: number | null }>
  readonly #deleteVersion: Sqlite.Statement<[string, number, number]>
  readonly #sweep: Sqlite.Statement<[number]>
  readonly #set: (key: string, value: string, expiresAt: number | null) => number
  readonly #add: (key: string, value: string, expiresAt: number | null, now: number) => number | undefined
  readonly #compareAndSet: (
    key: string,
    version: number,
    value: string,
    expiresAt: number | null,
    now: number,
  ) => number | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: SqliteStoreOptions) {
    const { filename, database, prefix = DEFAULT_PREFIX, table = 'wemp_store' } = options ?? {}
    const { busyTimeout = 5000, sweepInterval = 60_000 } = options ?? {}
    if ((filename === undefined) === (database === undefined)) {
      throw new StoreError(
        NAME,
        'store_misconfigured',
        'give either filename (a database file) or database (an open one)',
      )
    }
    if (!TABLE_PATTERN.test(table)) {
      throw new StoreError(
        NAME,
        'store_misconfigured',
        `table must be a plain SQL name (letters, digits, _), got ${table}`,
      )
    }
    for (const [option, value] of Object.entries({ busyTimeout, sweepInterval })) {
      if (!Number.isFinite(value) || value < 0) {
        throw new StoreError(NAME, 'store_misconfigured', `${option} must be 0 or more ms, got ${value}`)
      }
    }
    this.#prefix = prefix
    this.#ownsDatabase = database === undefined
    this.#db = database ?? openDatabase(filename as string, busyTimeout)
    const db = this.#db
    const t = `"${table}"`
    try {
      db.exec(`CREATE TABLE IF NOT EXISTS ${t} (
        key TEXT PRIMARY KEY, value TEXT, version INTEGER NOT NULL, expires_at INTEGER NULL);
        CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON ${t} (expires_at) WHERE expires_at IS NOT NULL;
        INSERT OR IGNORE INTO ${t} (key, value, version, expires_at) VALUES ('', NULL, 0, NULL);`)
      this.#select = db.prepare(
        `SELECT value, version FROM ${t} WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`,
      )
      this.#deleteAny = db.prepare(`DELETE FROM ${t} WHERE key = ? RETURNING expires_at`)
      this.#deleteVersion = db.prepare(
        `DELETE FROM ${t} WHERE key = ? AND version = ? AND (expires_at IS NULL OR expires_at > ?)`,
      )
      this.#sweep = db.prepare(
        `DELETE FROM ${t} WHERE rowid IN
          (SELECT rowid FROM ${t} WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ${SWEEP_BATCH})`,
      )
      const nextVersion = db.prepare<[], number>(
        `UPDATE ${t} SET version = version + 1 WHERE key = '' RETURNING version`,
      )
      nextVersion.pluck()
      const upsert = `INSERT INTO ${t} (key, value, version, expires_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`
      const set = db.prepare<[string, string, number, number | null]>(upsert)
      const add = db.prepare<[string, string, number, number | null, number]>(
        `${upsert} WHERE ${t}.expires_at IS NOT NULL AND ${t}.expires_at <= ?`,
      )
      const update = db.prepare<[string, number, number | null, string, number, number]>(
        `UPDATE ${t} SET value = ?, version = ?, expires_at = ?
          WHERE key = ? AND version = ? AND (expires_at IS NULL OR expires_at > ?)`,
      )
      const next = (): number => nextVersion.get() as number
      const setTx = db.transaction((key: string, value: string, expiresAt: number | null) => {
        const version = next()
        set.run(key, value, version, expiresAt)
        return version
      })
      const addTx = db.transaction((key: string, value: string, expiresAt: number | null, now: number) => {
        const version = next()
        return add.run(key, value, version, expiresAt, now).changes === 1 ? version : undefined
      })
      const casTx = db.transaction(
        (key: string, expected: number, value: string, expiresAt: number | null, now: number) => {
          const version = next()
          return update.run(value, version, expiresAt, key, expected, now).changes === 1 ? version : undefined
        },
      )
      this.#set = (...args) => setTx.immediate(...args)
      this.#add = (...args) => addTx.immediate(...args)
      this.#compareAndSet = (...args) => casTx.immediate(...args)
    } catch (cause) {
      if (this.#ownsDatabase) db.close()
      throw new StoreError(
        NAME,
        'store_misconfigured',
        `cannot set up the table ${table}: ${String(cause)}`,
        { cause },
      )
    }
    if (sweepInterval > 0) {
      this.#timer = setInterval(() => {
        this.sweep().catch(() => {}) // a busy database is swept next time
      }, sweepInterval)
      this.#timer.unref()
    }
  }

  /** The full key, after checking the store is open and the key is valid. */
  #key(key: string): string {
    if (this.#closed) throw new StoreError(NAME, 'store_unavailable', 'the store is closed')
    checkKey(NAME, key)
    return this.#prefix + key
  }

  async get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined> {
    const full = this.#key(key)
    let row: Row | undefined
    try {
      row = this.#select.get(full, Date.now())
    } catch (cause) {
      throw failure(cause)
    }
    return row === undefined ? undefined : { value: JSON.parse(row.value) as T, version: String(row.version) }
  }

  async set(key: string, value: Json, options?: WriteOptions): Promise<string> {
    const full = this.#key(key)
    const text = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    try {
      return String(this.#set(full, text, ttl === undefined ? null : Date.now() + ttl))
    } catch (cause) {
      throw failure(cause)
    }
  }

  async add(key: string, value: Json, options?: WriteOptions): Promise<string | undefined> {
    const full = this.#key(key)
    const text = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const now = Date.now()
    try {
      const version = this.#add(full, text, ttl === undefined ? null : now + ttl, now)
      return version === undefined ? undefined : String(version)
    } catch (cause) {
      throw failure(cause)
    }
  }

  async compareAndSet(
    key: string,
    version: string,
    value: Json,
    options?: WriteOptions,
  ): Promise<string | undefined> {
    const full = this.#key(key)
    const text = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    if (typeof version !== 'string' || !VERSION_PATTERN.test(version)) return undefined
    const now = Date.now()
    try {
      const next = this.#compareAndSet(full, Number(version), text, ttl === undefined ? null : now + ttl, now)
      return next === undefined ? undefined : String(next)
    } catch (cause) {
      throw failure(cause)
    }
  }

  async delete(key: string, options?: { version?: string }): Promise<boolean> {
    const full = this.#key(key)
    const now = Date.now()
    try {
      if (options?.version === undefined) {
        const row = this.#deleteAny.get(full)
        return row !== undefined && (row.expires_at === null || row.expires_at > now)
      }
      if (!VERSION_PATTERN.test(options.version)) return false
      return this.#deleteVersion.run(full, Number(options.version), now).changes === 1
    } catch (cause) {
      throw failure(cause)
    }
  }

  /** Deletes expired rows now, in batches (the timer does this every `sweepInterval`). */
  async sweep(): Promise<void> {
    while (!this.#closed) {
      let deleted: number
      try {
        deleted = this.#sweep.run(Date.now()).changes
      } catch (cause) {
        throw failure(cause)
      }
      if (deleted < SWEEP_BATCH) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#ownsDatabase) {
      try {
        this.#db.close()
      } catch (cause) {
        throw failure(cause)
      }
    }
  }
}

/** Opens the store's own connection: WAL, a busy timeout, and the directory created if missing. */
function openDatabase(filename: string, busyTimeout: number): SqliteDatabase {
  const Database = loadDriver()
  let db: SqliteDatabase | undefined
  try {
    if (filename !== '' && filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true })
    db = new Database(filename, { timeout: busyTimeout })
    db.pragma(`busy_timeout = ${Math.round(busyTimeout)}`)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    return db
  } catch (cause) {
    db?.close()
    throw new StoreError(NAME, 'store_misconfigured', `cannot open ${filename}: ${String(cause)}`, { cause })
  }
}

/**
 * Creates a {@link SqliteStore}.
 *
 * @throws StoreError `store_misconfigured` when better-sqlite3 is not installed or the database
 * cannot be opened
 * @example
 * import { createSqliteStore } from 'wemp/storage/sqlite'
 * const store = createSqliteStore({ filename: '.wemp/store.db', prefix: 'mybot:' })
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options)
}
