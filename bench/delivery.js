// Retry de-duplication: what it costs per message, in-process (no HTTP), wemp only.
//
// wemp records every push in the bot's store (an atomic `add` under FromUserName + MsgId), records the
// reply (a `compareAndSet`), and answers a push whose record exists from the cache (a `get`) without
// running handlers (src/delivery/delivery.ts). Variants, each a fresh bot with the echo handler:
//   off           createBot({ delivery: false }): no record at all
//   memory        the default: de-duplication on, in-memory store
//   memory-retry  a retry (the same MsgId a second time), answered from the memory store's cache
//   redis         de-duplication on, createRedisStore({ url, prefix }) from dist/storage/redis
//   redis-retry   a retry, answered from Redis
// The Redis rows need BENCH_REDIS_URL or WEMP_TEST_REDIS_URL (skipped, with the reason, otherwise);
// each run uses fresh random key prefixes and deletes its keys afterwards.
// Every message is new (its own MsgId, from a pool built before timing, the same pool for every
// variant). A retry row first delivers a chunk of messages untimed, then times their retries.
// The variants' batches are interleaved (batch 1 of each, batch 2 of each, …) so that drift in
// the machine's load hits them alike; each figure is the median of the batches.
// Usage: node bench/delivery.js   (env: BENCH_ITERATIONS, BENCH_WARMUP_ITERATIONS, BENCH_MODES,
//        BENCH_ONLY, BENCH_QUICK, BENCH_REDIS_URL / WEMP_TEST_REDIS_URL)
import { randomBytes } from 'node:crypto'
import { fmt, isMain, median, ratio, summarize, table } from './lib/format.js'
import { msgIdAt, requestPool } from './lib/pool.js'
import { BENCH_CONFIG, buildTextRequest, checkReply, nowSeconds } from './lib/requests.js'
import { settings } from './lib/settings.js'
import { BATCHES } from './lib/timing.js'

/** Retries are timed in chunks: deliver up to this many messages, then retry them (well under the memory store's 10,000 keys). */
const RETRY_CHUNK = 1000
/** Redis rows run this fraction of the iterations: each message waits for two round trips to Redis. */
const REDIS_SHARE = 4

const VARIANTS = [
  { variant: 'off', label: 'delivery: false', store: null, retry: false },
  { variant: 'memory', label: 'de-dup on, memory store (default)', store: 'memory', retry: false },
  { variant: 'memory-retry', label: 'a retry, answered from memory', store: 'memory', retry: true },
  { variant: 'redis', label: 'de-dup on, Redis', store: 'redis', retry: false },
  { variant: 'redis-retry', label: 'a retry, answered from Redis', store: 'redis', retry: true },
]

function redisUrl() {
  return process.env.BENCH_REDIS_URL || process.env.WEMP_TEST_REDIS_URL || ''
}

/** A logger that only counts (the default one would print a line per retry); warnings are kept. */
function countingLogger() {
  const counts = { debug: 0, info: 0, warn: 0, error: 0 }
  const problems = []
  const at = (level) => (message, fields) => {
    counts[level]++
    if ((level === 'warn' || level === 'error') && problems.length < 3)
      problems.push(`${level}: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`)
  }
  return {
    counts,
    problems,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  }
}

async function loadModules() {
  try {
    return { wemp: await import('../dist/index.js') }
  } catch (err) {
    return { error: `cannot import dist/index.js (${summarize(err.message)}) — run \`npm run build\`` }
  }
}

/**
 * One variant in one mode: a fresh bot, its own position in the pool, its own samples.
 * `warm()` runs the warm-up, `batch()` one timed batch (µs per message).
 */
function makeRunner(spec, { bot, pool, runs, log, iterations, warmup, closeStore }) {
  const per = Math.max(1, Math.floor(iterations / BATCHES))
  let next = 0 // the next message of the pool not yet delivered
  let non200 = 0
  let calls = 0
  let handled = 0 // messages delivered for the first time (the handler must run once for each)
  const call = async (req) => {
    calls++
    if ((await bot.handle(req)).status !== 200) non200++
  }
  /** First deliveries of `count` messages, timed: ns. */
  const deliver = async (count) => {
    const t0 = process.hrtime.bigint()
    for (const end = next + count; next < end; next++) await call(pool[next])
    handled += count
    return process.hrtime.bigint() - t0
  }
  /** First deliveries (untimed), then the retries of the same messages (timed), by chunks: ns. */
  const retries = async (count) => {
    let ns = 0n
    for (let left = count; left > 0; ) {
      const n = Math.min(left, RETRY_CHUNK)
      const from = next
      await deliver(n)
      const t0 = process.hrtime.bigint()
      for (let i = from; i < from + n; i++) await call(pool[i])
      ns += process.hrtime.bigint() - t0
      left -= n
    }
    return ns
  }
  const timed = spec.retry ? retries : deliver
  return {
    ...spec,
    iterations: per * BATCHES,
    warmup,
    samples: [],
    warm: () => timed(warmup),
    async batch() {
      this.samples.push(Number(await timed(per)) / 1e3 / per)
    },
    /** What must hold after the run: every request answered 200, nothing logged above info, the handler run once per message. */
    verify() {
      const errors = []
      if (non200) errors.push(`${non200} of ${calls} requests were not answered 200`)
      if (log.problems.length) errors.push(`wemp logged ${log.problems.join('; ')}`)
      if (runs() !== handled)
        errors.push(
          `the handler ran ${runs()} times for ${handled} distinct messages${spec.retry ? ' and their retries' : ''}`,
        )
      return errors
    },
    calls: () => calls,
    distinct: () => handled,
    close: closeStore,
  }
}

/** Builds the bot of a variant and checks it on a one-off message (first delivery + its retry). */
async function setUp(spec, mod, mode, m, ctx) {
  const log = countingLogger()
  let store
  if (spec.store === 'redis') {
    store = ctx.redis.createRedisStore({
      url: ctx.redisUrl,
      prefix: `${ctx.redisPrefix}${mode}-${spec.variant}:`,
    })
  }
  const closeStore = async () => {
    await store?.close()
  }
  try {
    const bot = mod.createBot({
      ...ctx.cfg,
      logger: log.logger,
      ...(spec.store === null ? { delivery: false } : {}),
      ...(store ? { store } : {}),
    })
    let handlerRuns = 0
    bot.text((c) => {
      handlerRuns++
      return `echo: ${c.message.content}`
    })
    // a one-off message, then the same again (a retry): both answered correctly; the handler runs
    // twice without de-duplication, once with it
    const one = buildTextRequest(mode, ctx.cfg, { msgId: msgIdAt(10 + m), timestamp: ctx.timestamp })
    for (const attempt of ['first delivery', 'retry']) {
      const c = checkReply(one, await bot.handle(one), ctx.cfg)
      if (!c.ok) throw new Error(`wrong reply to a ${attempt}: ${c.errors.join('; ')}`)
    }
    const want = spec.store === null ? 2 : 1
    if (handlerRuns !== want)
      throw new Error(`a message and its retry ran the handler ${handlerRuns} times, expected ${want}`)
    if (log.problems.length) throw new Error(`wemp logged ${log.problems.join('; ')}`)
    handlerRuns = 0
    const redis = spec.store === 'redis'
    return makeRunner(spec, {
      bot,
      pool: ctx.pool,
      runs: () => handlerRuns,
      log,
      iterations: redis ? Math.max(BATCHES, Math.round(ctx.iterations / REDIS_SHARE)) : ctx.iterations,
      warmup: redis ? Math.round(ctx.warmup / REDIS_SHARE) : ctx.warmup,
      closeStore,
    })
  } catch (err) {
    await closeStore().catch(() => {})
    throw err
  }
}

/** Deletes every key under this run's Redis prefix (they would expire within 5 minutes anyway). */
async function cleanRedis(url, prefix) {
  const { Redis } = await import('ioredis')
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000 })
  client.on('error', () => {})
  let removed = 0
  try {
    await client.connect()
    let cursor = '0'
    do {
      const [nextCursor, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = nextCursor
      if (keys.length) removed += await client.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
  return removed
}

export async function runDelivery({ log = console.log } = {}) {
  const { iterations, warmupIterations: warmup } = settings
  const cfg = BENCH_CONFIG
  log(
    `\n## Retry de-duplication: cost per message (in-process, wemp only; ${iterations} timed after ${warmup} warm-up, Redis rows 1/${REDIS_SHARE} of that; median of ${BATCHES} interleaved batches)`,
  )
  const result = {
    settings: { iterations, warmup, batches: BATCHES, redisShare: 1 / REDIS_SHARE, retryChunk: RETRY_CHUNK },
    redis: null,
    rows: [],
  }
  if (settings.only && !settings.only.includes('wemp')) {
    result.skipped = 'BENCH_ONLY does not include wemp'
    log(`  skipped: ${result.skipped}`)
    return result
  }
  const { wemp, error } = await loadModules()
  if (!wemp) {
    result.skipped = error
    log(`  skipped: ${error}`)
    return result
  }

  // Redis: only when a URL is given, and only if it answers
  const url = redisUrl()
  const ctx = { cfg, iterations, warmup, redisUrl: url }
  let redisSkip = url ? null : 'no BENCH_REDIS_URL or WEMP_TEST_REDIS_URL set (e.g. redis://127.0.0.1:6379)'
  if (url) {
    ctx.redisPrefix = `wempbench-${randomBytes(4).toString('hex')}-`
    try {
      ctx.redis = await import('../dist/storage/redis/index.js')
      const probe = ctx.redis.createRedisStore({ url, prefix: `${ctx.redisPrefix}probe:` })
      try {
        await probe.get('ping')
      } finally {
        await probe.close()
      }
    } catch (err) {
      redisSkip = `Redis at ${url} is not usable: ${summarize(err.message)}`
    }
  }
  result.redis = redisSkip
    ? { status: 'skipped', reason: redisSkip }
    : { status: 'ok', url: url.replace(/\/\/[^@/]*@/, '//***@'), prefix: ctx.redisPrefix }

  try {
    for (const [m, mode] of settings.modes.entries()) {
      ctx.timestamp = nowSeconds()
      ctx.pool = requestPool(mode, cfg, warmup + iterations, { timestamp: ctx.timestamp })
      const runners = []
      for (const spec of VARIANTS) {
        const base = { variant: spec.variant, label: spec.label, store: spec.store, retry: spec.retry, mode }
        if (spec.store === 'redis' && redisSkip) {
          result.rows.push({ ...base, status: 'skipped', reason: redisSkip })
          continue
        }
        try {
          runners.push(await setUp(spec, wemp, mode, m, ctx))
        } catch (err) {
          result.rows.push({ ...base, status: 'FAILED', reason: err.message })
        }
      }
      try {
        for (const r of runners) await r.warm()
        for (let b = 0; b < BATCHES; b++) for (const r of runners) await r.batch()
      } finally {
        for (const r of runners) await r.close().catch(() => {})
      }
      for (const r of runners) {
        const base = { variant: r.variant, label: r.label, store: r.store, retry: r.retry, mode }
        const errors = r.verify()
        result.rows.push(
          errors.length
            ? { ...base, status: 'FAILED', reason: errors.join('; ') }
            : {
                ...base,
                status: 'ok',
                usPerOp: median(r.samples),
                samplesUs: r.samples,
                iterations: r.iterations,
                warmup: r.warmup,
                distinctMsgIds: r.distinct(),
                requests: r.calls(),
              },
        )
      }
    }
  } finally {
    if (url && !redisSkip) {
      try {
        result.redis.keysDeleted = await cleanRedis(url, ctx.redisPrefix)
      } catch (err) {
        log(
          `  note: could not delete the run's Redis keys (${summarize(err.message)}); they expire within 5 minutes`,
        )
      }
    }
  }
  // order the rows as VARIANTS within each mode, and add the comparison with `off`
  const order = (row) =>
    settings.modes.indexOf(row.mode) * 10 + VARIANTS.findIndex((v) => v.variant === row.variant)
  result.rows.sort((a, b) => order(a) - order(b))
  for (const row of result.rows) {
    const off = result.rows.find((o) => o.mode === row.mode && o.variant === 'off' && o.status === 'ok')
    if (row.status === 'ok' && off && row !== off) {
      row.vsOffUs = row.usPerOp - off.usPerOp
      row.vsOffRatio = row.usPerOp / off.usPerOp
    }
  }
  log(formatDelivery(result))
  return result
}

function signed(us) {
  return `${us >= 0 ? '+' : '−'}${fmt(Math.abs(us), 2)}`
}

export function formatDelivery({ rows, redis }) {
  const out = []
  out.push(
    table(
      ['variant', 'mode', 'µs/message', 'messages/s', '− off µs', 'vs off'],
      rows.map((r) =>
        r.status === 'ok'
          ? [
              r.label,
              r.mode,
              fmt(r.usPerOp, 2),
              fmt(1e6 / r.usPerOp),
              r.vsOffUs === undefined ? '' : signed(r.vsOffUs),
              r.vsOffRatio === undefined ? '' : `${r.vsOffRatio.toFixed(2)}×`,
            ]
          : [r.label, r.mode, r.status.toUpperCase(), '', '', ''],
      ),
    ),
  )
  const modes = [...new Set(rows.map((r) => r.mode))]
  for (const mode of modes) {
    const get = (variant) => rows.find((r) => r.mode === mode && r.variant === variant && r.status === 'ok')
    const parts = []
    for (const [variant, what] of [
      ['memory', 'the memory store'],
      ['redis', 'Redis'],
    ]) {
      const r = get(variant)
      if (r?.vsOffUs !== undefined)
        parts.push(`${signed(r.vsOffUs)} µs on ${what} (${ratio(r.usPerOp, get('off').usPerOp)})`)
    }
    if (parts.length) out.push(`  ${mode}: de-duplication costs ${parts.join(', ')} per message.`)
  }
  out.push(
    '  − off µs = µs/message − the `delivery: false` row (on − off: the cost of recording each push and its reply); vs off = the ratio.',
  )
  out.push(
    '  Each message is new (its own MsgId). A retry row times the second delivery of the same MsgId: an `add` that finds the record, a `get`, no handler, the cached reply (encrypted again in safe mode).',
  )
  if (redis?.status === 'ok')
    out.push(
      `  Redis rows are wall time per message, one at a time: two round trips to ${redis.url} (\`add\`, then \`compareAndSet\`; a retry: \`add\`, then \`get\`), mostly waiting, not CPU.`,
    )
  const redisSkipped = redis?.status === 'skipped'
  if (redisSkipped) out.push(`  Redis rows skipped: ${summarize(redis.reason)}`)
  for (const r of rows)
    if (r.status !== 'ok' && !(redisSkipped && r.store === 'redis'))
      out.push(`  ${r.label} ${r.mode}: ${summarize(r.reason)}`)
  if (redis?.status === 'ok' && redis.keysDeleted !== undefined)
    out.push(`  Redis: prefix ${redis.prefix}…, ${redis.keysDeleted} keys deleted after the run.`)
  return out.join('\n')
}

if (isMain(import.meta.url)) {
  await runDelivery()
}
