// The whole benchmark: in-process, retry de-duplication, cold start, serverless, HTTP load, storage.
// Writes bench/results/latest.json.
// `npm run bench` builds first (npm run build && node bench/run.js). BENCH_QUICK=1 for a smoke test.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runColdStart } from './cold-start.js'
import { runColdStartServerless } from './cold-start-serverless.js'
import { runDelivery } from './delivery.js'
import { runHttp } from './http.js'
import { runInprocess } from './inprocess.js'
import { selectedContenders } from './lib/contenders.js'
import { fmt, table } from './lib/format.js'
import { settings } from './lib/settings.js'
import { runStorage } from './storage.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '..')
const t0 = Date.now()

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim()
  } catch {
    return null
  }
}

const contenders = selectedContenders()
const estimate =
  settings.rounds * settings.modes.length * contenders.length * (settings.warmup + settings.duration + 0.8) +
  contenders.length * (settings.coldRuns + 1) * 0.2 +
  (settings.iterations / 20000) *
    (16 + (process.env.BENCH_REDIS_URL || process.env.WEMP_TEST_REDIS_URL ? 10 : 0)) +
  2
const cpus = os.cpus()
console.log(
  `# wemp benchmark — node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}${settings.quick ? ' — QUICK mode' : ''}`,
)
console.log(`contenders: ${contenders.map((c) => c.name).join(', ')}; modes: ${settings.modes.join(', ')}`)
console.log(`expected duration ≈ ${Math.ceil(estimate)} s (plus the build)`)
if (!existsSync(path.join(root, 'dist/index.js'))) {
  console.log(
    'note: dist/index.js is missing — the wemp contender will be reported as FAILED/skipped (run `npm run build`).',
  )
}

const inprocess = await runInprocess()
const delivery = await runDelivery()
const coldStart = await runColdStart()
const serverless = await runColdStartServerless()
const http = await runHttp()
const storage = await runStorage()

// one-line-per-contender summary
const rows = contenders.map((c) => {
  const h = (mode) => http.results.find((r) => r.contender === c.name && r.mode === mode)
  const cell = (mode, f) => {
    const r = h(mode)
    return !r ? '' : r.status === 'ok' ? f(r) : 'FAILED'
  }
  const cold = coldStart.results.find((r) => r.contender === c.name)
  return [
    c.name,
    cell('plaintext', (r) => fmt(r.rps)),
    cell('plaintext', (r) => r.latencyMs.p99),
    cell('safe', (r) => fmt(r.rps)),
    cell('safe', (r) => r.latencyMs.p99),
    !cold ? '' : cold.status === 'ok' ? fmt(cold.medianMs, 1) : 'FAILED',
  ]
})
console.log('\n## Summary')
console.log(
  table(
    [
      'contender',
      'plain req/s',
      'plain p99 ms',
      'safe req/s',
      'safe p99 ms',
      `cold start ms (${coldStart.settings.mode})`,
    ],
    rows,
  ),
)

const elapsedS = Math.round((Date.now() - t0) / 100) / 10
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
const out = {
  meta: {
    date: new Date().toISOString(),
    package: `${pkg.name}@${pkg.version}`,
    commit: gitCommit(),
    node: process.version,
    platform: `${process.platform} ${os.release()} ${process.arch}`,
    cpus: { count: cpus.length, model: cpus[0]?.model ?? null },
    quick: settings.quick,
    settings,
    contenders,
    elapsedS,
  },
  inprocess,
  delivery,
  coldStart,
  serverless,
  http,
  storage,
}
const dir = path.join(here, 'results')
mkdirSync(dir, { recursive: true })
const file = path.join(dir, 'latest.json')
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`)
console.log(`\ndone in ${elapsedS} s — wrote ${path.relative(process.cwd(), file)}`)
