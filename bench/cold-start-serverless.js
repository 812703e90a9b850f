// Serverless bundles: size and cold start. The SCF example (examples/tencent-scf), and the same bot
// as SCF, Lambda and FC handlers without the Redis driver, are each bundled by esbuild into one
// minified CommonJS file, as a function would be deployed. For each, a fresh `node` runs a tiny
// runner that requires the bundle and invokes the handler with a recorded-shape event carrying a
// signed text message; the time is spawn → the reply printed, and the reply must pass the checker.
// Next to it: a bare `exports.main_handler = async () => ({ statusCode: 200, body: 'ok' })`.
// Runs on dist/ (npm run build first). Usage: node bench/cold-start-serverless.js
// (env: BENCH_COLD_RUNS, BENCH_COLD_MODE=safe|plaintext, BENCH_QUICK)
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { fmt, isMain, median, ratio, summarize, table } from './lib/format.js'
import { BENCH_CONFIG, buildTextRequest, checkReply } from './lib/requests.js'
import { settings } from './lib/settings.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const TIMEOUT_MS = 20000

const BASELINE = "exports.main_handler = async () => ({ statusCode: 200, body: 'ok' })\n"

// Invokes one export of a bundle with an event from argv, prints the result as one JSON line.
// It also times, inside the process, require() of the bundle and the first invocation.
const RUNNER = `const [bundle, name, kind, event] = process.argv.slice(2)
const json = Buffer.from(event, 'base64').toString('utf8')
const input = kind === 'buffer' ? Buffer.from(json) : JSON.parse(json)
const t0 = performance.now()
const handler = require(bundle)[name]
const t1 = performance.now()
Promise.resolve(handler(input, {})).then(
  (result) => {
    const t2 = performance.now()
    const line = JSON.stringify({ result, requireMs: t1 - t0, invokeMs: t2 - t1 })
    process.stdout.write(line + '\\n', () => process.exit(0))
  },
  (error) => { console.error(error); process.exit(1) },
)
`

/** The same bot for every platform: the SCF example's, with sessions in memory. */
const sameBot = (adapter, factory, exportName) =>
  [
    `import { ${factory} } from 'wemp/adapters/${adapter}'`,
    `import { createScfBot } from './examples/tencent-scf/bot.ts'`,
    `export const ${exportName} = ${factory}(createScfBot(process.env))`,
  ].join('\n')

const contenders = [
  { name: 'baseline', source: 'file', exportName: 'main_handler', event: 'baseline' },
  {
    name: 'tencent-scf (example)',
    entry: 'examples/tencent-scf/index.ts',
    exportName: 'main_handler',
    event: 'scf',
    note: 'as shipped: Redis driver bundled, loaded only for a redis:// store',
  },
  {
    name: 'tencent-scf',
    contents: sameBot('tencent-scf', 'scf', 'main_handler'),
    exportName: 'main_handler',
    event: 'scf',
  },
  {
    name: 'aws-lambda',
    contents: sameBot('aws-lambda', 'lambda', 'handler'),
    exportName: 'handler',
    event: 'lambda',
  },
  { name: 'aliyun-fc', contents: sameBot('aliyun-fc', 'fc', 'handler'), exportName: 'handler', event: 'fc' },
]

/** The platform event carrying a signed request (shapes as in test/adapters/events.ts). */
function eventFor(kind, req) {
  const headers = { 'content-type': 'text/xml', 'user-agent': 'Mozilla/4.0', accept: '*/*' }
  const search = new URLSearchParams(req.query).toString()
  switch (kind) {
    case 'scf': // SCF function URL
      return {
        body: req.body,
        headers: { ...headers, host: '1250000000-abcd1234ef.ap-guangzhou.tencentscf.com' },
        httpMethod: 'POST',
        path: '/',
        queryString: req.query,
      }
    case 'lambda': // Lambda function URL (payload 2.0)
      return {
        version: '2.0',
        routeKey: '$default',
        rawPath: '/',
        rawQueryString: search,
        headers,
        queryStringParameters: req.query,
        requestContext: { http: { method: 'POST', path: '/', sourceIp: '203.0.113.7' }, stage: '$default' },
        body: req.body,
        isBase64Encoded: false,
      }
    case 'fc': // FC 3.0 HTTP trigger (the runner turns it into a Buffer)
      return {
        version: 'v1',
        rawPath: '/wechat',
        body: req.body,
        isBase64Encoded: false,
        headers: { 'Content-Type': 'text/xml', 'User-Agent': 'Mozilla/4.0' },
        queryParameters: req.query,
        requestContext: { http: { method: 'POST', path: '/wechat', sourceIp: '203.0.113.7' } },
      }
    default:
      return {}
  }
}

async function bundle(contender, dir) {
  const file = path.join(dir, `${contender.name.replace(/\W+/g, '-')}.cjs`)
  if (contender.source === 'file') writeFileSync(file, BASELINE)
  else {
    const input = contender.entry
      ? { entryPoints: [path.join(root, contender.entry)] }
      : { stdin: { contents: contender.contents, resolveDir: root, sourcefile: 'entry.ts', loader: 'ts' } }
    await build({
      ...input,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node16',
      minify: true,
      legalComments: 'none',
      logLevel: 'error',
      outfile: file,
    })
  }
  const bytes = readFileSync(file)
  return { file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }
}

function coldRun(runner, contender, file, mode) {
  const req = buildTextRequest(mode)
  const event = Buffer.from(JSON.stringify(eventFor(contender.event, req))).toString('base64')
  const kind = contender.event === 'fc' ? 'buffer' : 'json'
  const env = {
    ...process.env,
    WECHAT_TOKEN: BENCH_CONFIG.token,
    WECHAT_APP_ID: BENCH_CONFIG.appId,
    WECHAT_ENCODING_AES_KEY: BENCH_CONFIG.encodingAESKey,
    WEMP_LOG_LEVEL: 'error',
  }
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const child = spawn(process.execPath, [runner, file, contender.exportName, kind, event], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let replyAt = null
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS)
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (replyAt === null && out.includes('\n')) replyAt = process.hrtime.bigint()
    })
    child.stderr.on('data', (chunk) => {
      err += chunk
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (replyAt === null) return reject(new Error(`no reply (exit ${code}): ${err.slice(0, 500)}`))
      const { result, requireMs, invokeMs } = JSON.parse(out.slice(0, out.indexOf('\n')))
      const res = { status: result.statusCode, headers: result.headers ?? {}, body: result.body }
      if (contender.event === 'baseline') {
        if (res.status !== 200 || res.body !== 'ok') return reject(new Error(`baseline answered ${out}`))
      } else {
        const check = checkReply(req, res)
        if (!check.ok) return reject(new Error(`wrong reply: ${check.errors.join('; ')}`))
      }
      resolve({ ms: Number(replyAt - t0) / 1e6, requireMs, invokeMs })
    })
  })
}

export async function runColdStartServerless({ log = console.log } = {}) {
  const mode = settings.coldMode
  const runs = Math.max(settings.coldRuns, settings.quick ? 5 : 20)
  log(
    `\n## Serverless bundles (esbuild, minified, one CommonJS file) and cold start (${mode} mode, ${runs} runs each: fresh node → handler's first correct reply)`,
  )
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wemp-bench-serverless-'))
  try {
    const runner = path.join(dir, 'runner.cjs')
    writeFileSync(runner, RUNNER)
    const state = []
    for (const contender of contenders) {
      try {
        const built = await bundle(contender, dir)
        await coldRun(runner, contender, built.file, mode) // priming run, untimed
        state.push({ contender, built, runs: [], failed: null })
      } catch (error) {
        state.push({ contender, built: null, runs: [], failed: String(error?.message ?? error) })
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const s of state) {
        if (s.failed) continue
        try {
          s.runs.push(await coldRun(runner, s.contender, s.built.file, mode))
        } catch (error) {
          s.failed = String(error?.message ?? error)
        }
      }
    }
    const results = state.map((s) =>
      s.failed
        ? { contender: s.contender.name, status: 'FAILED', reason: s.failed }
        : {
            contender: s.contender.name,
            status: 'ok',
            bytes: s.built.bytes,
            gzipBytes: s.built.gzip,
            medianMs: median(s.runs.map((r) => r.ms)),
            minMs: Math.min(...s.runs.map((r) => r.ms)),
            maxMs: Math.max(...s.runs.map((r) => r.ms)),
            medianRequireMs: median(s.runs.map((r) => r.requireMs)),
            medianFirstInvokeMs: median(s.runs.map((r) => r.invokeMs)),
            runsMs: s.runs.map((r) => Math.round(r.ms * 100) / 100),
            note: s.contender.note,
          },
    )
    const baseline = results.find((r) => r.contender === 'baseline' && r.status === 'ok')?.medianMs
    const rows = results.map((r) =>
      r.status === 'ok'
        ? [
            r.contender,
            fmt(r.bytes),
            fmt(r.gzipBytes),
            fmt(r.medianMs, 1),
            fmt(r.minMs, 1),
            fmt(r.maxMs, 1),
            ratio(r.medianMs, baseline),
            fmt(r.medianRequireMs, 2),
            fmt(r.medianFirstInvokeMs, 2),
          ]
        : [r.contender, 'FAILED', '', '', '', '', '', '', ''],
    )
    const headers = [
      'bundle',
      'bytes',
      'gzip',
      'median ms',
      'min ms',
      'max ms',
      'vs baseline',
      'require ms',
      '1st call ms',
    ]
    log(table(headers, rows))
    log(
      '  median ms = spawn → the handler printed its reply (the runner requires the bundle, invokes it with the event);',
    )
    log("  vs baseline = median ÷ the bare handler's median (lower is better);")
    log(
      '  require ms, 1st call ms = medians timed inside the process: loading the bundle, and the first invocation.',
    )
    for (const r of results) if (r.note) log(`  ${r.contender}: ${r.note}.`)
    for (const r of results) if (r.status !== 'ok') log(`  ${r.contender}: ${summarize(r.reason)}`)
    return { settings: { runs, mode, target: 'node16', format: 'cjs' }, results }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (isMain(import.meta.url)) {
  await runColdStartServerless()
}
