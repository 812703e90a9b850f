// Benchmark knobs, from the environment. BENCH_QUICK=1 shortens everything (smoke test).
const env = process.env
export const QUICK = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true'

function num(name, dflt, quick) {
  const v = env[name]
  if (v !== undefined && v !== '') {
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0)
      throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(v)}`)
    return n
  }
  return QUICK ? quick : dflt
}

function list(name) {
  const v = env[name]
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null
}

export const settings = {
  quick: QUICK,
  // http.js
  duration: num('BENCH_DURATION', 5, 1), // seconds of measured load per contender and mode
  warmup: num('BENCH_WARMUP', 1, 0.5), // seconds of unmeasured load before it
  connections: num('BENCH_CONNECTIONS', 32, 32),
  // rounds of every contender, interleaved (round 1 of each, then round 2 of each, …); each row is the median round
  rounds: Math.max(1, Math.round(num('BENCH_ROUNDS', 3, 1))),
  // safe-mode request pool: sized for this many req/s over warm-up + measured time, within this many MB
  poolRps: num('BENCH_POOL_RPS', 30000, 30000),
  poolMb: num('BENCH_POOL_MB', 64, 64),
  // cold-start.js
  coldRuns: num('BENCH_COLD_RUNS', 5, 2),
  coldMode: env.BENCH_COLD_MODE || 'safe',
  // inprocess.js
  iterations: num('BENCH_ITERATIONS', 20000, 2000),
  warmupIterations: num('BENCH_WARMUP_ITERATIONS', 3000, 500),
  // filters
  only: list('BENCH_ONLY'), // e.g. BENCH_ONLY=bare,wemp
  modes: list('BENCH_MODES') ?? ['plaintext', 'safe'],
}
