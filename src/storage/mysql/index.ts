/**
 * The MySQL / MariaDB backend of the {@link Store} contract, on `mysql2` (an optional peer
 * dependency, loaded only when a store is first used). Runs on MySQL 8 and MariaDB 10.11.
 *
 * @example
 * import { createMysqlStore } from 'wemp/storage/mysql'
 *
 * const store = createMysqlStore({ url: process.env.MYSQL_URL })
 * await store.set('greeting', 'hello', { ttl: 60_000 })
 *
 * @module
 */
import type { Pool, PoolConnection, PoolOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise'
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

const NAME = 'mysql'

/** Options of {@link createMysqlStore}: give either `url` or `pool`. */
export interface MysqlStoreOptions extends StoreOptions {
  /**
   * Printable ASCII, at most 55 characters (the key column is `VARCHAR(255)` ASCII and keys are up
   * to 200). Default `wemp:`.
   */
  prefix?: string
  /** A connection URL (`mysql://user:password@host:3306/db`). */
  url?: string
  /**
   * A `mysql2/promise` pool to use instead of opening one. The store does not end it. Its charset
   * must be `utf8mb4` (mysql2's default) for values outside the BMP, such as emoji.
   */
  pool?: Pool
  /** The table, optionally database-qualified (`db.table`). Default `wemp_store`. */
  table?: string
  /** Create the table on first use when it is missing. Default true. */
  createTable?: boolean
  /**
   * How often expired rows are deleted, in ms; 0 turns the sweep off. Default 60 000. The first
   * sweep runs just after first use; the timer never keeps the process alive.
   */
  sweepInterval?: number
  /**
   * How long getting a connection may take, in ms: connecting (own pool), or waiting for a free
   * one (any pool). Default 3000.
   */
  connectTimeout?: number
  /**
   * How long a statement may take, in ms (every statement the store sends, on any pool); a
   * connection that did not answer in time is destroyed. Default 3000.
   */
  timeout?: number
  /** More `mysql2` pool options for the store's own pool; they override the store's defaults. */
  mysql?: PoolOptions
}

/** What a version looks like: a positive BIGINT in decimal. Anything else cannot be current. */
const VERSION_PATTERN = /^[1-9][0-9]{0,18}$/
const MAX_BIGINT = 2n ** 63n - 1n
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,63}$/
const PREFIX_PATTERN = /^[\x21-\x7e]{0,55}$/
/** ER_TABLE_EXISTS_ERROR: a concurrent CREATE TABLE IF NOT EXISTS that lost a race. */
const TABLE_EXISTS = 1050
/** ER_LOCK_DEADLOCK: InnoDB chose this statement as a deadlock victim and rolled it back. */
const DEADLOCK = 1213
const SWEEP_BATCH = 1000

interface Statements {
  create: string
  get: string
  set: [permanent: string, expiring: string]
  add: [permanent: string, expiring: string]
  compareAndSet: [permanent: string, expiring: string]
  delete: string
  deleteVersion: string
  sweep: string
}

/**
 * A {@link Store} on MySQL 8 or MariaDB 10.11: one row per key.
 *
 * ```sql
 * CREATE TABLE wemp_store (
 *   `key`        VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,  -- prefix + key, exact
 *   `value`      LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,     -- the JSON text as written
 *   `version`    BIGINT NOT NULL,                                                 -- random, positive
 *   `expires_at` DATETIME(3) NULL,                                                -- UTC; NULL: permanent
 *   KEY (`expires_at`)
 * )
 * ```
 *
 * **Key** compared byte for byte (`ascii_bin`): a case-insensitive collation would make `a` and
 * `A` one key. **Value as text**, not `JSON`: MySQL's JSON type reorders object keys, and
 * MariaDB's is only an alias of LONGTEXT anyway.
 *
 * **The database clock.** Expiry is computed and checked with the server's `UTC_TIMESTAMP(3)` in
 * the statement that reads or writes, never with the client's clock, so that instances with
 * disagreeing clocks still agree on what has expired; UTC, so that no time-zone setting or
 * daylight-saving change can move it. TTLs are exact to the millisecond of that clock.
 *
 * **Atomicity** comes from single statements on one row (InnoDB row locks). `add` is one
 * `INSERT … ON DUPLICATE KEY UPDATE` whose assignments keep a live row unchanged and take over an
 * expired one. Whether it won cannot be read from the affected-rows count, which depends on the
 * connection's `CLIENT_FOUND_ROWS` flag (on by default in mysql2: a kept row then counts 1, like an
 * insert); so the losing branch also evaluates `LAST_INSERT_ID(version)`, which makes the
 * statement report the existing (never zero) version as its insert id: insert id 0 means this
 * `add` created or took over the row. `compareAndSet` is
 * `UPDATE … WHERE key = ? AND version = ?` and not expired: its new random version always changes
 * the row, so it affects 1 row exactly when it won, with or without that flag.
 *
 * Statements are sent as prepared statements (mysql2's `execute`), so no value is ever spliced
 * into SQL text, whatever the server's `NO_BACKSLASH_ESCAPES` mode.
 *
 * **Versions** are random 63-bit integers, made by the client: never reused after a delete and
 * re-create, as a per-key counter would be.
 *
 * **Expired rows** read as absent at once and are deleted by a sweep (see `sweepInterval`).
 *
 * **Failures** (refused, timed out, server errors) reject with a {@link StoreError}
 * `store_unavailable`: an operation waits at most `connectTimeout` for a connection and `timeout`
 * for its statement, on any pool.
 *
 * @example
 * const store = new MysqlStore({ url: 'mysql://root@127.0.0.1:3306/test', table: 'bot_store' })
 * const entry = await store.get<{ count: number }>('counter')
 * await store.close()
 */
export class MysqlStore implements Store {
  readonly name = NAME
  readonly prefix: string
  /** The table, as written in SQL (quoted). */
  readonly table: string
  readonly #options: MysqlStoreOptions
  readonly #sql: Statements
  readonly #timeout: number
  readonly #connectTimeout: number
  #pool: Promise<Pool> | undefined
  #ready: Promise<Pool> | undefined
  #sweepTimer: ReturnType<typeof setInterval> | undefined
  #closed = false

  constructor(options: MysqlStoreOptions) {
    if ((options.url === undefined) === (options.pool === undefined)) {
      throw new StoreError(NAME, 'store_misconfigured', 'give exactly one of `url` and `pool`')
    }
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    if (!PREFIX_PATTERN.test(this.prefix)) {
      throw new StoreError(
        NAME,
        'store_misconfigured',
        'the prefix must be at most 55 printable ASCII characters',
      )
    }
    const parts = (options.table ?? 'wemp_store').split('.')
    if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) {
      throw new StoreError(NAME, 'store_misconfigured', `invalid table name ${JSON.stringify(options.table)}`)
    }
    this.table = parts.map((part) => `\`${part}\``).join('.')
    this.#options = options
    this.#sql = statements(this.table)
    this.#timeout = options.timeout ?? 3000
    this.#connectTimeout = options.connectTimeout ?? 3000
    if (options.pool !== undefined) this.#pool = Promise.resolve(options.pool)
  }

  async get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined> {
    checkKey(NAME, key)
    const rows = await this.#rows('get', this.#sql.get, [this.prefix + key])
    const row = rows[0]
    if (row === undefined) return undefined
    return { value: JSON.parse(String(row.value)) as T, version: String(row.version) }
  }

  async set(key: string, value: Json, options?: WriteOptions): Promise<string> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const version = newVersion()
    const params = ttl === undefined ? [json, version] : [json, version, ttl * 1000]
    await this.#write('set', this.#sql.set[ttl === undefined ? 0 : 1], [
      this.prefix + key,
      ...params,
      ...params,
    ])
    return version
  }

  async add(key: string, value: Json, options?: WriteOptions): Promise<string | undefined> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const version = newVersion()
    const params = ttl === undefined ? [json, version] : [json, version, ttl * 1000]
    const result = await this.#write('add', this.#sql.add[ttl === undefined ? 0 : 1], [
      this.prefix + key,
      ...params,
      ...params,
    ])
    // Insert id 0: inserted or took over an expired row; otherwise the live row's version (see above).
    return result.affectedRows > 0 && Number(result.insertId) === 0 ? version : undefined
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
    if (!isVersion(version)) return undefined
    const next = newVersion()
    const params = ttl === undefined ? [json, next] : [json, next, ttl * 1000]
    const result = await this.#write('compareAndSet', this.#sql.compareAndSet[ttl === undefined ? 0 : 1], [
      ...params,
      this.prefix + key,
      version,
    ])
    return result.affectedRows === 1 ? next : undefined
  }

  async delete(key: string, options?: { version?: string }): Promise<boolean> {
    checkKey(NAME, key)
    const version = options?.version
    if (version === undefined) {
      return (await this.#write('delete', this.#sql.delete, [this.prefix + key])).affectedRows > 0
    }
    if (!isVersion(version)) return false
    return (
      (await this.#write('delete', this.#sql.deleteVersion, [this.prefix + key, version])).affectedRows > 0
    )
  }

  /**
   * Deletes every expired row of the table now (whatever its prefix: expired is expired for
   * everyone), in batches of 1000. The store also does this on its own; see `sweepInterval`.
   * @returns how many rows were deleted
   */
  async sweep(): Promise<number> {
    let total = 0
    for (let batch = 0; batch < 100; batch++) {
      // READ COMMITTED for this one statement: no gap locks on the expiry index to hold up
      // writers of live keys meanwhile.
      const [{ affectedRows }] = await this.#run('sweep', async (connection) => {
        await connection.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED')
        return connection.query<ResultSetHeader>(this.#sql.sweep)
      })
      total += affectedRows
      if (affectedRows < SWEEP_BATCH) break
    }
    return total
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

  async #rows(operation: string, sql: string, values: (string | number)[]): Promise<RowDataPacket[]> {
    const [rows] = await this.#run(operation, (connection) =>
      connection.execute<RowDataPacket[]>(sql, values),
    )
    return rows
  }

  async #write(operation: string, sql: string, values: (string | number)[]): Promise<ResultSetHeader> {
    const [result] = await this.#run(operation, (connection) =>
      connection.execute<ResultSetHeader>(sql, values),
    )
    return result
  }

  /**
   * Runs `work` on a pooled connection, within `connectTimeout` to get the connection and
   * `timeout` for the work. mysql2's own query timeout does not cover preparing a statement, and
   * leaves the connection busy with the unanswered command, so a timed-out connection is destroyed
   * here instead of going back to the pool. A deadlock victim (InnoDB rolled its single
   * statement back, so nothing happened) is tried again.
   */
  async #run<T>(operation: string, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
    const pool = await this.#open()
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#withConnection(pool, work)
      } catch (cause) {
        if (attempt < 3 && errno(cause) === DEADLOCK) continue
        throw unavailable(operation, cause)
      }
    }
  }

  async #withConnection<T>(pool: Pool, work: (connection: PoolConnection) => Promise<T>): Promise<T> {
    const acquiring = pool.getConnection()
    const connection = await deadline(acquiring, this.#connectTimeout, 'no connection', () => {
      acquiring.then(
        (late) => late.release(),
        () => {},
      )
    })
    let broken = false
    try {
      return await deadline(work(connection), this.#timeout, 'no answer', () => {
        broken = true
      })
    } catch (error) {
      if ((error as { fatal?: unknown } | null)?.fatal === true) broken = true
      throw error
    } finally {
      if (broken) connection.destroy()
      else connection.release()
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
          await this.#withConnection(pool, (connection) => connection.query(this.#sql.create))
          break
        } catch (cause) {
          if (attempt < 3 && errno(cause) === TABLE_EXISTS) continue
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
    let createPool: typeof import('mysql2/promise')['createPool']
    try {
      createPool = (await import('mysql2/promise')).createPool
    } catch (cause) {
      throw new StoreError(
        NAME,
        'store_misconfigured',
        'install mysql2 to use the MySQL store: npm install mysql2',
        {
          cause,
        },
      )
    }
    return createPool({
      uri: this.#options.url,
      connectionLimit: 4,
      maxIdle: 4,
      idleTimeout: 10_000,
      connectTimeout: this.#connectTimeout,
      enableKeepAlive: true,
      charset: 'utf8mb4',
      ...this.#options.mysql,
    })
  }
}

/**
 * Creates a {@link MysqlStore}. Nothing is loaded or connected until the first operation, which
 * also creates the table when it is missing.
 *
 * @example
 * import { createMysqlStore } from 'wemp/storage/mysql'
 *
 * const store = createMysqlStore({ url: 'mysql://root@127.0.0.1:3306/test', prefix: 'bot1:' })
 * const created = await store.add('lock:menu', { owner: 'a' }, { ttl: 10_000 })
 */
export function createMysqlStore(options: MysqlStoreOptions): MysqlStore {
  return new MysqlStore(options)
}

function statements(table: string): Statements {
  const now = 'UTC_TIMESTAMP(3)'
  const live = `(\`expires_at\` IS NULL OR \`expires_at\` > ${now})`
  const expired = `(\`expires_at\` IS NOT NULL AND \`expires_at\` <= ${now})`
  // Versions go through CAST so that they compare as integers, never as doubles.
  const version = 'CAST(? AS SIGNED)'
  const expiry = (ttl: boolean) => (ttl ? `${now} + INTERVAL CAST(? AS SIGNED) MICROSECOND` : 'NULL')
  const insert = (ttl: boolean) =>
    `INSERT INTO ${table} (\`key\`, \`value\`, \`version\`, \`expires_at\`) VALUES (?, ?, ${version}, ${expiry(ttl)})`
  const set = (ttl: boolean) =>
    `${insert(ttl)} ON DUPLICATE KEY UPDATE \`value\` = ?, \`version\` = ${version}, \`expires_at\` = ${expiry(ttl)}`
  // Assignments run left to right and see the columns already assigned, so `expires_at` goes
  // last: the two before it test the row's old expiry.
  const add = (ttl: boolean) =>
    `${insert(ttl)} ON DUPLICATE KEY UPDATE
      \`value\` = IF(${expired}, ?, \`value\`),
      \`version\` = IF(${expired}, ${version}, LAST_INSERT_ID(\`version\`)),
      \`expires_at\` = IF(${expired}, ${expiry(ttl)}, \`expires_at\`)`
  const compareAndSet = (ttl: boolean) =>
    `UPDATE ${table} SET \`value\` = ?, \`version\` = ${version}, \`expires_at\` = ${expiry(ttl)}
      WHERE \`key\` = ? AND \`version\` = ${version} AND ${live}`
  return {
    create: `CREATE TABLE IF NOT EXISTS ${table} (
        \`key\` VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        \`value\` LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
        \`version\` BIGINT NOT NULL,
        \`expires_at\` DATETIME(3) NULL,
        KEY \`expires_at\` (\`expires_at\`)
      ) ENGINE=InnoDB`,
    get: `SELECT \`value\`, CAST(\`version\` AS CHAR) AS \`version\` FROM ${table} WHERE \`key\` = ? AND ${live}`,
    set: [set(false), set(true)],
    add: [add(false), add(true)],
    compareAndSet: [compareAndSet(false), compareAndSet(true)],
    delete: `DELETE FROM ${table} WHERE \`key\` = ? AND ${live}`,
    deleteVersion: `DELETE FROM ${table} WHERE \`key\` = ? AND \`version\` = ${version} AND ${live}`,
    sweep: `DELETE FROM ${table} WHERE \`expires_at\` <= ${now} LIMIT ${SWEEP_BATCH}`,
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

function errno(error: unknown): unknown {
  return (error as { errno?: unknown } | null)?.errno
}

/** Settles like `promise`, or rejects after `ms` (then calls `onTimeout`). */
async function deadline<T>(promise: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout()
      reject(new Error(`${what} within ${ms} ms`))
    }, ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}

function unavailable(operation: string, cause: unknown): StoreError {
  const reason = cause instanceof Error ? cause.message || String(cause) : String(cause)
  const code = (cause as { code?: unknown } | null)?.code
  return new StoreError(
    NAME,
    'store_unavailable',
    `${operation} failed: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`,
    { cause },
  )
}
