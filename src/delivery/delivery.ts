import { randomBytes } from 'node:crypto'
import type { WechatApi } from '../api/client.js'
import type { Logger } from '../bot/logger.js'
import type { Message } from '../protocol/messages.js'
import type { Reply } from '../protocol/replies.js'
import { MemoryStore } from '../storage/memory/index.js'
import { type Json, type Store, StoreError } from '../storage/store.js'
import { LocalRecords } from './local-records.js'

/** The store operations the delivery records need. */
type Records = Pick<Store, 'name' | 'get' | 'add' | 'compareAndSet'>

/**
 * WeChat's delivery rules, handled for the bot:
 *
 * **Retries.** WeChat waits 5 s for an answer, then sends the same push again: three tries in all.
 * Every push is recorded in the store under a key naming it (FromUserName + MsgId for messages;
 * FromUserName + CreateTime + Event (+ EventKey) for events) with an atomic `add`, so across any
 * number of instances exactly one delivery runs the handlers. A retry that comes after the reply
 * was given gets the same reply (cached with the record); a retry that comes while the first
 * delivery is still running waits for it until its own deadline.
 *
 * **The 5-second budget.** A handler still running at the deadline (default 4 s after the request
 * arrived) does not lose its answer:
 * - where the runtime keeps working after the response (a long-lived server, `waitUntil`),
 *   WeChat gets `success` at the deadline and the reply goes out through the customer-service
 *   API when the handler finishes;
 * - where it does not (a cloud function is frozen once it returns), the invocation keeps running
 *   until the handler finishes. WeChat's own retry, answered by another instance, gets `success`
 *   in time (or, if the handler finished while that retry was waiting, the reply itself, passively:
 *   no customer-service quota spent). A reply that no retry picked up goes out through the
 *   customer-service API. Without an AppSecret there is no customer-service API: a long-lived
 *   server then also lets WeChat's retries carry a late reply, as far as they reach.
 *
 * The record's states (JSON in the store):
 * - `{ s: 'running', waiter?, until? }` — the first delivery is handling it; a retry may be waiting
 *   (`waiter`) until `until` (ms since the epoch).
 * - `{ s: 'done', reply }` — answered in time: retries get the same reply.
 * - `{ s: 'handoff', reply, waiter }` — finished late while `waiter` was waiting: that retry answers
 *   with the reply.
 * - `{ s: 'late', via }` — finished late and delivered (or dropped) otherwise; retries answer `success`.
 * Every transition is a compare-and-set, so a late reply goes out exactly once even when the
 * first delivery finishes just as the waiting retry gives up.
 */

/** Delivery settings (`createBot({ delivery })`). */
export interface DeliveryOptions {
  /**
   * How long after a request arrives a handler may run before WeChat is answered without it, ms.
   * Default 4000: WeChat gives up after 5 s, counted from when it sent the request (network, an API
   * gateway and a cold start come out of the same 5 s).
   */
  deadline?: number
  /** Retry de-duplication. Default true. */
  dedupe?: boolean
  /** How long a push's record (and its cached reply) is kept, ms. Default 5 minutes. */
  ttl?: number
  /** How often a waiting retry looks at the store, ms. Default 100. */
  pollInterval?: number
  /**
   * On the in-memory store, how many records one generation holds before it is rotated early
   * (records are kept in a table of the process, see `LocalRecords`). Default 10 000.
   */
  maxRecords?: number
}

/**
 * What the runtime does after the response is sent:
 * - `'process'`: a long-lived server: work goes on (the default, except on the clouds below);
 * - `'invocation'`: a cloud function: frozen once the handler returns, so late work must finish
 *   before it does (the default when `TENCENTCLOUD_RUNENV=SCF`, `AWS_LAMBDA_FUNCTION_NAME` or
 *   `FC_FUNCTION_NAME` is set; the SCF, Lambda and FC adapters always say so);
 * - a `waitUntil` function (Cloudflare Workers, Vercel): work goes on if registered with it.
 */
export type Lifetime = 'process' | 'invocation' | ((work: Promise<unknown>) => void)

type Record =
  | { s: 'running'; waiter?: string; until?: number }
  | { s: 'done'; reply: Reply }
  | { s: 'handoff'; reply: Reply; waiter: string }
  | { s: 'late'; via: 'customer-service' | 'retry' | 'dropped' | 'failed' }

interface Claim {
  key: string
  version: string
}

const SUCCESS: Reply = Object.freeze({ type: 'success' })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The store key naming one push, or undefined when it cannot be named (then it is not de-duplicated). */
export function dedupeKey(account: string, message: Message): string | undefined {
  const from = safe(message.fromUserName)
  if ('msgId' in message && message.msgId)
    return `dedupe:${safe(account)}:${from}:${safe(String(message.msgId))}`
  const createTime = message.createTime
  if (!createTime) return undefined
  const event = 'event' in message && typeof message.event === 'string' ? message.event : message.type
  const eventKey = 'eventKey' in message && typeof message.eventKey === 'string' ? message.eventKey : ''
  return `dedupe:${safe(account)}:${from}:${createTime}:${safe(event)}${eventKey ? `:${safe(eventKey)}` : ''}`
}

// Keys allow [A-Za-z0-9:_-.@]; anything else (an event key with spaces, Chinese…) is escaped.
function safe(part: string): string {
  if (/^[A-Za-z0-9_\-.@]*$/.test(part) && part.length <= 64) return part
  const escaped = encodeURIComponent(part).replace(/[%!'()*~]/g, '.')
  return escaped.length <= 64 ? escaped : `${escaped.slice(0, 40)}.${fnv(part)}`
}

function fnv(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0
  return hash.toString(36)
}

export interface PushJob {
  /** The store key account part (AppID or the account id). */
  account: string
  message: Message
  /** When the request arrived (ms since the epoch). */
  receivedAt: number
  lifetime: Lifetime | undefined
  /** Runs middleware and handlers; never throws. */
  answer: () => Reply | Promise<Reply>
}

/** Carries out the rules above for one bot. */
export class Delivery {
  readonly deadline: number
  readonly dedupe: boolean
  readonly ttl: number
  readonly pollInterval: number
  /** Where the records live: the bot's store, or, for the in-memory store, a lighter table of this process. */
  readonly #store: Records
  readonly #log: Logger
  readonly #api: WechatApi | undefined
  readonly #now: () => number
  readonly #defaultLifetime: Lifetime
  #warned = false
  readonly #memory: LocalRecords | undefined

  constructor(
    options: DeliveryOptions,
    store: Store,
    log: Logger,
    api: WechatApi | undefined,
    now: () => number,
  ) {
    this.deadline = options.deadline ?? 4000
    this.dedupe = options.dedupe ?? true
    this.ttl = options.ttl ?? 5 * 60 * 1000
    this.pollInterval = options.pollInterval ?? 100
    this.#memory =
      store instanceof MemoryStore ? new LocalRecords(this.ttl, options.maxRecords, now) : undefined
    this.#store = this.#memory ?? store
    this.#log = log
    this.#api = api
    this.#now = now
    this.#defaultLifetime = detectLifetime()
  }

  /** Answers one push: runs it once across retries and instances, within the deadline. */
  run(job: PushJob): Reply | Promise<Reply> {
    if (
      !this.#warned &&
      this.#store.name === 'memory' &&
      (job.lifetime ?? this.#defaultLifetime) === 'invocation'
    ) {
      this.#warned = true
      this.#log.warn(
        'this cloud function keeps its state in memory: each instance has its own, so a retry reaching another instance runs the handlers again, and sessions are not shared; configure a shared store (Redis, a database or object storage)',
      )
    }
    const key = this.dedupe ? dedupeKey(job.account, job.message) : undefined
    if (key === undefined) return this.#process(job, undefined)
    const record: Json = { s: 'running' }
    const memory = this.#memory
    if (memory) {
      // The in-memory store answers synchronously, and nothing else runs between a synchronous
      // check and a synchronous write: a push not seen before is recorded once, with its reply when
      // the handler answers synchronously (no 'running' state, no promise, no tick), or as running
      // before the handler's first await.
      if (memory.getSync(key) !== undefined) return this.#retry(job, key)
      const value = job.answer()
      if (!(value instanceof Promise)) {
        memory.putAbsentSync(key, { s: 'done', reply: value } as Json)
        return value
      }
      return this.#process(job, { key, version: memory.putAbsentSync(key, record) }, value)
    }
    return this.#store.add(key, record, { ttl: this.ttl }).then(
      (version) => (version === undefined ? this.#retry(job, key) : this.#process(job, { key, version })),
      (error: unknown) => this.#unavailable(job, error),
    )
  }

  #unavailable(job: PushJob, error: unknown): Reply | Promise<Reply> {
    this.#log.warn('retry de-duplication is unavailable; handling this delivery without it', {
      store: this.#store.name,
      openid: job.message.fromUserName,
      reason: reasonOf(error),
    })
    return this.#process(job, undefined)
  }

  /** The first delivery: runs the handlers under the deadline. */
  #process(job: PushJob, claim: Claim | undefined, started?: Promise<Reply>): Reply | Promise<Reply> {
    const value = started ?? job.answer()
    if (!(value instanceof Promise)) return claim ? this.#done(job, claim, value) : value
    const remaining = job.receivedAt + this.deadline - this.#now()
    return new Promise<Reply>((resolve) => {
      let late = false
      const timer = setTimeout(
        () => {
          late = true
          const lifetime = job.lifetime ?? this.#defaultLifetime
          const early = lifetime !== 'invocation' && this.#api !== undefined
          const work = value
            .then((reply) => this.#late(job, claim, reply))
            .catch((error: unknown) => {
              // #late handles its own failures; this only keeps a bug from becoming an unhandled rejection.
              this.#log.error('a late reply failed', { openid: job.message.fromUserName, error })
            })
          this.#log.warn('the handler is still running at the deadline', {
            deadline: this.deadline,
            openid: job.message.fromUserName,
            answer: early ? 'success now; the reply follows through the customer-service API' : 'held',
          })
          if (early) {
            if (typeof lifetime === 'function') lifetime(work)
            resolve(SUCCESS)
          } else {
            // Nothing may run after this invocation returns (or there is no customer-service API):
            // keep it open until the late reply is on its way. WeChat's retries are answered meanwhile.
            work.then(() => resolve(SUCCESS))
          }
        },
        Math.max(0, remaining),
      )
      value.then((reply) => {
        if (late) return
        clearTimeout(timer)
        resolve(claim ? this.#done(job, claim, reply) : reply)
      })
    })
  }

  /** Records an in-time reply for retries; a store failure costs only the cache. */
  async #done(job: PushJob, claim: Claim, reply: Reply): Promise<Reply> {
    const record = { s: 'done', reply } as Json
    try {
      let version: string | undefined = claim.version
      for (;;) {
        if (version !== undefined) {
          const saved = await this.#store.compareAndSet(claim.key, version, record, { ttl: this.ttl })
          if (saved !== undefined) return reply
        }
        const entry = await this.#store.get<Record & { [k: string]: Json }>(claim.key)
        if (!entry) {
          // The record expired or was evicted: record the reply again for retries to come.
          await this.#store.add(claim.key, record, { ttl: this.ttl })
          return reply
        }
        if (entry.value.s === 'running' && entry.value.waiter) {
          // WeChat already retried (so it stopped listening to this delivery): the retry answers.
          await this.#late(job, claim, reply)
          return SUCCESS
        }
        if (entry.value.s !== 'running') return reply
        version = entry.version
      }
    } catch (error) {
      this.#log.warn('could not record the reply for retries', { key: claim.key, reason: reasonOf(error) })
    }
    return reply
  }

  /** A reply that missed the deadline: to a waiting retry, else through the customer-service API. */
  async #late(job: PushJob, claim: Claim | undefined, reply: Reply): Promise<void> {
    const openid = job.message.fromUserName
    if (claim) {
      try {
        for (;;) {
          const entry = await this.#store.get<Record & { [k: string]: Json }>(claim.key)
          const state = entry?.value
          if (!entry || !state || state.s !== 'running') break
          if (
            state.waiter &&
            state.until !== undefined &&
            state.until - this.#now() > this.pollInterval * 2
          ) {
            if (reply.type === 'success') {
              await this.#store.compareAndSet(claim.key, entry.version, { s: 'done', reply } as Json, {
                ttl: this.ttl,
              })
              return
            }
            const handed = await this.#store.compareAndSet(
              claim.key,
              entry.version,
              { s: 'handoff', reply, waiter: state.waiter } as Json,
              { ttl: this.ttl },
            )
            if (handed !== undefined) {
              this.#log.info('late reply handed to a waiting retry of the same push', { openid })
              return
            }
            continue
          }
          const via = reply.type === 'success' ? 'retry' : this.#api ? 'customer-service' : 'dropped'
          const marked = await this.#store.compareAndSet(
            claim.key,
            entry.version,
            { s: 'late', via } as Json,
            {
              ttl: this.ttl,
            },
          )
          if (marked !== undefined) break
        }
      } catch (error) {
        this.#log.warn('the store failed while handing over a late reply; sending it directly', {
          reason: reasonOf(error),
        })
      }
    }
    if (reply.type === 'success') return
    if (!this.#api) {
      this.#log.error(
        'a late reply was dropped: without appSecret there is no customer-service API to send it',
        {
          openid,
          reply: reply.type,
        },
      )
      return
    }
    try {
      await this.#api.customService.send(openid, reply)
      this.#log.info('late reply sent through the customer-service API', { openid, reply: reply.type })
    } catch (error) {
      this.#log.error('a late reply could not be sent through the customer-service API', {
        openid,
        reply: reply.type,
        errcode: (error as { errcode?: number }).errcode,
        reason: reasonOf(error),
      })
    }
  }

  /** A delivery of a push already claimed: the cached reply, the first delivery's late reply, or `success`. */
  async #retry(job: PushJob, key: string): Promise<Reply> {
    let me = ''
    const until = job.receivedAt + this.deadline
    let registered: string | undefined
    try {
      for (;;) {
        const entry = await this.#store.get<Record & { [k: string]: Json }>(key)
        const state = entry?.value
        if (!entry || !state) return SUCCESS
        if (state.s === 'done') {
          this.#log.info('a retry of a push already answered: same reply', {
            openid: job.message.fromUserName,
          })
          return state.reply
        }
        if (state.s === 'handoff') {
          if (state.waiter !== me) return SUCCESS
          await this.#store.compareAndSet(key, entry.version, { s: 'late', via: 'retry' } as Json, {
            ttl: this.ttl,
          })
          this.#log.info('a retry delivered the late reply of the first delivery', {
            openid: job.message.fromUserName,
          })
          return state.reply
        }
        if (state.s === 'late') return SUCCESS
        // Still running: wait (registered as the waiter) until this delivery's own deadline.
        if (state.waiter !== me || registered !== entry.version) {
          if (this.#now() + this.pollInterval * 2 >= until) return SUCCESS
          me ||= randomBytes(8).toString('hex')
          registered = await this.#store.compareAndSet(
            key,
            entry.version,
            { s: 'running', waiter: me, until } as Json,
            { ttl: this.ttl },
          )
          continue
        }
        if (this.#now() + this.pollInterval >= until) {
          // Give up, unless the first delivery handed its reply over meanwhile (the CAS then fails).
          const released = await this.#store.compareAndSet(key, entry.version, { s: 'running' } as Json, {
            ttl: this.ttl,
          })
          if (released !== undefined) {
            this.#log.info('a retry of a push still being handled: answered success', {
              openid: job.message.fromUserName,
            })
            return SUCCESS
          }
          registered = undefined
          continue
        }
        await sleep(this.pollInterval)
      }
    } catch (error) {
      this.#log.warn('the store failed while answering a retry; answering success', {
        openid: job.message.fromUserName,
        reason: reasonOf(error),
      })
      return SUCCESS
    }
  }
}

function detectLifetime(): Lifetime {
  const env = typeof process !== 'undefined' ? process.env : undefined
  if (!env) return 'process'
  if (env.TENCENTCLOUD_RUNENV === 'SCF' || env.AWS_LAMBDA_FUNCTION_NAME || env.FC_FUNCTION_NAME) {
    return 'invocation'
  }
  return 'process'
}

function reasonOf(error: unknown): string {
  if (error instanceof StoreError) return error.message
  return error instanceof Error ? error.message : String(error)
}
