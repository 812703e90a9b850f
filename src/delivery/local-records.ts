import type { Entry, Json } from '../storage/store.js'

/**
 * De-duplication records of one process, for bots on the in-memory store. The in-memory store is
 * process-local anyway, so keeping the records in a table of their own changes no semantics; it
 * makes them much cheaper: one small object per push, no JSON, no per-key expiry bookkeeping,
 * no LRU moves. Under load this is the difference between de-duplication costing a quarter of
 * the throughput and costing a few percent (`bench/delivery.js`, `bench/http.js`).
 *
 * Records live in two generations: new ones go into the current table; every `ttl` the current
 * table becomes the previous one and the previous one is dropped. A record therefore lives
 * between `ttl` and `2 × ttl` (the contract's TTL is a minimum here). `maxEntries` bounds each
 * generation: a full current table rotates early, so a flood of pushes cannot grow memory without
 * bound (it shortens how long records are kept instead).
 *
 * Values are kept as given (not copied): only the delivery layer writes them, and it never
 * changes one after writing it.
 */
export class LocalRecords {
  readonly name = 'memory'
  readonly #ttl: number
  readonly #maxEntries: number
  readonly #now: () => number
  #current = new Map<string, Entry>()
  #previous = new Map<string, Entry>()
  #rotatedAt: number
  #version = 0

  constructor(ttl: number, maxEntries = 10_000, now: () => number = Date.now) {
    this.#ttl = ttl
    this.#maxEntries = maxEntries
    this.#now = now
    this.#rotatedAt = now()
  }

  getSync<T extends Json = Json>(key: string): Entry<T> | undefined {
    this.#rotate()
    return (this.#current.get(key) ?? this.#previous.get(key)) as Entry<T> | undefined
  }

  addSync(key: string, value: Json): string | undefined {
    if (this.getSync(key) !== undefined) return undefined
    return this.#write(key, value)
  }

  /**
   * Writes a key the caller just found absent with {@link getSync}, with nothing run in between
   * that could have written it (the check and the write are in one synchronous stretch).
   */
  putAbsentSync(key: string, value: Json): string {
    return this.#write(key, value)
  }

  compareAndSetSync(key: string, version: string, value: Json): string | undefined {
    if (this.getSync(key)?.version !== version) return undefined
    this.#previous.delete(key)
    return this.#write(key, value)
  }

  get<T extends Json = Json>(key: string): Promise<Entry<T> | undefined> {
    return Promise.resolve(this.getSync<T>(key))
  }

  add(key: string, value: Json): Promise<string | undefined> {
    return Promise.resolve(this.addSync(key, value))
  }

  compareAndSet(key: string, version: string, value: Json): Promise<string | undefined> {
    return Promise.resolve(this.compareAndSetSync(key, version, value))
  }

  /** How many records are kept (both generations). */
  get size(): number {
    return this.#current.size + this.#previous.size
  }

  #write(key: string, value: Json): string {
    const version = String(++this.#version)
    this.#current.set(key, { value, version })
    if (this.#current.size >= this.#maxEntries) this.#shift()
    return version
  }

  #rotate(): void {
    const now = this.#now()
    if (now - this.#rotatedAt < this.#ttl) return
    // Two periods without a rotation: both generations are stale.
    if (now - this.#rotatedAt >= 2 * this.#ttl) this.#current = new Map()
    this.#shift()
  }

  #shift(): void {
    this.#previous = this.#current
    this.#current = new Map()
    this.#rotatedAt = this.#now()
  }
}
