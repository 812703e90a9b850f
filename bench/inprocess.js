// In-process cost per message, no HTTP: the `bare` bot's handler vs wemp's bot.handle(), plaintext and safe,
// plus XML parsing alone: fast-xml-parser and xml2js (what node-webot uses) vs wemp's parseXml.
// Usage: node bench/inprocess.js   (env: BENCH_ITERATIONS, BENCH_WARMUP_ITERATIONS, BENCH_MODES, BENCH_QUICK)
import { createRequire } from 'node:module'
import { XMLParser } from 'fast-xml-parser'
import { createBareBot } from './lib/bare-bot.js'
import { fmt, isMain, median, ratio, summarize, table } from './lib/format.js'
import {
  BENCH_CONFIG,
  buildTextRequest,
  checkReply,
  FIXTURE,
  nowSeconds,
  textMessageXml,
} from './lib/requests.js'
import { settings } from './lib/settings.js'

const require = createRequire(import.meta.url)
const BATCHES = 5

/** Median over BATCHES batches of µs per call; `fn` may return a value or a Promise. */
async function timeAsync(fn, iterations, warmup) {
  for (let i = 0; i < warmup; i++) await fn()
  const per = Math.max(1, Math.floor(iterations / BATCHES))
  const samples = []
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < per; i++) await fn()
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / per)
  }
  return { usPerOp: median(samples), samplesUs: samples, iterations: per * BATCHES }
}

/** Same, for synchronous functions (no await in the loop). */
function timeSync(fn, iterations, warmup) {
  let sink = 0
  for (let i = 0; i < warmup; i++) sink ^= fn() ? 1 : 0
  const per = Math.max(1, Math.floor(iterations / BATCHES))
  const samples = []
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < per; i++) sink ^= fn() ? 1 : 0
    samples.push(Number(process.hrtime.bigint() - t0) / 1e3 / per)
  }
  globalThis.__benchSink = sink
  return { usPerOp: median(samples), samplesUs: samples, iterations: per * BATCHES }
}

async function loadWemp() {
  try {
    const mod = await import('../dist/index.js')
    return { mod }
  } catch (err) {
    return { error: `cannot import dist/index.js (${summarize(err.message)}) — run \`npm run build\`` }
  }
}

export async function runInprocess({ log = console.log } = {}) {
  const { iterations, warmupIterations: warmup } = settings
  log(
    `\n## In-process cost per message (no HTTP; ${iterations} timed after ${warmup} warm-up, median of ${BATCHES} batches)`,
  )
  const cfg = BENCH_CONFIG
  const wemp = await loadWemp()
  const bare = createBareBot(cfg)
  let wempBot = null
  let wempNote = wemp.error ?? null
  if (wemp.mod) {
    try {
      wempBot = wemp.mod.createBot({ ...cfg })
      wempBot.text((ctx) => `echo: ${ctx.message.content}`)
    } catch (err) {
      wempNote = `createBot/text failed: ${summarize(err.message)}`
      wempBot = null
    }
  }

  const handlers = [
    { name: 'bare', handle: (req) => bare.handle(req) },
    ...(wempBot ? [{ name: 'wemp', handle: (req) => wempBot.handle(req) }] : []),
  ]
  const messages = []
  for (const mode of settings.modes) {
    const r = buildTextRequest(mode, cfg)
    const req = { method: 'POST', query: r.query, headers: {}, body: r.body }
    for (const h of handlers) {
      let row = { contender: h.name, mode }
      try {
        const check = checkReply(r, await h.handle(req), cfg)
        if (!check.ok) throw new Error(`wrong reply: ${check.errors.join('; ')}`)
        const t = await timeAsync(() => h.handle(req), iterations, warmup)
        row = { ...row, status: 'ok', ...t, quirks: check.quirks }
      } catch (err) {
        row = { ...row, status: 'FAILED', reason: err.message }
      }
      messages.push(row)
    }
    if (!wempBot) messages.push({ contender: 'wemp', mode, status: 'skipped', reason: wempNote })
  }

  // XML parsing only, on the plaintext text message
  const xml = textMessageXml({
    toUser: FIXTURE.toUser,
    fromUser: FIXTURE.fromUser,
    content: FIXTURE.content,
    createTime: nowSeconds(),
    msgId: FIXTURE.msgId,
  })
  const fxp = new XMLParser({ parseTagValue: false, ignoreAttributes: true })
  const xml2js = require(require.resolve('xml2js', { paths: [require.resolve('wechat')] }))
  const xml2jsParse = (s) => {
    let out
    xml2js.parseString(s, { trim: true }, (err, res) => {
      if (err) throw err
      out = res
    })
    return out
  }
  const parserIters = iterations * 2
  const parsers = [
    { name: 'fast-xml-parser', note: 'XMLParser({ parseTagValue: false }).parse', fn: () => fxp.parse(xml) },
    {
      name: 'xml2js',
      note: 'parseString({ trim: true }) — the parser node-webot uses',
      fn: () => xml2jsParse(xml),
    },
  ]
  const parsing = []
  for (const p of parsers) {
    try {
      if (!p.fn()) throw new Error('parser returned nothing')
      parsing.push({ parser: p.name, note: p.note, status: 'ok', ...timeSync(p.fn, parserIters, warmup) })
    } catch (err) {
      parsing.push({ parser: p.name, note: p.note, status: 'FAILED', reason: err.message })
    }
  }
  if (wemp.mod && typeof wemp.mod.parseXml === 'function') {
    const fn = () => wemp.mod.parseXml(xml)
    try {
      if (!fn()) throw new Error('parseXml returned nothing')
      parsing.push({
        parser: 'wemp parseXml',
        note: 'parseXml(xml) from dist/index.js',
        status: 'ok',
        ...timeSync(fn, parserIters, warmup),
      })
    } catch (err) {
      parsing.push({ parser: 'wemp parseXml', status: 'FAILED', reason: err.message })
    }
  } else {
    parsing.push({
      parser: 'wemp parseXml',
      status: 'skipped',
      reason: wemp.mod ? 'dist/index.js does not export parseXml' : wempNote,
    })
  }
  const result = {
    settings: { iterations, warmup, batches: BATCHES },
    messages,
    parsing,
    xmlBytes: Buffer.byteLength(xml),
  }
  log(formatInprocess(result))
  return result
}

export function formatInprocess({ messages, parsing, xmlBytes }) {
  const out = []
  const us = (name, mode) =>
    messages.find((m) => m.contender === name && m.mode === mode && m.status === 'ok')?.usPerOp
  out.push(
    table(
      ['contender', 'mode', 'µs/message', 'messages/s', 'vs bare'],
      messages.map((m) =>
        m.status === 'ok'
          ? [
              m.contender,
              m.mode,
              fmt(m.usPerOp, 2),
              fmt(1e6 / m.usPerOp),
              ratio(m.usPerOp, us('bare', m.mode)),
            ]
          : [m.contender, m.mode, m.status.toUpperCase(), '', ''],
      ),
    ),
  )
  out.push('  vs bare = µs/message ÷ bare µs/message (lower is better; 2.00× = twice the CPU per message).')
  for (const m of messages)
    if (m.status !== 'ok') out.push(`  ${m.contender} ${m.mode}: ${summarize(m.reason)}`)
  const fx = parsing.find((p) => p.parser === 'fast-xml-parser' && p.status === 'ok')?.usPerOp
  out.push(`\n  XML parse only (the ${xmlBytes}-byte plaintext text message):`)
  out.push(
    table(
      ['parser', 'µs/parse', 'vs fast-xml-parser'],
      parsing.map((p) =>
        p.status === 'ok'
          ? [p.parser, fmt(p.usPerOp, 2), ratio(p.usPerOp, fx)]
          : [p.parser, p.status.toUpperCase(), ''],
      ),
    ),
  )
  for (const p of parsing) if (p.status !== 'ok') out.push(`  ${p.parser}: ${summarize(p.reason)}`)
  return out.join('\n')
}

if (isMain(import.meta.url)) {
  await runInprocess()
}
