// Cold start: time from spawning a fresh `node bench/servers/<name>.js` to the first correct reply.
// The request is attempted every 2 ms (connection refused → retry) until a reply arrives; the reply must
// pass the checker. Runs are interleaved across contenders (run 1 of each, run 2 of each, …) after one
// untimed priming run per contender (so every contender sees a warm OS file cache — this measures
// process + module-load + first-request cost, not disk).
// Usage: node bench/cold-start.js   (env: BENCH_COLD_RUNS, BENCH_COLD_MODE=safe|plaintext, BENCH_ONLY, BENCH_QUICK)
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { send } from './lib/client.js'
import { selectedContenders } from './lib/contenders.js'
import { fmt, isMain, median, ratio, summarize, table } from './lib/format.js'
import { freePort, spawnServer, stopServer } from './lib/proc.js'
import { buildTextRequest, checkReply } from './lib/requests.js'
import { settings } from './lib/settings.js'

const POLL_MS = 2
const TIMEOUT_MS = 20000

async function coldRun(name, mode) {
  const port = await freePort()
  const req = buildTextRequest(mode)
  const t0 = process.hrtime.bigint()
  const h = spawnServer(name, port)
  let listenAt = null
  h.child.stdout.once('data', () => {
    listenAt = process.hrtime.bigint()
  })
  try {
    for (;;) {
      if (h.exitInfo) {
        throw new Error(`exited (code ${h.exitInfo.code}) before replying. Output: ${h.output() || '(none)'}`)
      }
      if (Number(process.hrtime.bigint() - t0) / 1e6 > TIMEOUT_MS)
        throw new Error(`no reply within ${TIMEOUT_MS} ms`)
      let res
      try {
        res = await send(port, req, { timeout: 5000 })
      } catch (err) {
        if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') {
          await sleep(POLL_MS)
          continue
        }
        throw err
      }
      const t1 = process.hrtime.bigint()
      const c = checkReply(req, res)
      if (!c.ok) throw new Error(`first reply is wrong: ${c.errors.join('; ')}`)
      return {
        ms: Number(t1 - t0) / 1e6,
        listenMs: listenAt ? Number(listenAt - t0) / 1e6 : null,
      }
    }
  } finally {
    await stopServer(h)
  }
}

/** Spawn → exit of `node -e 0`: the floor under every contender's cold start. */
async function nodeBoot() {
  const t0 = process.hrtime.bigint()
  await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' })
    child.on('error', reject)
    child.on('exit', resolve)
  })
  return Number(process.hrtime.bigint() - t0) / 1e6
}

export async function runColdStart({ log = console.log } = {}) {
  const mode = settings.coldMode
  const contenders = selectedContenders()
  log(
    `\n## Cold start (${mode} mode, ${settings.coldRuns} runs each, spawn → first correct reply, polling every ${POLL_MS} ms)`,
  )
  const state = new Map(contenders.map((c) => [c.name, { runs: [], listen: [], failed: null }]))
  // priming run (untimed) — also detects contenders that cannot start at all
  for (const c of contenders) {
    try {
      await coldRun(c.name, mode)
    } catch (err) {
      state.get(c.name).failed = err.message
      log(`  ${c.name.padEnd(11)} FAILED: ${summarize(err.message)}`)
    }
  }
  for (let i = 0; i < settings.coldRuns; i++) {
    for (const c of contenders) {
      const s = state.get(c.name)
      if (s.failed) continue
      try {
        const r = await coldRun(c.name, mode)
        s.runs.push(r.ms)
        if (r.listenMs !== null) s.listen.push(r.listenMs)
      } catch (err) {
        s.failed = err.message
        log(`  ${c.name.padEnd(11)} FAILED: ${summarize(err.message)}`)
      }
    }
  }
  const boots = []
  for (let i = 0; i < Math.max(3, settings.coldRuns); i++) boots.push(await nodeBoot())
  const nodeBootMs = median(boots)
  const results = contenders.map((c) => {
    const s = state.get(c.name)
    if (s.failed) return { contender: c.name, mode, status: 'FAILED', reason: s.failed, runsMs: s.runs }
    return {
      contender: c.name,
      mode,
      status: 'ok',
      medianMs: median(s.runs),
      minMs: Math.min(...s.runs),
      maxMs: Math.max(...s.runs),
      medianListenMs: s.listen.length ? median(s.listen) : null,
      runsMs: s.runs.map((x) => Math.round(x * 100) / 100),
    }
  })
  log(formatColdStart(results, nodeBootMs))
  return { settings: { runs: settings.coldRuns, mode, pollMs: POLL_MS }, nodeBootMs, results }
}

export function formatColdStart(results, nodeBootMs) {
  const bare = results.find((r) => r.contender === 'bare' && r.status === 'ok')?.medianMs
  const rows = results.map((r) =>
    r.status === 'ok'
      ? [
          r.contender,
          fmt(r.medianMs, 1),
          fmt(r.minMs, 1),
          fmt(r.maxMs, 1),
          fmt(r.medianListenMs, 1),
          ratio(r.medianMs, bare),
        ]
      : [r.contender, 'FAILED', '', '', '', ''],
  )
  const out = [
    table(['contender', 'median ms', 'min ms', 'max ms', '"listening" ms', 'vs bare'], rows),
    '  median ms = spawn → first correct reply; "listening" ms = spawn → the server printed its ready line.',
    '  vs bare = median ÷ bare median (lower is better).',
  ]
  if (nodeBootMs)
    out.push(`  floor: \`node -e 0\` spawn → exit takes ${fmt(nodeBootMs, 1)} ms (median) on this machine.`)
  for (const r of results) if (r.status !== 'ok') out.push(`  ${r.contender}: ${summarize(r.reason)}`)
  return `\n${out.join('\n')}`
}

if (isMain(import.meta.url)) {
  await runColdStart()
}
