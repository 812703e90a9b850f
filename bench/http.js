// HTTP throughput/latency: each contender in its own child process, loaded by autocannon from this process.
// Usage: node bench/http.js   (env: BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_ONLY, BENCH_MODES, BENCH_QUICK)
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { send } from './lib/client.js'
import { BASELINES, selectedContenders } from './lib/contenders.js'
import { fmt, isMain, ratio, summarize, table } from './lib/format.js'
import { startServer, stopServer } from './lib/proc.js'
import { buildTextRequest, checkReply } from './lib/requests.js'
import { settings } from './lib/settings.js'
import { validateServer } from './lib/validate.js'

function load(port, req, duration) {
  return autocannon({
    url: `http://127.0.0.1:${port}${req.path}`,
    method: req.method,
    headers: req.headers,
    body: req.body,
    connections: settings.connections,
    duration,
    timeout: 10,
  })
}

async function one(contender, mode, log) {
  const base = { contender: contender.name, mode }
  let h
  try {
    h = await startServer(contender.name)
  } catch (err) {
    return { ...base, status: 'FAILED', stage: 'start', reason: err.message }
  }
  try {
    const req = buildTextRequest(mode)
    const v = await validateServer(h.port, mode, req, { ceiling: contender.ceiling })
    if (!v.ok)
      return { ...base, status: 'FAILED', stage: 'validate', reason: v.errors.join('; '), quirks: v.quirks }

    // let the validation's own log lines (e.g. a warning for the forged request) arrive before counting noise
    await sleep(100)
    const bytesBeforeLoad = h.bytesOut
    if (settings.warmup > 0) await load(h.port, req, settings.warmup)
    const r = await load(h.port, req, settings.duration)

    // the server must still be alive, still correct, and quiet
    const after = checkReply(req, await send(h.port, req))
    const noise = h.bytesOut - bytesBeforeLoad
    const result = {
      ...base,
      status: after.ok ? 'ok' : 'FAILED',
      ...(after.ok ? {} : { stage: 'after-load', reason: after.errors.join('; ') }),
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

export async function runHttp({ log = console.log } = {}) {
  const contenders = selectedContenders()
  const results = []
  log(
    `\n## HTTP load (autocannon, ${settings.connections} connections, ${settings.warmup} s warm-up + ${settings.duration} s measured, keep-alive, 127.0.0.1)`,
  )
  for (const mode of settings.modes) {
    for (const c of contenders) {
      const r = await one(c, mode, log)
      results.push(r)
      log(
        r.status === 'ok'
          ? `  ${mode.padEnd(9)} ${c.name.padEnd(11)} ${fmt(r.rps)} req/s  p99 ${r.latencyMs.p99} ms`
          : `  ${mode.padEnd(9)} ${c.name.padEnd(11)} FAILED (${r.stage}): ${summarize(r.reason)}`,
      )
    }
  }
  log(formatHttp(results))
  return {
    settings: { connections: settings.connections, warmupS: settings.warmup, durationS: settings.duration },
    results,
  }
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
    for (const r of rows) {
      if (r.status !== 'ok') out.push(`  ${r.contender}: ${summarize(r.reason)}`)
      else if (r.quirks?.length) out.push(`  ${r.contender} quirks: ${r.quirks.join('; ')}`)
    }
  }
  out.push('\n  vs X = req/s of the row ÷ req/s of X (higher is better; 1.00× = as fast as X).')
  return out.join('\n')
}

if (isMain(import.meta.url)) {
  await runHttp()
}
