/**
 * The in-memory backend of the {@link Store} contract: the default store. Fast and dependency-free,
 * but it lives and dies with one process, so it suits a single long-running server, tests and
 * development. A serverless function (many short-lived instances) needs a shared backend:
 * `wemp/storage/redis`, `postgres`, `mysql` or `s3`.
 *
 * - Bounded: at most `maxEntries` keys (default 10 000). When full, a new key first evicts the
 *   expired keys, then the least recently written or read key.
 * - Values are kept as JSON text, so reads are copies and non-JSON values are refused.
 * - TTL is checked on every read with `Date.now()` (millisecond precision); expired keys are
 *   reclaimed on access and by an unref'd sweep timer.
 *
 * @example
 * import { createMemoryStore } from 'wemp/storage/memory'
 *
 * const store = createMemoryStore({ maxEntries: 50_000 })
 * await store.set('greeting', { text: '你好' }, { ttl: 60_000 })
 *
 * @module
 */
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

const NAME = 'memory'
const DEFAULT_MAX_ENTRIES = 10_000
const DEFAULT_SWEEP_INTERVAL = 10_000

/** One stored value. Never mutated: a write replaces the slot, so a slot's identity is its version. */
interface Slot {
  readonly text: string
  readonly version: string
  /** Epoch ms, or undefined for a permanent key. */
  readonly expiresAt: number | undefined
}

/** A scheduled expiry; stale once its key holds another slot. */
interface Expiry {
  readonly at: number
  readonly key: string
  readonly slot: Slot
}

/** Versions are unique in the process, so no two writes (of any key, in any space) share one. */
let lastVersion = 0

/** A binary min-heap of expiries, with lazy deletion of the stale ones. */
class ExpiryQueue {
  #heap: Expiry[] = []

  get size(): number {
    return this.#heap.length
  }

  peek(): Expiry | undefined {
    return this.#heap[0]
  }

  push(expiry: Expiry): void {
    const heap = this.#heap
    heap.push(expiry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.at <= expiry.at) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = expiry
  }

  pop(): Expiry | undefined {
    const heap = this.#heap
    const top = heap[0]
    const last = heap.pop()
    if (top === undefined || last === undefined || heap.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left
      if (heap[child]!.at >= last.at) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
    return top
  }

  /** Keeps only the expiries `keep` accepts. */
  retain(keep: (expiry: Expiry) => boolean): void {
    const live = this.#heap.filter(keep)
    this.#heap = []
    for (const expiry of live) this.push(expiry)
  }
}

/** Options of a {@link MemorySpace}. */
export interface MemorySpaceOptions {
  /** How many keys the space holds at most (all prefixes together). Default 10 000. */
  maxEntries?: number
  /** How often expired keys are swept, in ms; 0 turns the timer off (expired keys are still reclaimed on access). Default 10 000. */
  sweepInterval?: number
}

/** The keys of a space and their bookkeeping (internal: stores reach it through {@link spaces}). */
class Slots {
  readonly maxEntries: number
  readonly #sweepInterval: number
  /** Full key → slot, least recently written or read first. */
  readonly #slots = new Map<string, Slot>()
  readonly #expiries = new ExpiryQueue()
  #oldest: MapIterator<string> | undefined
  #timer: NodeJS.Timeout | undefined
  #users = 0

  constructor(options: MemorySpaceOptions) {
    const { maxEntries = DEFAULT_MAX_ENTRIES, sweepInterval = DEFAULT_SWEEP_INTERVAL } = options
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new StoreError(
        NAME,
        'store_misconfigured',
        `maxEntries must be a positive integer, got ${maxEntries}`,
      )
    }
    if (!Number.isFinite(sweepInterval) || sweepInterval < 0) {
      throw new StoreError(
        NAME,
        'store_misconfigured',
        `sweepInterval must be 0 or more ms, got ${sweepInterval}`,
      )
    }
    this.maxEntries = maxEntries
    this.#sweepInterval = sweepInterval
  }

  get size(): number {
    return this.#slots.size
  }

  /** The live slot of a key, reclaiming it when expired; `touch` marks it recently used. */
  read(key: string, now: number, touch: boolean): Slot | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    if (slot.expiresAt !== undefined && slot.expiresAt <= now) {
      this.#slots.delete(key)
      return undefined
    }
    if (touch) {
      this.#slots.delete(key)
      this.#slots.set(key, slot)
    }
    return slot
  }

  /** Stores a new slot for a key, evicting another key when the space is full. */
  write(key: string, text: string, ttl: number | undefined, now: number): string {
    const slot: Slot = {
      text,
      version: (++lastVersion).toString(36),
      expiresAt: ttl === undefined ? undefined : now + ttl,
    }
    if (!this.#slots.delete(key) && this.#slots.size >= this.maxEntries) this.#evict(now)
    this.#slots.set(key, slot)
    if (slot.expiresAt !== undefined) {
      this.#expiries.push({ at: slot.expiresAt, key, slot })
      // Rewrites leave stale expiries behind; drop them before they outnumber the keys.
      if (this.#expiries.size > 2 * this.#slots.size + 1024) {
        this.#expiries.retain((expiry) => this.#slots.get(expiry.key) === expiry.slot)
      }
    }
    return slot.version
  }

  remove(key: string): void {
    this.#slots.delete(key)
  }

  /** Reclaims every expired key. */
  sweep(now: number): void {
    for (
      let next = this.#expiries.peek();
      next !== undefined && next.at <= now;
      next = this.#expiries.peek()
    ) {
      this.#expiries.pop()
      if (this.#slots.get(next.key) === next.slot) this.#slots.delete(next.key)
    }
  }

  /** Makes room for one key: expired keys go first, then the least recently used. */
  #evict(now: number): void {
    this.sweep(now)
    // One long-lived iterator walks the keys oldest first. A fresh `keys()` per eviction would
    // step over every entry deleted since the Map last compacted: O(n) per write once full.
    // Map iterators are live: they skip deleted keys and reach keys re-added at the end (touched).
    while (this.#slots.size >= this.maxEntries) {
      let next = this.#oldest?.next()
      if (next === undefined || next.done) {
        this.#oldest = this.#slots.keys()
        next = this.#oldest.next()
        if (next.done) return
      }
      this.#slots.delete(next.value)
    }
  }

  /** A store starts using the space: the first one starts the sweep timer. */
  attach(): void {
    if (this.#users++ === 0 && this.#sweepInterval > 0) {
      this.#timer = setInterval(() => this.sweep(Date.now()), this.#sweepInterval)
      this.#timer.unref()
    }
  }

  /** A store is closed: the last one stops the timer. */
  detach(): void {
    if (--this.#users === 0) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  clear(): void {
    this.#slots.clear()
    this.#expiries.retain(() => false)
  }
}

/** The internals of each space, out of its public API. */
const spaces = new WeakMap<MemorySpace, Slots>()

/**
 * The memory that {@link MemoryStore}s keep their keys in. Each store has its own unless several
 * are given one to share, as several processes share a database: for example one bounded space
 * for all the bots of a process, each with its own prefix.
 *
 * @example
 * const space = new MemorySpace({ maxEntries: 100_000 })
 * const a = createMemoryStore({ space, prefix: 'bot-a:' })
 * const b = createMemoryStore({ space, prefix: 'bot-b:' })
 */
export class MemorySpace {
  /** How many keys the space holds at most. */
  readonly maxEntries: number

  constructor(options: MemorySpaceOptions = {}) {
    const slots = new Slots(options)
    spaces.set(this, slots)
    this.maxEntries = slots.maxEntries
  }

  /** How many keys the space holds now (expired ones included until they are reclaimed). */
  get size(): number {
    return spaces.get(this)!.size
  }

  /** Reclaims every expired key now (the timer does this every `sweepInterval`). */
  sweep(): void {
    spaces.get(this)!.sweep(Date.now())
  }
}

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions extends StoreOptions, MemorySpaceOptions {
  /** A space shared with other memory stores; then `maxEntries` and `sweepInterval` belong to the space. */
  space?: MemorySpace
}

/**
 * A {@link Store} in this process's memory.
 *
 * @example
 * const store = new MemoryStore({ prefix: 'mybot:' })
 * const version = await store.add('dedupe:123', true, { ttl: 15_000 })  // undefined when seen
 */
export class MemoryStore implements Store {
  readonly name = NAME
  readonly #prefix: string
  readonly #slots: Slots
  readonly #ownsSpace: boolean
  #closed = false

  constructor(options: MemoryStoreOptions = {}) {
    const { prefix = DEFAULT_PREFIX, space, ...spaceOptions } = options
    if (
      space !== undefined &&
      (spaceOptions.maxEntries !== undefined || spaceOptions.sweepInterval !== undefined)
    ) {
      throw new StoreError(
        NAME,
        'store_misconfigured',
        'maxEntries and sweepInterval belong to the shared MemorySpace: pass them to new MemorySpace(...)',
      )
    }
    this.#prefix = prefix
    this.#ownsSpace = space === undefined
    const shared = space === undefined ? undefined : spaces.get(space)
    if (space !== undefined && shared === undefined) {
      throw new StoreError(NAME, 'store_misconfigured', 'space must be a MemorySpace (new MemorySpace(...))')
    }
    this.#slots = shared ?? new Slots(spaceOptions)
    this.#slots.attach()
  }

  /** The full key of `key`, after checking the store is open and the key is valid. */
  #key(key: string): string {
    if (this.#closed) throw new StoreError(NAME, 'store_unavailable', 'the store is closed')
    checkKey(NAME, key)
    return this.#prefix + key
  }

  async get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined> {
    const slot = this.#slots.read(this.#key(key), Date.now(), true)
    return slot === undefined ? undefined : { value: JSON.parse(slot.text) as T, version: slot.version }
  }

  async set(key: string, value: Json, options?: WriteOptions): Promise<string> {
    const full = this.#key(key)
    const text = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    return this.#slots.write(full, text, ttl, Date.now())
  }

  async add(key: string, value: Json, options?: WriteOptions): Promise<string | undefined> {
    const full = this.#key(key)
    const text = encodeValue(NAME, value)
    const ttl = checkTtl(NAME, options)
    const now = Date.now()
    if (this.#slots.read(full, now, false) !== undefined) return undefined
    return this.#slots.write(full, text, ttl, now)
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
    const now = Date.now()
    if (this.#slots.read(full, now, false)?.version !== version) return undefined
    return this.#slots.write(full, text, ttl, now)
  }

  async delete(key: string, options?: { version?: string }): Promise<boolean> {
    const full = this.#key(key)
    const slot = this.#slots.read(full, Date.now(), false)
    if (slot === undefined) return false
    if (options?.version !== undefined && slot.version !== options.version) return false
    this.#slots.remove(full)
    return true
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#slots.detach()
    if (this.#ownsSpace) this.#slots.clear()
  }
}

/**
 * Creates a {@link MemoryStore}.
 *
 * @example
 * import { createMemoryStore } from 'wemp/storage/memory'
 * const store = createMemoryStore({ prefix: 'mybot:', maxEntries: 50_000 })
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options)
}
