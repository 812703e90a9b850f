/**
 * The S3-compatible object storage backend of the {@link Store} contract: Tencent COS, AWS S3,
 * Aliyun OSS, Cloudflare R2 and MinIO, signed with AWS Signature V4 by aws4fetch (an optional peer
 * dependency, loaded only when a store is first used).
 *
 * What each provider can make atomic differs: see {@link S3Store} and `src/storage/s3/README.md`.
 *
 * @example
 * import { createS3Store } from 'wemp/storage/s3'
 *
 * const store = createS3Store({
 *   endpoint: 'https://s3.eu-west-1.amazonaws.com',
 *   bucket: 'my-bot-state',
 *   accessKeyId: process.env.AWS_ACCESS_KEY_ID!,
 *   secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
 * })
 * await store.add('lock:token', { owner: 'a' }, { ttl: 10_000 })
 *
 * @module
 */
import type { AwsClient } from 'aws4fetch'
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

const NAME = 's3'

/** The S3-compatible services the store knows how to use atomically (or knows it cannot). */
export type S3Provider = 'cos' | 's3' | 'oss' | 'r2' | 'minio'

/** Options of {@link createS3Store}. */
export interface S3StoreOptions extends StoreOptions {
  /**
   * The service endpoint, without the bucket: `https://cos.ap-guangzhou.myqcloud.com`,
   * `https://s3.eu-west-1.amazonaws.com`, `https://s3.oss-cn-hangzhou.aliyuncs.com`,
   * `https://<account>.r2.cloudflarestorage.com`, `http://127.0.0.1:9000` (MinIO). An endpoint that
   * already starts with `<bucket>.` is used as it is.
   */
  endpoint: string
  /** The bucket (for COS with its APPID: `wemp-1250000000`). */
  bucket: string
  /** The signing region. Default: read from the endpoint (COS, S3, OSS), `auto` (R2), `us-east-1` (MinIO). */
  region?: string
  accessKeyId: string
  secretAccessKey: string
  /** For temporary credentials (STS, a cloud function's role). */
  sessionToken?: string
  /** Which provider's conditional writes to use. Default: detected from the endpoint; anything unknown is `minio`. */
  provider?: S3Provider
  /**
   * Use `<endpoint>/<bucket>/<object>` URLs. Default: path-style for R2, MinIO and dotted AWS bucket
   * names over HTTPS; virtual-hosted `<bucket>.<endpoint host>` otherwise (COS and OSS require it).
   */
  forcePathStyle?: boolean
  /** How long one HTTP request may take, in ms, including reading its answer. Default 3000. */
  timeout?: number
  /**
   * COS and OSS only: accept that `compareAndSet`, `add` over an expired key and a versioned
   * `delete` are read-then-write there (last writer wins), because neither has a conditional
   * overwrite. Without it, creating a COS or OSS store fails with `store_misconfigured`.
   */
  unsafeLastWriterWins?: boolean
  /** The `fetch` to send signed requests with (a proxy, tracing, tests). Default: the global `fetch`. */
  fetch?: (request: Request) => Promise<Response>
}

/**
 * An error answer of the S3 service: the `cause` of a {@link StoreError} `store_unavailable`, with
 * the HTTP status and the error code and message of its XML body.
 *
 * @example
 * try { await store.get('k') } catch (e) {
 *   if (e instanceof StoreError && e.cause instanceof S3ResponseError && e.cause.code === 'AccessDenied') …
 * }
 */
export class S3ResponseError extends Error {
  /** The HTTP status. */
  readonly status: number
  /** The S3 error code (`SignatureDoesNotMatch`, `NoSuchBucket`, `SlowDown`, …), when the body had one. */
  readonly code: string | undefined
  /** The service's request id, for support tickets. */
  readonly requestId: string | undefined

  constructor(status: number, code: string | undefined, message: string, requestId: string | undefined) {
    super(message)
    this.name = 'S3ResponseError'
    this.status = status
    this.code = code
    this.requestId = requestId
  }
}

/** How a provider makes writes conditional. */
interface Capabilities {
  /** The header and value of create-if-absent, and the status a taken key answers with. */
  create: { header: string; value: string; conflict: 409 | 412 }
  /** `If-Match` on PUT (compare-and-set on the ETag). */
  putIfMatch: boolean
  /** `If-Match` on DELETE. */
  deleteIfMatch: boolean
  /** The URL style the provider expects. */
  pathStyle: boolean
}

const IF_NONE_MATCH = { header: 'if-none-match', value: '*', conflict: 412 } as const

const CAPABILITIES: Record<S3Provider, Capabilities> = {
  s3: { create: IF_NONE_MATCH, putIfMatch: true, deleteIfMatch: true, pathStyle: false },
  r2: { create: IF_NONE_MATCH, putIfMatch: true, deleteIfMatch: false, pathStyle: true },
  minio: { create: IF_NONE_MATCH, putIfMatch: true, deleteIfMatch: false, pathStyle: true },
  cos: {
    create: { header: 'x-cos-forbid-overwrite', value: 'true', conflict: 409 },
    putIfMatch: false,
    deleteIfMatch: false,
    pathStyle: false,
  },
  oss: {
    create: { header: 'x-oss-forbid-overwrite', value: 'true', conflict: 409 },
    putIfMatch: false,
    deleteIfMatch: false,
    pathStyle: false,
  },
}

const PROVIDERS = Object.keys(CAPABILITIES) as S3Provider[]

/**
 * The provider and region an endpoint names, as {@link createS3Store} reads them.
 *
 * @example
 * detectS3Provider('https://cos.ap-guangzhou.myqcloud.com')  // { provider: 'cos', region: 'ap-guangzhou' }
 * detectS3Provider('https://abc.r2.cloudflarestorage.com')   // { provider: 'r2', region: 'auto' }
 * detectS3Provider('http://127.0.0.1:9000')                  // { provider: 'minio', region: undefined }
 */
export function detectS3Provider(endpoint: string): { provider: S3Provider; region: string | undefined } {
  let host: string
  try {
    host = new URL(endpoint).hostname.toLowerCase()
  } catch {
    return { provider: 'minio', region: undefined }
  }
  const cos = /(?:^|\.)cos\.([a-z0-9-]+)\.(?:myqcloud\.com|tencentcos\.cn)$/.exec(host)
  if (cos) return { provider: 'cos', region: cos[1] === 'accelerate' ? undefined : cos[1] }
  const oss = /(?:^|\.)oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$/.exec(host)
  if (oss) return { provider: 'oss', region: oss[1] === 'accelerate' ? undefined : oss[1] }
  if (host.endsWith('.r2.cloudflarestorage.com')) return { provider: 'r2', region: 'auto' }
  if (/(?:^|\.)amazonaws\.com(?:\.cn)?$/.test(host)) {
    const s3 = /(?:^|\.)s3[.-](?:dualstack\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\./.exec(host)
    return { provider: 's3', region: s3?.[1] ?? (host.endsWith('.cn') ? undefined : 'us-east-1') }
  }
  return { provider: 'minio', region: undefined }
}

/** The stored envelope: `{"e":expiresAtMs|null,"n":nonce,"v":value}`. */
interface Envelope {
  e: number | null
  v: Json
}

/** What an object currently holds, expired or not. */
interface Current {
  etag: string
  expiresAt: number | null
  value: Json
}

interface Reply {
  status: number
  etag: string | null
  body: string
}

/** An ETag as the store accepts it (quotes removed): no quotes, spaces or `@`. */
const ETAG_PATTERN = /^[0-9A-Za-z_+/=.:-]{1,200}$/
/** A version: `<etag>` for a permanent key, `<etag>@<expiresAtMs>` for one with a TTL. */
const VERSION_PATTERN = /^([0-9A-Za-z_+/=.:-]{1,200})(?:@(\d{1,16}))?$/
/** Prefixes use the key characters (store.ts), at most 55. */
const PREFIX_PATTERN = /^[A-Za-z0-9:_\-.@]{0,55}$/
const BUCKET_PATTERN = /^[A-Za-z0-9._-]{1,255}$/
/** SHA-256 of the empty body, signed on GET and DELETE. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
/** How often one operation re-reads a key that changed under it before it gives up. */
const MAX_ATTEMPTS = 5

let awsClientClass: Promise<typeof AwsClient> | undefined

/** Imports aws4fetch once per process, on first use, so importing this module stays cheap. */
function loadAwsClient(): Promise<typeof AwsClient> {
  awsClientClass ??= import('aws4fetch').then(
    (module) => module.AwsClient,
    (cause: unknown) => {
      awsClientClass = undefined
      throw new StoreError(
        NAME,
        'store_misconfigured',
        'install aws4fetch to use the S3 store: npm install aws4fetch',
        {
          cause,
        },
      )
    },
  )
  return awsClientClass
}

/**
 * A {@link Store} on S3-compatible object storage.
 *
 * **Layout.** One object per key, `<prefix><key>.json`, holding `{"e":expiresAtMs|null,"n":nonce,"v":value}`.
 * The version is the object's ETag (with the expiry appended, so that `compareAndSet` knows an
 * expired version without reading the object first: one request). The nonce (64 random bits) makes
 * every write's body, and so its ETag, new: without it, writing the same value twice would give the
 * same MD5 ETag, and a stale compare-and-set could succeed on a key that was rewritten (ABA).
 *
 * **Atomicity**, per provider (the README has the full table):
 *
 * | provider | `add` | `compareAndSet` | versioned `delete` |
 * |---|---|---|---|
 * | AWS S3 | `If-None-Match: *`; an expired key is replaced with `If-Match: <etag>` | `PUT` with `If-Match` | `DELETE` with `If-Match` |
 * | R2, MinIO | as S3 | as S3 | `PUT` of an expired tombstone with `If-Match` (no conditional `DELETE`) |
 * | COS, OSS | `x-cos-forbid-overwrite` / `x-oss-forbid-overwrite` (atomic on an absent key only) | read, compare, write: **not atomic** | read, compare, delete: **not atomic** |
 *
 * COS and OSS have no conditional overwrite, so a COS or OSS store refuses to be created unless
 * `unsafeLastWriterWins: true` says that last-writer-wins is acceptable for those operations.
 *
 * **TTL** is the writer's clock (`Date.now() + ttl`), checked on every read: an expired object reads
 * as absent and `add` replaces it. Expired objects stay in the bucket until a lifecycle rule deletes
 * them (see the README for the rule).
 *
 * **Failures.** Every request has a timeout (`timeout`, default 3000 ms, via `AbortSignal.timeout`)
 * and is never retried blindly; an unreachable service, a timeout, a 403 (a wrong key or secret:
 * `SignatureDoesNotMatch`, `InvalidAccessKeyId`, `AccessDenied`), a missing bucket or a 5xx
 * rejects with {@link StoreError} `store_unavailable`, whose message has the S3 error code and
 * message and whose `cause` is an {@link S3ResponseError}.
 *
 * @example
 * const store = new S3Store({
 *   endpoint: 'https://abc123.r2.cloudflarestorage.com',
 *   bucket: 'bot',
 *   accessKeyId,
 *   secretAccessKey,
 * })
 * const version = await store.set('greeting', 'hello', { ttl: 60_000 })
 * await store.compareAndSet('greeting', version, 'hello again')
 */
export class S3Store implements Store {
  readonly name = NAME
  readonly prefix: string
  /** The provider whose conditional writes are used. */
  readonly provider: S3Provider
  /** The region requests are signed for. */
  readonly region: string
  readonly bucket: string
  readonly #capabilities: Capabilities
  /** The URL objects are under: `https://<bucket>.<host>/` or `http://<host>/<bucket>/`. */
  readonly #base: string
  readonly #timeout: number
  readonly #options: S3StoreOptions
  readonly #fetch: (request: Request) => Promise<Response>
  #client: Promise<AwsClient> | undefined
  #closed = false

  constructor(options: S3StoreOptions) {
    const endpoint = URL.canParse(options.endpoint) ? new URL(options.endpoint) : undefined
    if (endpoint?.protocol !== 'https:' && endpoint?.protocol !== 'http:') {
      misconfigured(`endpoint must be an http(s) URL, got ${JSON.stringify(options.endpoint)}`)
    }
    if (typeof options.bucket !== 'string' || !BUCKET_PATTERN.test(options.bucket)) {
      misconfigured(`invalid bucket ${JSON.stringify(options.bucket)}`)
    }
    if (!options.accessKeyId || !options.secretAccessKey)
      misconfigured('accessKeyId and secretAccessKey are required')
    this.prefix = options.prefix ?? DEFAULT_PREFIX
    if (typeof this.prefix !== 'string' || !PREFIX_PATTERN.test(this.prefix)) {
      misconfigured(`invalid prefix ${JSON.stringify(this.prefix)}: use at most 55 of A-Z a-z 0-9 : _ - . @`)
    }
    const detected = detectS3Provider(options.endpoint)
    const provider = options.provider ?? detected.provider
    if (!PROVIDERS.includes(provider))
      misconfigured(`unknown provider ${JSON.stringify(provider)}: use ${PROVIDERS.join(', ')}`)
    const region =
      options.region ??
      (options.provider === undefined || options.provider === detected.provider
        ? detected.region
        : undefined) ??
      (provider === 'r2' ? 'auto' : provider === 'minio' || provider === 's3' ? 'us-east-1' : undefined)
    if (region === undefined)
      misconfigured(`give the region: it cannot be read from the endpoint ${endpoint.host}`)
    this.#capabilities = CAPABILITIES[provider]
    if (!this.#capabilities.putIfMatch && options.unsafeLastWriterWins !== true) {
      misconfigured(
        `${provider} has no conditional overwrite (If-Match on PUT), so compareAndSet, add over an expired key ` +
          'and a versioned delete cannot be atomic there: pass unsafeLastWriterWins: true to accept ' +
          'last-writer-wins for them (see wemp/storage/s3 README), or use another store',
      )
    }
    const timeout = options.timeout ?? 3000
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
      misconfigured(`timeout must be a positive number of ms, got ${String(timeout)}`)
    }
    this.provider = provider
    this.region = region as string
    this.bucket = options.bucket
    this.#timeout = timeout
    this.#options = options
    this.#fetch = options.fetch ?? ((request) => fetch(request))
    const path = endpoint.pathname.replace(/\/+$/, '')
    // A dotted bucket name breaks the TLS wildcard certificate of virtual-hosted AWS URLs.
    const dotted = provider === 's3' && endpoint.protocol === 'https:' && options.bucket.includes('.')
    const pathStyle = options.forcePathStyle ?? (this.#capabilities.pathStyle || dotted)
    const bucketInHost = endpoint.hostname.toLowerCase().startsWith(`${options.bucket.toLowerCase()}.`)
    this.#base =
      pathStyle && !bucketInHost
        ? `${endpoint.origin}${path}/${encodeURIComponent(options.bucket)}/`
        : bucketInHost
          ? `${endpoint.origin}${path}/`
          : `${endpoint.protocol}//${options.bucket}.${endpoint.host}${path}/`
  }

  async get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined> {
    checkKey(NAME, key)
    this.#checkOpen()
    const current = await this.#read('get', key)
    if (current === undefined || isExpired(current.expiresAt)) return undefined
    return { value: current.value as T, version: toVersion(current.etag, current.expiresAt) }
  }

  async set(key: string, value: Json, options?: WriteOptions): Promise<string> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    this.#checkOpen()
    const expiresAt = expiryOf(ttl)
    const reply = await this.#put('set', key, envelope(json, expiresAt), {})
    if (reply.status !== 200) throw this.#failure('set', reply)
    return toVersion(this.#etagOf('set', reply), expiresAt)
  }

  async add(key: string, value: Json, options?: WriteOptions): Promise<string | undefined> {
    checkKey(NAME, key)
    const json = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    this.#checkOpen()
    const create = this.#capabilities.create
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const expiresAt = expiryOf(ttl)
      const body = envelope(json, expiresAt)
      const created = await this.#put('add', key, body, { [create.header]: create.value })
      if (created.status === 200) return toVersion(this.#etagOf('add', created), expiresAt)
      if (created.status !== create.conflict && !isConflict(created)) throw this.#failure('add', created)
      if (isConflict(created) && create.conflict !== 409) {
        await backoff() // a concurrent conditional write (AWS): try again
        continue
      }
      // The key exists: it is live (add fails), or expired and replaced only if it is still that object.
      const current = await this.#read('add', key)
      if (current === undefined) continue
      if (!isExpired(current.expiresAt)) return undefined
      // COS / OSS (unsafeLastWriterWins): no If-Match, so two adds over one expired key may both succeed.
      const replaced = await this.#put(
        'add',
        key,
        body,
        this.#capabilities.putIfMatch ? this.#ifMatch(current.etag) : {},
      )
      if (replaced.status === 200) return toVersion(this.#etagOf('add', replaced), expiresAt)
      if (isConflict(replaced)) await backoff()
      else if (!isPreconditionMiss(replaced)) throw this.#failure('add', replaced)
    }
    // The key changed under every attempt: someone else keeps writing it, so it is not free.
    return undefined
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
    this.#checkOpen()
    const expected = parseVersion(version)
    if (expected === undefined || isExpired(expected.expiresAt)) return undefined
    const expiresAt = expiryOf(ttl)
    const body = envelope(json, expiresAt)
    if (!this.#capabilities.putIfMatch) {
      // COS / OSS with unsafeLastWriterWins: a write between this read and the PUT is overwritten.
      const current = await this.#read('compareAndSet', key)
      if (current === undefined || current.etag !== expected.etag || isExpired(current.expiresAt))
        return undefined
      const written = await this.#put('compareAndSet', key, body, {})
      if (written.status !== 200) throw this.#failure('compareAndSet', written)
      return toVersion(this.#etagOf('compareAndSet', written), expiresAt)
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const written = await this.#put('compareAndSet', key, body, this.#ifMatch(expected.etag))
      if (written.status === 200) return toVersion(this.#etagOf('compareAndSet', written), expiresAt)
      if (isConflict(written)) {
        await backoff()
        continue
      }
      if (isPreconditionMiss(written)) return undefined
      throw this.#failure('compareAndSet', written)
    }
    return undefined
  }

  async delete(key: string, options?: { version?: string }): Promise<boolean> {
    checkKey(NAME, key)
    this.#checkOpen()
    const version = options?.version
    if (version !== undefined) return this.#deleteVersion(key, version)
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.#read('delete', key)
      if (current === undefined) return false
      if (!this.#capabilities.deleteIfMatch) {
        if (isExpired(current.expiresAt)) return false
        await this.#remove(key, undefined)
        return true
      }
      // With a conditional DELETE the answer is exact: true only for the delete that removed a live object.
      const removed = await this.#remove(key, current.etag)
      if (removed) return !isExpired(current.expiresAt)
    }
    await this.#remove(key, undefined)
    return true
  }

  /** Nothing to release (requests are independent); the store rejects every operation afterwards. */
  async close(): Promise<void> {
    this.#closed = true
  }

  async #deleteVersion(key: string, version: string): Promise<boolean> {
    const expected = typeof version === 'string' ? parseVersion(version) : undefined
    if (expected === undefined || isExpired(expected.expiresAt)) return false
    if (this.#capabilities.deleteIfMatch) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const reply = await this.#send('delete', 'DELETE', key, undefined, this.#ifMatch(expected.etag))
        if (reply.status === 204 || reply.status === 200) return true
        if (isConflict(reply)) {
          await backoff()
          continue
        }
        if (isPreconditionMiss(reply)) return false
        throw this.#failure('delete', reply)
      }
      return false
    }
    if (this.#capabilities.putIfMatch) {
      // No conditional DELETE (R2, MinIO): replace the object, only if it is still that version, by
      // an already expired tombstone. Reads see it as absent, add replaces it, a lifecycle rule reclaims it.
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const reply = await this.#put('delete', key, envelope('null', 0), this.#ifMatch(expected.etag))
        if (reply.status === 200) return true
        if (isConflict(reply)) {
          await backoff()
          continue
        }
        if (isPreconditionMiss(reply)) return false
        throw this.#failure('delete', reply)
      }
      return false
    }
    // COS / OSS with unsafeLastWriterWins: a write between this read and the DELETE is deleted too.
    const current = await this.#read('delete', key)
    if (current === undefined || current.etag !== expected.etag || isExpired(current.expiresAt)) return false
    await this.#remove(key, undefined)
    return true
  }

  /** DELETE, with `If-Match` when `etag` is given. @returns false when the precondition failed */
  async #remove(key: string, etag: string | undefined): Promise<boolean> {
    const reply = await this.#send(
      'delete',
      'DELETE',
      key,
      undefined,
      etag === undefined ? {} : this.#ifMatch(etag),
    )
    if (reply.status === 204 || reply.status === 200) return true
    if (etag !== undefined && (isPreconditionMiss(reply) || isConflict(reply))) return false
    if (reply.status === 404) return true
    throw this.#failure('delete', reply)
  }

  /** The object of `key` as stored, expired or not; undefined when there is none. */
  async #read(operation: string, key: string): Promise<Current | undefined> {
    const reply = await this.#send(operation, 'GET', key, undefined, {})
    if (reply.status === 404 && errorCode(reply.body) !== 'NoSuchBucket') return undefined
    if (reply.status !== 200) throw this.#failure(operation, reply)
    const stored = parseEnvelope(reply.body)
    if (stored === undefined) {
      throw new StoreError(
        NAME,
        'store_unavailable',
        `key ${JSON.stringify(key)} holds a value wemp did not write`,
      )
    }
    return { etag: this.#etagOf(operation, reply), expiresAt: stored.e, value: stored.v }
  }

  async #put(operation: string, key: string, body: string, headers: Record<string, string>): Promise<Reply> {
    return this.#send(operation, 'PUT', key, body, headers)
  }

  async #send(
    operation: string,
    method: 'GET' | 'PUT' | 'DELETE',
    key: string,
    body: string | undefined,
    extra: Record<string, string>,
  ): Promise<Reply> {
    const client = await this.#open()
    const url = this.#base + encodeURIComponent(`${this.prefix}${key}.json`)
    const headers: Record<string, string> = {
      ...extra,
      'x-amz-content-sha256': body === undefined ? EMPTY_SHA256 : await sha256Hex(body),
    }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const started = Date.now()
    try {
      const request = await client.sign(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.#timeout),
      })
      const response = await this.#fetch(request)
      return { status: response.status, etag: response.headers.get('etag'), body: await response.text() }
    } catch (cause) {
      const errorName =
        typeof cause === 'object' && cause !== null ? (cause as { name?: unknown }).name : undefined
      const timedOut = errorName === 'TimeoutError' || errorName === 'AbortError'
      const reason = timedOut
        ? `timed out after ${Date.now() - started} ms (timeout ${this.#timeout} ms)`
        : `cannot reach ${new URL(url).host}: ${describe(cause)}`
      throw new StoreError(NAME, 'store_unavailable', `${operation} failed: ${reason}`, { cause })
    }
  }

  #ifMatch(etag: string): Record<string, string> {
    return { 'if-match': `"${etag}"` }
  }

  #etagOf(operation: string, reply: Reply): string {
    const etag = reply.etag?.replace(/^"(.*)"$/, '$1')
    if (etag === undefined || !ETAG_PATTERN.test(etag)) {
      throw new StoreError(
        NAME,
        'store_unavailable',
        `${operation} failed: the service answered without a usable ETag (${JSON.stringify(reply.etag)})`,
      )
    }
    return etag
  }

  #failure(operation: string, reply: Reply): StoreError {
    const code = errorCode(reply.body)
    const message = xmlField(reply.body, 'Message') ?? (reply.body.slice(0, 200) || 'no message')
    const cause = new S3ResponseError(reply.status, code, message, xmlField(reply.body, 'RequestId'))
    return new StoreError(
      NAME,
      'store_unavailable',
      `${operation} failed: HTTP ${reply.status}${code ? ` ${code}` : ''}: ${message}`,
      { cause },
    )
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError(NAME, 'store_unavailable', 'the store is closed')
  }

  #open(): Promise<AwsClient> {
    this.#client ??= loadAwsClient().then(
      (Client) =>
        new Client({
          accessKeyId: this.#options.accessKeyId,
          secretAccessKey: this.#options.secretAccessKey,
          sessionToken: this.#options.sessionToken,
          service: 's3',
          region: this.region,
          // No blind retries: a retried conditional write could report a conflict with itself.
          retries: 0,
        }),
      (error: unknown) => {
        this.#client = undefined
        throw error
      },
    )
    return this.#client
  }
}

/**
 * Creates an {@link S3Store}. Nothing is loaded or sent until the first operation; a COS or OSS
 * store needs `unsafeLastWriterWins: true` (see {@link S3StoreOptions.unsafeLastWriterWins}).
 *
 * @example
 * import { createS3Store } from 'wemp/storage/s3'
 *
 * const store = createS3Store({
 *   endpoint: 'https://cos.ap-guangzhou.myqcloud.com',
 *   bucket: 'wemp-1250000000',
 *   accessKeyId: process.env.TENCENTCLOUD_SECRETID!,
 *   secretAccessKey: process.env.TENCENTCLOUD_SECRETKEY!,
 *   sessionToken: process.env.TENCENTCLOUD_SESSIONTOKEN,
 *   unsafeLastWriterWins: true, // COS: compareAndSet is read-then-write
 * })
 */
export function createS3Store(options: S3StoreOptions): S3Store {
  return new S3Store(options)
}

function misconfigured(message: string): never {
  throw new StoreError(NAME, 'store_misconfigured', message)
}

/** A short random pause before retrying after AWS' 409 ConditionalRequestConflict. */
function backoff(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20))
}

function expiryOf(ttl: number | undefined): number | null {
  return ttl === undefined ? null : Date.now() + ttl
}

function isExpired(expiresAt: number | null): boolean {
  return expiresAt !== null && expiresAt <= Date.now()
}

function toVersion(etag: string, expiresAt: number | null): string {
  return expiresAt === null ? etag : `${etag}@${expiresAt}`
}

function parseVersion(version: string): { etag: string; expiresAt: number | null } | undefined {
  if (typeof version !== 'string') return undefined
  const match = VERSION_PATTERN.exec(version)
  if (!match) return undefined
  return { etag: match[1] as string, expiresAt: match[2] === undefined ? null : Number(match[2]) }
}

/** The body of an object: the value's JSON is spliced in, not parsed and serialised again. */
function envelope(json: string, expiresAt: number | null): string {
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(8)))
  return `{"e":${expiresAt === null ? 'null' : expiresAt},"n":"${nonce}","v":${json}}`
}

function parseEnvelope(body: string): Envelope | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined
  const { e, n, v } = parsed as { e?: unknown; n?: unknown; v?: unknown }
  if (!Object.hasOwn(parsed, 'v') || typeof n !== 'string') return undefined
  if (e !== null && (typeof e !== 'number' || !Number.isFinite(e))) return undefined
  return { e, v: v as Json }
}

/** 412, or 404 (AWS answers a conditional write on an absent key with NoSuchKey). */
function isPreconditionMiss(reply: Reply): boolean {
  return reply.status === 412 || (reply.status === 404 && errorCode(reply.body) !== 'NoSuchBucket')
}

/** AWS' 409 ConditionalRequestConflict: another conditional write was in flight; retry. */
function isConflict(reply: Reply): boolean {
  return reply.status === 409 && errorCode(reply.body) === 'ConditionalRequestConflict'
}

function errorCode(body: string): string | undefined {
  return xmlField(body, 'Code')
}

function xmlField(body: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)
  if (!match) return undefined
  return (match[1] as string)
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause)
  const inner = (cause as Error & { cause?: unknown }).cause
  if (inner instanceof Error) {
    const code = (inner as Error & { code?: unknown }).code
    return typeof code === 'string' ? `${code} (${inner.message})` : inner.message
  }
  return cause.message
}

/** Web Crypto and plain hex rather than `node:crypto` and Buffer: the store also runs on fetch runtimes. */
async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))))
}

function toHex(bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return hex
}
