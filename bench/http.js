// HTTP throughput/latency: each contender in its own child process, loaded by autocannon from this process.
// Every request is a new message (its own MsgId), the same stream for every contender: wemp answers a
// repeated MsgId from its retry cache, which is not what a real message costs.
//   plaintext: autocannon's setupRequest puts the next MsgId into a body template per request;
//   safe: the body is encrypted and msg_signature covers it, so a pool of encrypted requests is built
//   before the load (sized for BENCH_POOL_RPS req/s over warm-up + measured time, within BENCH_POOL_MB),
//   and the stream cycles through it; each row says how many distinct requests it sent.
// A sample of the replies under load (1 in REPLY_SAMPLE) goes through the same checker as the validation.
// Load on a shared machine drifts: every contender runs BENCH_ROUNDS times, interleaved (round 1 of each,
// then round 2 of each, …), each row is its median round, and the ratios to the baselines are given per round.
// Usage: node bench/http.js   (env: BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_ROUNDS, BENCH_ONLY,
//        BENCH_MODES, BENCH_POOL_RPS, BENCH_POOL_MB, BENCH_QUICK)
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { send } from './lib/client.js'
import { BASELINES, CONTENDERS, selectedContenders } from './lib/contenders.js'
import { fmt, isMain, median, medianRound, ratio, summarize, table } from './lib/format.js'
import { httpStream, msgIdAt, safeEntryBytes } from './lib/pool.js'
import { startServer, stopServer } from './lib/proc.js'
import { BENCH_CONFIG, buildTextRequest, checkReply, nowSeconds } from './lib/requests.js'
import { settings } from './lib/settings.js'
import { validateServer } from './lib/validate.js'

/** One reply in this many, under load, is checked in full (decrypted and verified in safe mode). */
const REPLY_SAMPLE = 128

/** Distinct safe-mode requests to build: rps × (warm-up + measured s), within the memory budget. */
export function safePoolSize(cfg = BENCH_CONFIG) {
  const wanted = Math.ceil(settings.poolRps * (settings.warmup + settings.duration))
  const budget = Math.floor((settings.poolMb * 2 ** 20) / safeEntryBytes(cfg))
  return { size: Math.max(1, Math.min(wanted, budget)), wanted, budget }
}

/**
 * autocannon against the contender, sending stream requests `cursor.sent`, `cursor.sent + 1`, …
 * (the cursor carries on across the warm-up and the measured run).
 */
function load(port, stream, cursor, sampler, duration) {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: settings.connections,
    duration,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        setupRequest(req) {
          stream.apply(req, cursor.sent++)
          return req
        },
      },
    ],
    verifyBody: sampler,
  })
}

/** autocannon's verifyBody: every REPLY_SAMPLE-th reply is checked with checkReply; a wrong one counts as a mismatch. */
function replySampler(stream, cfg) {
  const like = { mode: stream.mode, expect: stream.expect }
  const headers = { 'content-type': 'application/xml' } // only the body reaches verifyBody
  const sampler = (body) => {
    if (++sampler.seen % REPLY_SAMPLE !== 0) return true
    sampler.checked++
    const c = checkReply(like, { status: 200, headers, body }, cfg)
    if (!c.ok) {
      sampler.wrong++
      sampler.firstError ??= c.errors.join('; ')
    }
    return c.ok
  }
  sampler.seen = 0
  sampler.checked = 0
  sampler.wrong = 0
  sampler.firstError = null
  return sampler
}

async function one(contender, mode, stream, log) {
  const base = { contender: contender.name, mode }
  let h
  try {
    h = await startServer(contender.name)
  } catch (err) {
    return { ...base, status: 'FAILED', stage: 'start', reason: err.message }
  }
  try {
    // FIXTURE.msgId: not in the stream
    const req = buildTextRequest(mode)
    const v = await validateServer(h.port, mode, req, { ceiling: contender.ceiling })
    if (!v.ok)
      return { ...base, status: 'FAILED', stage: 'validate', reason: v.errors.join('; '), quirks: v.quirks }

    // let the validation's own log lines (e.g. a warning for the forged request) arrive before counting noise
    await sleep(100)
    const bytesBeforeLoad = h.bytesOut
    const cursor = { sent: 0 }
    const sampler = replySampler(stream, BENCH_CONFIG)
    if (settings.warmup > 0) await load(h.port, stream, cursor, sampler, settings.warmup)
    const r = await load(h.port, stream, cursor, sampler, settings.duration)
    const noise = h.bytesOut - bytesBeforeLoad

    // the server must still be alive, still correct, and quiet: a new message (not in the stream)
    // and its retry both get the right reply
    const fresh = buildTextRequest(mode, BENCH_CONFIG, { msgId: msgIdAt(2) })
    const after = checkReply(fresh, await send(h.port, fresh))
    const again = after.ok ? checkReply(fresh, await send(h.port, fresh)) : after
    const errors = [...after.errors, ...(after.ok ? again.errors.map((e) => `retry: ${e}`) : [])]
    const sent = cursor.sent
    const result = {
      ...base,
      status: errors.length || sampler.wrong ? 'FAILED' : 'ok',
      ...(errors.length
        ? { stage: 'after-load', reason: errors.join('; ') }
        : sampler.wrong
          ? {
              stage: 'load',
              reason: `${sampler.wrong} of ${sampler.checked} sampled replies were wrong: ${sampler.firstError}`,
            }
          : {}),
      rps: r.requests.mean,
      rpsStddev: r.requests.stddev,
      latencyMs: {
        mean: r.latency.mean,
        p50: r.latency.p50,
        p90: r.latency.p90,
        p99: r.latency.p99,
        max: r.latency.max,
      },
      requests: r.requests.total,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      throughputBytesPerSec: r.throughput.mean,
      durationS: r.duration,
      startMs: Math.round(h.startMs),
      // requests built for this contender (warm-up + measured) and how many of them were distinct
      requestsSent: sent,
      distinctRequests: Math.min(sent, stream.distinct),
      repeatedRequests: Math.max(0, sent - stream.distinct),
      repliesSampled: sampler.checked,
      repliesSampledWrong: sampler.wrong,
      outputBytesDuringLoad: noise,
      quirks: v.quirks,
    }
    if (noise > 0) log(`  note: ${contender.name} wrote ${noise} bytes to stdout/stderr during the run`)
    return result
  } catch (err) {
    return { ...base, status: 'FAILED', stage: 'load', reason: err.message }
  } finally {
    await stopServer(h)
  }
}

/** The request stream of a mode: built once, the same for every contender. */
function streamFor(mode, log) {
  if (mode !== 'safe') return httpStream(mode, BENCH_CONFIG)
  const { size, wanted, budget } = safePoolSize()
  const t0 = performance.now()
  const stream = httpStream(mode, BENCH_CONFIG, { size, timestamp: nowSeconds() })
  log(
    `  safe: ${fmt(size)} distinct encrypted requests built in ${fmt((performance.now() - t0) / 1000, 1)} s, ${fmt(stream.bytes / 2 ** 20, 1)} MB` +
      ` (${fmt(settings.poolRps)} req/s × ${settings.warmup + settings.duration} s = ${fmt(wanted)}; the ${settings.poolMb} MB budget holds ${fmt(budget)})`,
  )
  return stream
}

export async function runHttp({ log = console.log } = {}) {
  const contenders = selectedContenders()
  const results = []
  log(
    `\n## HTTP load (autocannon, ${settings.connections} connections, ${settings.warmup} s warm-up + ${settings.duration} s measured, keep-alive, 127.0.0.1)`,
  )
  const streams = {}
  for (const mode of settings.modes) {
    let stream
    try {
      stream = streamFor(mode, log)
    } catch (err) {
      for (const c of contenders) {
        results.push({ contender: c.name, mode, status: 'FAILED', stage: 'requests', reason: err.message })
      }
      log(`  ${mode}: could not build the request stream: ${summarize(err.message)}`)
      continue
    }
    streams[mode] = Number.isFinite(stream.distinct)
      ? { distinct: stream.distinct, bytes: stream.bytes, how: 'a pool of encrypted requests, cycled' }
      : { distinct: null, bytes: 0, how: 'the MsgId substituted per request: never repeats' }
    const runs = new Map(contenders.map((c) => [c.name, []]))
    for (let round = 1; round <= settings.rounds; round++) {
      for (const c of contenders) {
        // a contender that failed is not run again
        if (runs.get(c.name).some((r) => r.status !== 'ok')) continue
        const r = await one(c, mode, stream, log)
        runs.get(c.name).push(r)
        const label = settings.rounds > 1 ? `round ${round} ` : ''
        log(
          r.status === 'ok'
            ? `  ${mode.padEnd(9)} ${label}${c.name.padEnd(11)} ${fmt(r.rps)} req/s  p99 ${r.latencyMs.p99} ms  ${distinctNote(r)}`
            : `  ${mode.padEnd(9)} ${label}${c.name.padEnd(11)} FAILED (${r.stage}): ${summarize(r.reason)}`,
        )
      }
    }
    for (const c of contenders) results.push(medianRound(runs.get(c.name)))
  }
  log(formatHttp(results))
  return {
    settings: {
      connections: settings.connections,
      warmupS: settings.warmup,
      durationS: settings.duration,
      rounds: settings.rounds,
      poolRps: settings.poolRps,
      poolMb: settings.poolMb,
      replySample: REPLY_SAMPLE,
    },
    streams,
    results,
  }
}

function distinctNote(r) {
  return r.repeatedRequests
    ? `${fmt(r.distinctRequests)} distinct of ${fmt(r.requestsSent)} sent (the stream repeated)`
    : `${fmt(r.requestsSent)} requests, all distinct`
}

export function formatHttp(results) {
  const out = []
  const modes = [...new Set(results.map((r) => r.mode))]
  for (const mode of modes) {
    const rows = results.filter((r) => r.mode === mode)
    const rpsOf = (name) => rows.find((r) => r.contender === name && r.status === 'ok')?.rps
    out.push(`\n### ${mode}`)
    out.push(
      table(
        ['contender', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non2xx', ...BASELINES.map((b) => `vs ${b}`)],
        rows.map((r) =>
          r.status === 'ok'
            ? [
                r.contender,
                fmt(r.rps),
                r.latencyMs.p50,
                r.latencyMs.p99,
                r.errors + r.timeouts,
                r.non2xx,
                ...BASELINES.map((b) => ratio(r.rps, rpsOf(b))),
              ]
            : [r.contender, `FAILED (${r.stage})`, '', '', '', '', ...BASELINES.map(() => '')],
        ),
      ),
    )
    const roundsOf = (name) => rows.find((r) => r.contender === name && r.status === 'ok')?.rpsRounds
    for (const r of rows) {
      if (r.status !== 'ok' || !(r.rpsRounds?.length > 1)) continue
      const perRound = BASELINES.filter(
        (b) => b !== r.contender && roundsOf(b)?.length === r.rpsRounds.length,
      ).map((b) => {
        const ratios = r.rpsRounds.map((rps, i) => rps / roundsOf(b)[i])
        return `vs ${b} ${ratios.map((x) => `${x.toFixed(2)}×`).join(' ')} (median ${median(ratios).toFixed(2)}×)`
      })
      out.push(
        `  ${r.contender}: req/s by round ${r.rpsRounds.map((x) => fmt(x)).join(', ')}${perRound.length ? `; ${perRound.join('; ')}` : ''}`,
      )
    }
    for (const r of rows) {
      if (r.status !== 'ok') out.push(`  ${r.contender}: ${summarize(r.reason)}`)
      else if (r.quirks?.length) out.push(`  ${r.contender} quirks: ${r.quirks.join('; ')}`)
    }
    const ok = rows.filter((r) => r.status === 'ok' && r.requestsSent !== undefined)
    if (ok.length) {
      out.push(
        `  distinct requests (MsgIds) sent, warm-up included: ${ok.map((r) => `${r.contender} ${fmt(r.distinctRequests)}${r.repeatedRequests ? ` of ${fmt(r.requestsSent)}` : ''}`).join(', ')}`,
      )
      const repeated = ok.filter((r) => r.repeatedRequests > 0)
      const ceiling = new Set(CONTENDERS.filter((c) => c.ceiling).map((c) => c.name))
      const harmless = repeated.filter((r) => ceiling.has(r.contender)).map((r) => r.contender)
      const harmful = repeated.filter((r) => !ceiling.has(r.contender)).map((r) => r.contender)
      if (harmless.length)
        out.push(`  the request pool wrapped around for ${harmless.join(', ')}, which ignores the body.`)
      if (harmful.length)
        out.push(
          `  WARNING: the request pool wrapped around for ${harmful.join(', ')}: some MsgIds were sent twice. Raise BENCH_POOL_RPS / BENCH_POOL_MB.`,
        )
    }
  }
  out.push(
    `\n  vs X = req/s of the row ÷ req/s of X (higher is better; 1.00× = as fast as X)${settings.rounds > 1 ? `; each row is the median of ${settings.rounds} interleaved rounds, and "by round" gives each round's req/s and ratios (round i against round i)` : ''}.`,
  )
  return out.join('\n')
}

if (isMain(import.meta.url)) {
  await runHttp()
}
