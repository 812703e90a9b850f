// In-process cost per message, no HTTP: the `bare` bot's handler vs wemp's bot.handle(), plaintext and safe,
// plus XML parsing alone: fast-xml-parser and xml2js (what node-webot uses) vs wemp's parseXml.
// Every call handles a message of its own (a distinct MsgId, from a pool built before timing, the same
// pool for every contender): wemp answers a repeated MsgId from its retry cache, which is not the
// path a real message takes. What de-duplication itself costs is bench/delivery.js.
// Usage: node bench/inprocess.js   (env: BENCH_ITERATIONS, BENCH_WARMUP_ITERATIONS, BENCH_MODES, BENCH_QUICK)
import { createRequire } from 'node:module'
import { XMLParser } from 'fast-xml-parser'
import { createBareBot } from './lib/bare-bot.js'
import { fmt, isMain, ratio, summarize, table } from './lib/format.js'
import { msgIdAt, requestPool } from './lib/pool.js'
import {
  BENCH_CONFIG,
  buildTextRequest,
  checkReply,
  FIXTURE,
  nowSeconds,
  textMessageXml,
} from './lib/requests.js'
import { settings } from './lib/settings.js'
import { BATCHES, timeCalls, timeSync } from './lib/timing.js'

const require = createRequire(import.meta.url)

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
  const poolSize = warmup + iterations + 1
  log(
    `\n## In-process cost per message (no HTTP; ${iterations} timed after ${warmup} warm-up, median of ${BATCHES} batches; ${poolSize} distinct MsgIds per mode)`,
  )
  const cfg = BENCH_CONFIG
  const wemp = await loadWemp()
  const bare = createBareBot(cfg)
  let wempNote = wemp.error ?? null
  let wempHandlerRuns = 0
  /** A fresh wemp bot for each mode, so each mode starts with an empty store. */
  const newWempBot = () => {
    if (!wemp.mod) return null
    try {
      const bot = wemp.mod.createBot({ ...cfg })
      bot.text((ctx) => {
        wempHandlerRuns++
        return `echo: ${ctx.message.content}`
      })
      return bot
    } catch (err) {
      wempNote = `createBot/text failed: ${summarize(err.message)}`
      return null
    }
  }

  const messages = []
  for (const [m, mode] of settings.modes.entries()) {
    const wempBot = newWempBot()
    const handlers = [
      { name: 'bare', handle: (req) => bare.handle(req) },
      ...(wempBot
        ? [{ name: 'wemp', handle: (req) => wempBot.handle(req), runs: () => wempHandlerRuns }]
        : []),
    ]
    // built before any timing; every contender handles the same messages, each once (and the
    // modes use different MsgIds)
    const timestamp = nowSeconds()
    const pool = requestPool(mode, cfg, poolSize, { timestamp, start: m * poolSize })
    const one = buildTextRequest(mode, cfg, { msgId: msgIdAt(1 + m), timestamp }) // not in any pool
    const expect = { mode, expect: one.expect }
    for (const h of handlers) {
      let row = { contender: h.name, mode }
      try {
        const check = checkReply(one, await h.handle(one), cfg)
        if (!check.ok) throw new Error(`wrong reply: ${check.errors.join('; ')}`)
        const first = checkReply(expect, await h.handle(pool[0]), cfg)
        if (!first.ok) throw new Error(`wrong reply to a pooled request: ${first.errors.join('; ')}`)
        const runs0 = h.runs?.()
        // pool[0] was just answered: the timed calls start at pool[1]
        const t = await timeCalls((i) => h.handle(pool[i + 1]), iterations, Math.max(0, warmup - 1))
        if (t.non200) throw new Error(`${t.non200} of ${t.calls} pooled requests were not answered 200`)
        if (h.runs && h.runs() - runs0 !== t.calls)
          throw new Error(`the handler ran ${h.runs() - runs0} times for ${t.calls} distinct messages`)
        row = { ...row, status: 'ok', ...t, distinctMsgIds: t.calls + 1, quirks: check.quirks }
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
    settings: { iterations, warmup, batches: BATCHES, distinctMsgIdsPerMode: poolSize },
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
  out.push(
    '  Every call is a new message (its own MsgId): wemp runs its handler and records the push for retries (its defaults: de-duplication on, memory store).',
  )
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
