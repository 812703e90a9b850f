import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Bot, type BotOptions, createBot } from '../bot/bot.js'
import type { Logger } from '../bot/logger.js'
import { MemorySpace, MemoryStore } from '../storage/memory/index.js'
import type { Store } from '../storage/store.js'
import { createTestKit, type SignedRequest } from '../testing/index.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { dedupeKey } from './delivery.js'
import { LocalRecords } from './local-records.js'

const secrets = {
  token: 'deliverytoken',
  appId: 'wx0123456789abcdef',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
}
const appSecret = 'delivery-secret'
const kit = createTestKit(secrets)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function recordingLogger() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = []
  const log =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields })
    }
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
  return { logger, lines }
}

let wechat: WechatApiStandIn
before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [secrets.appId]: appSecret } })
})
after(() => wechat.close())

/** A bot whose `slow <ms>` handler takes that long, counting runs. */
function slowBot(options: Partial<BotOptions> = {}) {
  const runs: string[] = []
  const { logger, lines } = recordingLogger()
  const bot = createBot({
    ...secrets,
    logger,
    store: new MemoryStore(),
    ...options,
  })
  bot.text(/^slow (\d+)$/, async (ctx) => {
    runs.push(ctx.message.content)
    await sleep(Number(ctx.match[1]))
    return `done after ${ctx.match[1]} ms`
  })
  bot.text('boom', (ctx) => {
    runs.push(ctx.message.content)
    throw new Error('handler exploded')
  })
  bot.text((ctx) => {
    runs.push(ctx.message.content)
    return `echo: ${ctx.message.content}`
  })
  bot.click((ctx) => {
    runs.push(`click ${ctx.message.eventKey}`)
    return `clicked ${ctx.message.eventKey}`
  })
  return { bot, runs, lines }
}

const withApi = (): Partial<BotOptions> => ({ appSecret, api: { baseUrl: wechat.url } })

async function deliver(bot: Bot, request: SignedRequest) {
  const started = Date.now()
  const response = await bot.handle(request)
  return { ...kit.open(response, request), took: Date.now() - started }
}

function sentTo(openid: string) {
  return wechat.sent.filter((m) => m.touser === openid)
}

async function waitFor(check: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await sleep(10)
  }
}

describe('retry de-duplication', () => {
  test('a retry after the reply gets the same reply; the handler ran once', async () => {
    const { bot, runs } = slowBot()
    const request = kit.request(kit.text('hello'), { mode: 'safe' })
    const first = await deliver(bot, request)
    const retry = await deliver(bot, kit.request(request.plainBody, { mode: 'safe' }))
    assert.deepEqual(first.reply, { type: 'text', content: 'echo: hello' })
    assert.deepEqual(retry.reply, { type: 'text', content: 'echo: hello' })
    assert.equal(retry.encrypted, true)
    assert.deepEqual(runs, ['hello'])
  })

  test('different messages and different followers are not confused', async () => {
    const { bot, runs } = slowBot()
    const a = kit.text('same text')
    const b = kit.text('same text')
    const c = { ...a, fromUserName: 'oAnotherFollower000000000' }
    for (const message of [a, b, c]) await deliver(bot, kit.request(message))
    assert.equal(runs.length, 3)
  })

  test('events are keyed by follower, CreateTime, Event and EventKey', async () => {
    const { bot, runs } = slowBot()
    const createTime = kit.seconds()
    const click = (key: string) => ({ ...kit.click(key), createTime })
    await deliver(bot, kit.request(click('A')))
    await deliver(bot, kit.request(click('A')))
    await deliver(bot, kit.request(click('B')))
    await deliver(bot, kit.request({ ...kit.click('A'), createTime: createTime + 1 }))
    assert.deepEqual(runs, ['click A', 'click B', 'click A'])
    const key = dedupeKey('acct', {
      ...kit.click('菜单 key/with spaces'),
      type: 'event',
      event: 'CLICK',
      raw: {},
    } as never)
    assert.match(key ?? '', /^dedupe:acct:[A-Za-z0-9:_\-.@]+$/)
  })

  test('a handler that throws runs once; retries get the onError reply', async () => {
    const { bot, runs } = slowBot({ onError: () => 'something went wrong' })
    const request = kit.request(kit.text('boom'))
    const first = await deliver(bot, request)
    const retry = await deliver(bot, request)
    assert.deepEqual(first.reply, { type: 'text', content: 'something went wrong' })
    assert.deepEqual(retry.reply, first.reply)
    assert.deepEqual(runs, ['boom'])
  })

  test('delivery: false runs every delivery', async () => {
    const { bot, runs } = slowBot({ delivery: false })
    const request = kit.request(kit.text('again'))
    await deliver(bot, request)
    await deliver(bot, request)
    assert.deepEqual(runs, ['again', 'again'])
  })

  test('a store that is down: every delivery is handled, with a warning, never a crash', async () => {
    // A store that is down (a closed store behind a plain Store object, as Redis or a database would be).
    const closed = new MemoryStore()
    await closed.close()
    const store: Store = {
      name: 'down',
      get: (key) => closed.get(key),
      set: (key, value, options) => closed.set(key, value, options),
      add: (key, value, options) => closed.add(key, value, options),
      compareAndSet: (key, version, value, options) => closed.compareAndSet(key, version, value, options),
      delete: (key, options) => closed.delete(key, options),
      close: () => closed.close(),
    }
    const { bot, runs, lines } = slowBot({ store })
    const request = kit.request(kit.text('no store'))
    const first = await deliver(bot, request)
    const retry = await deliver(bot, request)
    assert.deepEqual(first.reply, { type: 'text', content: 'echo: no store' })
    assert.deepEqual(retry.reply, first.reply)
    assert.equal(runs.length, 2)
    assert.ok(lines.some((l) => l.level === 'warn' && /de-duplication is unavailable/.test(l.message)))
  })
})

describe('the deadline', () => {
  test('a handler that finishes in time answers passively', async () => {
    const { bot } = slowBot({ ...withApi(), delivery: { deadline: 300 } })
    const response = await deliver(bot, kit.request(kit.text('slow 50')))
    assert.deepEqual(response.reply, { type: 'text', content: 'done after 50 ms' })
  })

  test('long-lived server: success at the deadline, then the reply through the customer-service API', async () => {
    const openid = 'oLateReplyProcess000000001'
    wechat.openWindow(secrets.appId, openid)
    const { bot, runs } = slowBot({ ...withApi(), delivery: { deadline: 200 } })
    const request = kit.request({ ...kit.text('slow 500'), fromUserName: openid }, { mode: 'safe' })
    const response = await deliver(bot, request)
    assert.deepEqual(response.reply, { type: 'success' })
    assert.ok(response.took >= 190 && response.took < 450, `answered after ${response.took} ms`)
    assert.equal(sentTo(openid).length, 0)
    await waitFor(() => sentTo(openid).length === 1)
    assert.deepEqual(sentTo(openid)[0]?.text, { content: 'done after 500 ms' })
    // WeChat got its answer, but a stray retry must not run the handler again or send twice.
    const retry = await deliver(bot, request)
    assert.deepEqual(retry.reply, { type: 'success' })
    await sleep(50)
    assert.equal(sentTo(openid).length, 1)
    assert.deepEqual(runs, ['slow 500'])
  })

  test('waitUntil runtimes register the late work', async () => {
    const openid = 'oLateReplyWaitUntil0000001'
    wechat.openWindow(secrets.appId, openid)
    const { bot } = slowBot({ ...withApi(), delivery: { deadline: 100 } })
    const registered: Promise<unknown>[] = []
    const request = {
      ...kit.request({ ...kit.text('slow 300'), fromUserName: openid }),
      lifetime: (p: Promise<unknown>) => void registered.push(p),
    }
    const response = await deliver(bot, request)
    assert.deepEqual(response.reply, { type: 'success' })
    assert.equal(registered.length, 1)
    await registered[0]
    assert.deepEqual(sentTo(openid)[0]?.text, { content: 'done after 300 ms' })
  })

  test('cloud function: the invocation stays open; a waiting retry answers with the late reply, no customer-service message', async () => {
    const openid = 'oLateReplyInvocation000001'
    wechat.openWindow(secrets.appId, openid)
    const { bot, runs } = slowBot({ ...withApi(), delivery: { deadline: 300, pollInterval: 20 } })
    const message = { ...kit.text('slow 400'), fromUserName: openid }
    const request = { ...kit.request(message), lifetime: 'invocation' as const }
    const started = Date.now()
    const first = deliver(bot, request)
    await sleep(150) // WeChat's retry (really at 5 s) arrives while the first is running
    const retry = await deliver(bot, { ...kit.request(request.plainBody), lifetime: 'invocation' })
    assert.deepEqual(retry.reply, { type: 'text', content: 'done after 400 ms' })
    const firstResponse = await first
    assert.deepEqual(firstResponse.reply, { type: 'success' })
    assert.ok(Date.now() - started >= 400)
    await sleep(50)
    assert.equal(sentTo(openid).length, 0)
    assert.deepEqual(runs, ['slow 400'])
  })

  test('cloud function: when no retry is waiting any more, the late reply goes through the customer-service API', async () => {
    const openid = 'oLateReplyInvocation000002'
    wechat.openWindow(secrets.appId, openid)
    const { bot, runs } = slowBot({ ...withApi(), delivery: { deadline: 200, pollInterval: 20 } })
    const request = {
      ...kit.request({ ...kit.text('slow 700'), fromUserName: openid }),
      lifetime: 'invocation' as const,
    }
    const first = deliver(bot, request)
    await sleep(100)
    const retry = await deliver(bot, request)
    assert.deepEqual(retry.reply, { type: 'success' })
    assert.ok(retry.took >= 150 && retry.took < 400, `the retry waited ${retry.took} ms`)
    const firstResponse = await first
    assert.deepEqual(firstResponse.reply, { type: 'success' })
    assert.ok(firstResponse.took >= 700, 'the invocation stayed open until the late reply was sent')
    assert.equal(sentTo(openid).length, 1)
    assert.deepEqual(sentTo(openid)[0]?.text, { content: 'done after 700 ms' })
    assert.deepEqual(runs, ['slow 700'])
  })

  test('without an AppSecret a long-lived server holds the answer so that a retry can carry the late reply', async () => {
    const { bot, runs } = slowBot({ delivery: { deadline: 200, pollInterval: 20 } })
    const request = kit.request(kit.text('slow 240'))
    const first = deliver(bot, request)
    await sleep(100)
    const retry = await deliver(bot, request)
    assert.deepEqual(retry.reply, { type: 'text', content: 'done after 240 ms' })
    assert.deepEqual((await first).reply, { type: 'success' })
    assert.deepEqual(runs, ['slow 240'])
  })

  test('without an AppSecret and no retry to carry it, a late reply is dropped with an error logged', async () => {
    const { bot, lines } = slowBot({ delivery: { deadline: 100 } })
    const response = await deliver(bot, kit.request(kit.text('slow 250')))
    assert.deepEqual(response.reply, { type: 'success' })
    const dropped = lines.find((l) => l.level === 'error' && /late reply was dropped/.test(l.message))
    assert.ok(dropped, 'the drop is logged')
  })

  test('a late reply the customer-service API refuses (window closed, 45015) is logged with the errcode', async () => {
    const openid = 'oLateReplyNoWindow00000001'
    const { bot, lines } = slowBot({ ...withApi(), delivery: { deadline: 100 } })
    const response = await deliver(bot, kit.request({ ...kit.text('slow 200'), fromUserName: openid }))
    assert.deepEqual(response.reply, { type: 'success' })
    await waitFor(() => lines.some((l) => l.level === 'error'))
    const failed = lines.find((l) => l.level === 'error')
    assert.equal(failed?.fields?.errcode, 45015)
  })
})

describe('adapters tell the core what the runtime allows', () => {
  test('SCF, Lambda and FC: the invocation returns only after the late reply was sent', async () => {
    const { scf } = await import('../adapters/tencent-scf/index.js')
    const { lambda } = await import('../adapters/aws-lambda/index.js')
    const { fc } = await import('../adapters/aliyun-fc/index.js')
    const events = await import('../../test/adapters/events.js')
    const cases = [
      ['scf', (bot: Bot) => scf(bot), events.scfApiGatewayEvent],
      ['lambda', (bot: Bot) => lambda(bot), events.lambdaHttpApiEvent],
      ['fc', (bot: Bot) => fc(bot), events.fcHttpEvent],
    ] as const
    for (const [name, adapt, toEvent] of cases) {
      const openid = `oLateReplyAdapter${name.padEnd(9, '0')}`
      wechat.openWindow(secrets.appId, openid)
      const { bot } = slowBot({ ...withApi(), delivery: { deadline: 100 } })
      const request = kit.request({ ...kit.text('slow 300'), fromUserName: openid })
      const handler = adapt(bot) as (event: unknown, context?: unknown) => Promise<unknown>
      const started = Date.now()
      await handler(toEvent(request), {})
      assert.ok(Date.now() - started >= 300, `${name} returned after ${Date.now() - started} ms`)
      assert.deepEqual(sentTo(openid)[0]?.text, { content: 'done after 300 ms' }, name)
    }
  })

  test('fetch runtimes: the late reply is registered with waitUntil (Workers ctx)', async () => {
    const { worker } = await import('../adapters/web/index.js')
    const openid = 'oLateReplyWorker0000000001'
    wechat.openWindow(secrets.appId, openid)
    const { bot } = slowBot({ ...withApi(), delivery: { deadline: 100 } })
    const request = kit.request({ ...kit.text('slow 300'), fromUserName: openid })
    const work: Promise<unknown>[] = []
    const response = await worker(bot).fetch(
      new Request(`http://worker.example/${request.search}`, { method: 'POST', body: request.body }),
      {},
      { waitUntil: (p) => void work.push(p) },
    )
    assert.equal(await response.text(), 'success')
    assert.equal(work.length, 1)
    await work[0]
    assert.deepEqual(sentTo(openid)[0]?.text, { content: 'done after 300 ms' })
  })
})

test('a cloud function on the in-memory store is warned once that retries may reach another instance', async () => {
  const { bot, lines } = slowBot()
  for (const content of ['a', 'b']) {
    await deliver(bot, { ...kit.request(kit.text(content)), lifetime: 'invocation' })
  }
  assert.equal(
    lines.filter((l) => l.level === 'warn' && /keeps its state in memory/.test(l.message)).length,
    1,
  )
})

describe("local records (the in-memory store's de-duplication table)", () => {
  test('add, compare-and-set, and two generations: a record lives between ttl and 2 × ttl', () => {
    let now = 0
    const records = new LocalRecords(1000, 100, () => now)
    const v1 = records.addSync('a', { s: 'running' })
    assert.ok(v1)
    assert.equal(records.addSync('a', { s: 'running' }), undefined)
    assert.equal(records.compareAndSetSync('a', 'stale', { s: 'done' }), undefined)
    const v2 = records.compareAndSetSync('a', v1 as string, { s: 'done' })
    assert.ok(v2 && v2 !== v1)
    now = 1500 // rotated once: 'a' is in the previous generation, still found
    assert.deepEqual(records.getSync('a')?.value, { s: 'done' })
    assert.ok(
      records.compareAndSetSync('a', v2 as string, { s: 'late' }),
      'moves it to the current generation',
    )
    now = 2600 // rotated again: 'a' was rewritten at 1500, so it survives
    assert.deepEqual(records.getSync('a')?.value, { s: 'late' })
    now = 5000 // two periods without a rotation: everything is gone
    assert.equal(records.getSync('a'), undefined)
    assert.ok(records.addSync('a', { s: 'running' }))
  })

  test('bounded: a full generation rotates early', () => {
    const records = new LocalRecords(60_000, 10)
    for (let i = 0; i < 35; i++) records.addSync(`k${i}`, i)
    assert.ok(records.size <= 20, `${records.size} records kept`)
    assert.ok(records.getSync('k34'))
    assert.equal(records.getSync('k0'), undefined)
  })

  test('a bot on the memory store keeps its records in the local table, not in the store', async () => {
    const space = new MemorySpace()
    const { bot, runs } = slowBot({ store: new MemoryStore({ space }) })
    const request = kit.request(kit.text('local'))
    await deliver(bot, request)
    await deliver(bot, request)
    assert.deepEqual(runs, ['local'])
    assert.equal(space.size, 0)
  })
})

test('the hand-over race: a late reply finishing around the moment the waiting retry gives up goes out exactly once', async () => {
  const { bot } = slowBot({ ...withApi(), delivery: { deadline: 200, pollInterval: 20 } })
  // The retry arrives 100 ms after the first delivery, so it waits until 300 ms; the handlers
  // finish from 240 to 360 ms, across that moment.
  const cases = Array.from({ length: 21 }, (_, i) => ({
    ms: 240 + i * 6,
    openid: `oHandOverRace${String(i).padStart(13, '0')}`,
  }))
  for (const c of cases) wechat.openWindow(secrets.appId, c.openid)
  const results = await Promise.all(
    cases.map(async (c) => {
      const request = {
        ...kit.request({ ...kit.text(`slow ${c.ms}`), fromUserName: c.openid }),
        lifetime: 'invocation' as const,
      }
      const first = deliver(bot, request)
      await sleep(100)
      const retry = await deliver(bot, { ...kit.request(request.plainBody), lifetime: 'invocation' })
      await first
      return { ...c, passive: retry.reply?.type === 'text' ? 1 : 0 }
    }),
  )
  await sleep(100)
  for (const r of results) {
    const sent = sentTo(r.openid).length
    assert.equal(r.passive + sent, 1, `${r.ms} ms: ${r.passive} passive + ${sent} customer-service replies`)
  }
  // Both ways of delivering were exercised.
  assert.ok(results.some((r) => r.passive === 1))
  assert.ok(results.some((r) => sentTo(r.openid).length === 1))
})
