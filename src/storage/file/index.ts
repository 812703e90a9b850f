/**
 * The file backend of the {@link Store} contract, for local development: one JSON file per key in
 * one directory, readable with any editor, shared by every process that opens the same directory
 * (`wemp dev` restarts, a second terminal, a script).
 *
 * - Writes are atomic: a temporary file in the same directory is renamed over the key's file.
 * - `set`, `add`, `compareAndSet` and `delete` hold a per-key lock file (created with O_EXCL) for
 *   their read-check-write, so they are atomic across processes. A lock left by a crashed process
 *   is broken once it is `lockStaleMs` old, by one writer at a time; waiting for a lock gives up
 *   after `lockTimeoutMs`.
 * - TTL is stored in the file and checked on read with `Date.now()` (millisecond precision);
 *   expired files are removed by writes of their key and by an unref'd sweep.
 * - Versions are random ids.
 *
 * It refuses to start where its files would silently vanish or not be shared: in a cloud function
 * (Tencent SCF, AWS Lambda, Aliyun FC) or under the temporary directory. Use a shared store there
 * (`wemp/storage/redis`, `postgres`, `mysql` or `s3`).
 *
 * @example
 * import { createFileStore } from 'wemp/storage/file'
 *
 * const store = createFileStore({ dir: '.wemp/store', prefix: 'mybot:' })
 * await store.set('greeting', { text: '你好' })
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs'
import { readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
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

const NAME = 'file'
const SHARED_STORES = 'wemp/storage/redis, wemp/storage/postgres, wemp/storage/mysql or wemp/storage/s3'
/** Environment variables that mean "this is a cloud function", by platform. */
const CLOUD_FUNCTION_ENV: [variable: string, platform: string][] = [
  ['SCF_RUNTIME', 'Tencent Cloud SCF'],
  ['TENCENTCLOUD_RUNENV', 'Tencent Cloud SCF'],
  ['AWS_LAMBDA_FUNCTION_NAME', 'AWS Lambda'],
  ['FC_FUNCTION_NAME', 'Aliyun Function Compute'],
  ['FC_RUNTIME', 'Aliyun Function Compute'],
]
/** Temporary files and lock-breaking guards left by crashed writers are removed by the sweep once this old. */
const LEFTOVER_AGE = 60 * 60_000

/** Options of {@link createFileStore}. */
export interface FileStoreOptions extends StoreOptions {
  /** The directory of the files (created if missing). Shared by every store and process that uses it. */
  dir: string
  /** Allow a temporary directory or a cloud function (tests only: the files vanish). Default false. */
  allowEphemeral?: boolean
  /** A lock file older than this many ms is taken as left by a crashed process and broken. Default 5000. */
  lockStaleMs?: number
  /** How long an operation waits for a key's lock before rejecting with `store_unavailable`, in ms. Default 10 000. */
  lockTimeoutMs?: number
  /** How often expired files are removed, in ms; 0 turns the sweep off. Default 60 000. */
  sweepInterval?: number
}

/** What a key's file holds. */
interface Stored {
  key: string
  version: string
  /** Epoch ms, or null for a permanent key. */
  expiresAt: number | null
  value: Json
}

/** A held lock: its path and the token written in it. */
interface Lock {
  path: string
  token: string
}

function misconfigured(message: string, cause?: unknown): StoreError {
  return new StoreError(NAME, 'store_misconfigured', message, { cause })
}

function unavailable(message: string, cause?: unknown): StoreError {
  return new StoreError(NAME, 'store_unavailable', message, { cause })
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code
}

/**
 * The file name (without extension) of a full key: letters, digits and `_-.@` as they are,
 * uppercase letters as `^` + lowercase (so case-insensitive file systems keep `A` and `a` apart),
 * `:` as `+`, anything else (from a prefix) as `%xx` UTF-8 bytes; long names end in a hash.
 */
function fileNameOf(fullKey: string): string {
  const name = fullKey.replace(/[^a-z0-9_\-.@]/gu, (ch) => {
    if (ch >= 'A' && ch <= 'Z') return `^${ch.toLowerCase()}`
    if (ch === ':') return '+'
    return [...Buffer.from(ch)].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')
  })
  if (name.length <= 120) return name
  return `${name.slice(0, 80)}~${createHash('sha256').update(fullKey).digest('hex').slice(0, 32)}`
}

/** The nearest existing ancestor of `path`, with symbolic links resolved. */
function realAncestor(path: string): string {
  for (let current = path; ; current = dirname(current)) {
    try {
      return realpathSync(current)
    } catch {
      if (dirname(current) === current) return current
    }
  }
}

function isInside(path: string, parent: string): boolean {
  const rel = relative(parent, path)
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))
}

/** Why `dir` is no place for lasting, shared files, or undefined. */
function ephemeralReason(dir: string): string | undefined {
  for (const [variable, platform] of CLOUD_FUNCTION_ENV) {
    if (process.env[variable]) {
      return `this looks like ${platform} (${variable} is set): files written here vanish with the instance and are not shared between instances`
    }
  }
  const real = realAncestor(dir)
  for (const temp of new Set([tmpdir(), '/tmp'])) {
    if (isInside(dir, temp) || isInside(real, realAncestor(temp))) {
      return `${dir} is under the temporary directory ${temp}, which the system may empty at any time`
    }
  }
  return undefined
}

/** Creates the directory and proves it writable. */
function prepareDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true })
    const probe = join(dir, `.wemp-probe-${process.pid}-${randomBytes(4).toString('hex')}`)
    writeFileSync(probe, '')
    unlinkSync(probe)
  } catch (cause) {
    throw misconfigured(
      `the directory ${dir} is not writable (${errorCode(cause) ?? String(cause)}): give dir a writable directory, for example ./.wemp/store`,
      cause,
    )
  }
}

/**
 * A {@link Store} of JSON files in a directory, for local development.
 *
 * @example
 * const store = new FileStore({ dir: '.wemp/store' })
 * const entry = await store.get<{ count: number }>('counter')
 */
export class FileStore implements Store {
  readonly name = NAME
  /** The directory of the files (absolute). */
  readonly dir: string
  readonly #prefix: string
  readonly #lockStaleMs: number
  readonly #lockTimeoutMs: number
  #timer: NodeJS.Timeout | undefined
  #sweeping: Promise<void> | undefined
  #closed = false

  constructor(options: FileStoreOptions) {
    const { dir, prefix = DEFAULT_PREFIX, allowEphemeral = false } = options ?? {}
    const { lockStaleMs = 5000, lockTimeoutMs = 10_000, sweepInterval = 60_000 } = options ?? {}
    if (typeof dir !== 'string' || dir === '')
      throw misconfigured('give dir: the directory to keep the files in')
    for (const [option, value] of Object.entries({ lockStaleMs, lockTimeoutMs, sweepInterval })) {
      if (!Number.isFinite(value) || value < 0)
        throw misconfigured(`${option} must be 0 or more ms, got ${value}`)
    }
    this.dir = resolve(dir)
    if (!allowEphemeral) {
      const reason = ephemeralReason(this.dir)
      if (reason) {
        throw misconfigured(
          `refusing to keep state in files: ${reason}. Use a shared store instead (${SHARED_STORES}); pass allowEphemeral: true only in tests`,
        )
      }
    }
    prepareDirectory(this.dir)
    this.#prefix = prefix
    this.#lockStaleMs = lockStaleMs
    this.#lockTimeoutMs = lockTimeoutMs
    if (sweepInterval > 0) {
      this.#timer = setInterval(() => {
        this.#sweeping ??= this.sweep().finally(() => {
          this.#sweeping = undefined
        })
      }, sweepInterval)
      this.#timer.unref()
    }
  }

  /** The file name (without extension) of a key, after checking the store is open and the key is valid. */
  #base(key: string): string {
    if (this.#closed) throw unavailable('the store is closed')
    checkKey(NAME, key)
    return fileNameOf(this.#prefix + key)
  }

  async get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined> {
    const base = this.#base(key)
    const stored = await this.#read(base, this.#prefix + key)
    return stored && isLive(stored, Date.now())
      ? { value: stored.value as T, version: stored.version }
      : undefined
  }

  async set(key: string, value: Json, options?: WriteOptions): Promise<string> {
    const base = this.#base(key)
    const text = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    return this.#locked(base, () => this.#write(base, this.#prefix + key, text, ttl))
  }

  async add(key: string, value: Json, options?: WriteOptions): Promise<string | undefined> {
    const base = this.#base(key)
    const text = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const full = this.#prefix + key
    return this.#locked(base, async () => {
      const current = await this.#read(base, full)
      if (current && isLive(current, Date.now())) return undefined
      return this.#write(base, full, text, ttl)
    })
  }

  async compareAndSet(
    key: string,
    version: string,
    value: Json,
    options?: WriteOptions,
  ): Promise<string | undefined> {
    const base = this.#base(key)
    const text = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const full = this.#prefix + key
    return this.#locked(base, async () => {
      const current = await this.#read(base, full)
      if (!current || !isLive(current, Date.now()) || current.version !== version) return undefined
      return this.#write(base, full, text, ttl)
    })
  }

  async delete(key: string, options?: { version?: string }): Promise<boolean> {
    const base = this.#base(key)
    const full = this.#prefix + key
    return this.#locked(base, async () => {
      const current = await this.#read(base, full)
      if (!current) return false
      const live = isLive(current, Date.now())
      if (live && options?.version !== undefined && current.version !== options.version) return false
      await this.#unlink(this.#dataPath(base))
      return live
    })
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#sweeping
  }

  /**
   * Removes the expired files of this store's prefix now (the timer does this every
   * `sweepInterval`), and temporary files left by crashed writers.
   */
  async sweep(): Promise<void> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch {
      return
    }
    const now = Date.now()
    for (const name of names) {
      if (this.#closed) return
      const path = join(this.dir, name)
      try {
        if (name.endsWith('.json')) {
          const stored = parseStored(await readFile(path, 'utf8'))
          if (!stored?.key.startsWith(this.#prefix) || isLive(stored, now)) continue
          const base = name.slice(0, -'.json'.length)
          await this.#locked(base, async () => {
            const current = await this.#read(base, stored.key)
            if (current && !isLive(current, Date.now())) await this.#unlink(path)
          })
        } else if (name.endsWith('.tmp') || name.endsWith('.lock.breaking')) {
          const age = now - (await stat(path)).mtimeMs
          if (age > Math.max(LEFTOVER_AGE, this.#lockStaleMs)) await unlink(path)
        }
      } catch {
        // A file that vanished, is busy or unreadable is left for the next sweep.
      }
    }
  }

  #dataPath(base: string): string {
    return join(this.dir, `${base}.json`)
  }

  /** The stored record of a key (expired or not), or undefined. */
  async #read(base: string, fullKey: string): Promise<Stored | undefined> {
    let text: string
    try {
      text = await readFile(this.#dataPath(base), 'utf8')
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined
      throw unavailable(`cannot read ${this.#dataPath(base)} (${errorCode(error) ?? String(error)})`, error)
    }
    const stored = parseStored(text)
    if (stored === undefined) throw unavailable(`${this.#dataPath(base)} is not a file this store wrote`)
    // Only a hash collision of two long keys could make these differ; the file is not this key's.
    return stored.key === fullKey ? stored : undefined
  }

  /** Writes a key's file atomically (temporary file, then rename); returns the new version. */
  async #write(base: string, fullKey: string, text: string, ttl: number | undefined): Promise<string> {
    const version = randomBytes(12).toString('base64url')
    const expiresAt = ttl === undefined ? null : Date.now() + ttl
    const content = `{"key":${JSON.stringify(fullKey)},"version":"${version}","expiresAt":${expiresAt},"value":${text}}\n`
    const temp = join(this.dir, `${base}.${randomBytes(6).toString('hex')}.tmp`)
    try {
      await writeFile(temp, content)
      await renameWithRetry(temp, this.#dataPath(base))
    } catch (error) {
      await unlink(temp).catch(() => {})
      throw unavailable(`cannot write ${this.#dataPath(base)} (${errorCode(error) ?? String(error)})`, error)
    }
    return version
  }

  async #unlink(path: string): Promise<void> {
    try {
      await unlink(path)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT')
        throw unavailable(`cannot delete ${path} (${errorCode(error)})`, error)
    }
  }

  /** Runs `body` holding the lock of a key. */
  async #locked<T>(base: string, body: () => Promise<T>): Promise<T> {
    const lock = await this.#lock(base)
    try {
      return await body()
    } finally {
      await this.#unlock(lock)
    }
  }

  async #lock(base: string): Promise<Lock> {
    const path = join(this.dir, `${base}.lock`)
    const token = `${process.pid}:${randomBytes(8).toString('hex')}`
    const deadline = Date.now() + this.#lockTimeoutMs
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFile(path, token, { flag: 'wx' })
        return { path, token }
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') {
          throw unavailable(`cannot create the lock ${path} (${errorCode(error) ?? String(error)})`, error)
        }
      }
      await this.#breakIfStale(path)
      if (Date.now() >= deadline) {
        throw unavailable(
          `waited ${this.#lockTimeoutMs} ms for the lock ${path}; if no process is using the store, delete that file`,
        )
      }
      // Short waits first (the holder needs a few ms), then back off, with jitter against lockstep.
      await sleep(Math.min(2 ** attempt, 25) * (0.5 + Math.random()))
    }
  }

  async #unlock(lock: Lock): Promise<void> {
    try {
      // A lock broken as stale and taken by another process is no longer ours to remove.
      if ((await readFile(lock.path, 'utf8')) === lock.token) await unlink(lock.path)
    } catch {
      // Already gone (broken as stale): nothing to release.
    }
  }

  /**
   * Breaks a lock older than `lockStaleMs`. Breakers take turns through a guard file (`<lock>.breaking`,
   * created with O_EXCL) and look at the lock again once they hold it: a writer that saw the stale
   * lock, and then lost the race to break it, finds the next holder's fresh lock and leaves it alone.
   * (Acting on the first look broke fresh locks: two writers then held one key, and an update was lost.)
   * A guard left by a breaker that crashed is itself removed once `lockStaleMs` old.
   */
  async #breakIfStale(path: string): Promise<void> {
    if (!(await this.#isStale(path))) return
    const guard = `${path}.breaking`
    try {
      await writeFile(guard, `${process.pid}`, { flag: 'wx' })
    } catch (error) {
      // Another writer is breaking it; or one crashed doing so, and its guard is cleared for the next try.
      if (errorCode(error) === 'EEXIST' && (await this.#isStale(guard))) await unlink(guard).catch(() => {})
      return
    }
    try {
      if (await this.#isStale(path)) await unlink(path)
    } catch {
      // Released meanwhile: nothing to break.
    } finally {
      await unlink(guard).catch(() => {})
    }
  }

  /** Whether a lock (or guard) file exists and is older than `lockStaleMs`. */
  async #isStale(path: string): Promise<boolean> {
    try {
      return Date.now() - (await stat(path)).mtimeMs >= this.#lockStaleMs
    } catch {
      return false
    }
  }
}

function isLive(stored: Stored, now: number): boolean {
  return stored.expiresAt === null || stored.expiresAt > now
}

function parseStored(text: string): Stored | undefined {
  try {
    const stored = JSON.parse(text) as Partial<Stored> | null
    if (
      typeof stored?.key === 'string' &&
      typeof stored.version === 'string' &&
      (stored.expiresAt === null || typeof stored.expiresAt === 'number') &&
      'value' in stored
    ) {
      return stored as Stored
    }
  } catch {
    // not JSON
  }
  return undefined
}

/** Renames, retrying briefly where another process holding the target open makes it fail (Windows). */
async function renameWithRetry(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to)
      return
    } catch (error) {
      const code = errorCode(error)
      if (attempt >= 5 || (code !== 'EPERM' && code !== 'EBUSY' && code !== 'EACCES')) throw error
      await sleep(10 * (attempt + 1))
    }
  }
}

/**
 * Creates a {@link FileStore}.
 *
 * @throws StoreError `store_misconfigured` when `dir` is not writable, is under the temporary
 * directory, or this is a cloud function (unless `allowEphemeral`)
 * @example
 * import { createFileStore } from 'wemp/storage/file'
 * const store = createFileStore({ dir: '.wemp/store', prefix: 'mybot:' })
 */
export function createFileStore(options: FileStoreOptions): FileStore {
  return new FileStore(options)
}
