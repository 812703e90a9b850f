import { MemoryStore } from './memory/index.js'
import { type Store, StoreError, type StoreOptions } from './store.js'

/** What every store takes, and what only some URLs use. */
export interface OpenStoreOptions extends StoreOptions {
  /**
   * `file:` only: allow a temporary directory (tests only; the file store refuses one by
   * default, since the system may empty it). Default false.
   */
  allowEphemeral?: boolean
}

/**
 * Opens the store a URL names, loading only that backend's module and driver: what a bot's
 * configuration (an environment variable such as `WECHAT_STORE`) needs.
 *
 * | URL | store |
 * |---|---|
 * | `memory` (or empty) | the in-memory store |
 * | `redis://[:password@]host:6379/0`, `rediss://…` | Redis (`ioredis`) |
 * | `postgres://user:pass@host:5432/db` | PostgreSQL (`pg`) |
 * | `mysql://user:pass@host:3306/db` | MySQL / MariaDB (`mysql2`) |
 * | `sqlite:<file>` | SQLite (`better-sqlite3`) |
 * | `file:<directory>` | the file store |
 *
 * S3-compatible object storage needs a bucket, an endpoint and credentials: create it with
 * `createS3Store` from `wemp/storage/s3`.
 *
 * @example
 * const bot = createBot({ token, store: await openStore(process.env.WECHAT_STORE) })
 */
export async function openStore(url: string | undefined, options: OpenStoreOptions = {}): Promise<Store> {
  const { allowEphemeral, ...common } = options
  const value = url?.trim() ?? ''
  if (value === '' || value === 'memory') return new MemoryStore(common)
  if (/^rediss?:\/\//.test(value)) {
    return (await import('./redis/index.js')).createRedisStore({ ...common, url: value })
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    return (await import('./postgres/index.js')).createPostgresStore({ ...common, url: value })
  }
  if (/^mysql:\/\//.test(value)) {
    return (await import('./mysql/index.js')).createMysqlStore({ ...common, url: value })
  }
  if (value.startsWith('sqlite:') && value.length > 7) {
    return (await import('./sqlite/index.js')).createSqliteStore({ ...common, filename: value.slice(7) })
  }
  if (value.startsWith('file:') && value.length > 5) {
    return (await import('./file/index.js')).createFileStore({
      ...common,
      dir: value.slice(5),
      allowEphemeral,
    })
  }
  throw new StoreError(
    'open',
    'store_misconfigured',
    `cannot open ${JSON.stringify(redact(value))}: use memory, redis://…, postgres://…, mysql://…, sqlite:<file> or file:<directory>`,
  )
}

/** The URL without its password, for the error message. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}
