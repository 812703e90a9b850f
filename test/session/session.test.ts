import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createBot } from '../../src/bot/bot.js'
import { MemoryStore } from '../../src/storage/memory/index.js'
import type { Entry, Json, Store, WriteOptions } from '../../src/storage/store.js'
import { createTestKit } from '../../src/testing/index.js'

const secrets = {
  token: 'sessiontest',
  appId: 'wxsession00000001',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
}

/** Wraps a store and counts what reaches it. */
/** Records the store calls sessions make (retry de-duplication's own `dedupe:` calls are left out). */
function counting(inner: Store) {
  const all: { op: string; key: string; ttl?: number }[] = []
  const calls = {
    push: (call: { op: string; key: string; ttl?: number }) => {
      if (!call.key.startsWith('dedupe:')) all.push(call)
    },
  }
  const store: Store = {
    name: inner.name,
    get: <T extends Json = Json>(key: string) => {
      calls.push({ op: 'get', key })
      return inner.get<T>(key) as Promise<Entry<T> | undefined>
    },
    set: (key: string, value: Json, options?: WriteOptions) => {
      calls.push({ op: 'set', key, ...(options?.ttl ? { ttl: options.ttl } : {}) })
      return inner.set(key, value, options)
    },
    add: (key: string, value: Json, options?: WriteOptions) => {
      calls.push({ op: 'add', key, ...(options?.ttl ? { ttl: options.ttl } : {}) })
      return inner.add(key, value, options)
    },
    compareAndSet: (key: string, version: string, value: Json, options?: WriteOptions) => {
      calls.push({ op: 'cas', key, ...(options?.ttl ? { ttl: options.ttl } : {}) })
      return inner.compareAndSet(key, version, value, options)
    },
    delete: (key: string, options?: { version?: string }) => {
      calls.push({ op: 'delete', key })
      return inner.delete(key, options)
    },
    close: () => inner.close(),
  }
  return { store, calls: all }
}

function counterBot(store: Store) {
  const bot = createBot({ ...secrets, store, logger: false })
  bot.text('count', async (ctx) => {
    const { count } = await ctx.session.update((s) => {
      s.count = (Number(s.count) || 0) + 1
    })
    return `count ${count}`
  })
  bot.text('peek', async (ctx) => `peek ${(await ctx.session.get()).count ?? 'none'}`)
  bot.text('same', async (ctx) => {
    await ctx.session.update((s) => s)
    return 'same'
  })
  bot.text('clear', async (ctx) => {
    await ctx.session.clear()
    return 'cleared'
  })
  bot.text(() => 'no session')
  return bot
}

describe('sessions (memory store)', () => {
  const kit = createTestKit(secrets)
  const say = async (bot: ReturnType<typeof counterBot>, content: string, openid = kit.openid) =>
    (await kit.send(bot, kit.text(content, { fromUserName: openid }))).reply

  test('loaded lazily: a handler that does not touch the session costs no store call', async () => {
    const { store, calls } = counting(new MemoryStore())
    const bot = counterBot(store)
    assert.deepEqual(await say(bot, 'hello'), { type: 'text', content: 'no session' })
    assert.equal(calls.length, 0)
  })

  test('counts per follower, keyed by AppID and openid, written with the session TTL', async () => {
    const { store, calls } = counting(new MemoryStore())
    const bot = counterBot(store)
    assert.deepEqual(await say(bot, 'count'), { type: 'text', content: 'count 1' })
    assert.deepEqual(await say(bot, 'count'), { type: 'text', content: 'count 2' })
    assert.deepEqual(await say(bot, 'count', 'oAnotherFollower'), { type: 'text', content: 'count 1' })
    assert.deepEqual(await say(bot, 'peek'), { type: 'text', content: 'peek 2' })
    assert.ok(calls.every((c) => c.key.startsWith(`session:${secrets.appId}:`)))
    const writes = calls.filter((c) => c.op !== 'get')
    assert.deepEqual(
      writes.map((c) => c.op),
      ['add', 'cas', 'add'],
    )
    assert.ok(writes.every((c) => c.ttl === 30 * 24 * 3600 * 1000))
  })

  test('saved only if changed', async () => {
    const { store, calls } = counting(new MemoryStore())
    const bot = counterBot(store)
    await say(bot, 'count')
    calls.length = 0
    await say(bot, 'same')
    await say(bot, 'peek')
    assert.deepEqual(
      calls.map((c) => c.op),
      ['get', 'get'],
    )
  })

  test('cleared means deleted for real, and nothing brings it back', async () => {
    const inner = new MemoryStore()
    const bot = counterBot(inner)
    await say(bot, 'count')
    await say(bot, 'count')
    assert.deepEqual(await say(bot, 'clear'), { type: 'text', content: 'cleared' })
    assert.equal(await inner.get(`session:${secrets.appId}:${kit.openid}`), undefined)
    assert.deepEqual(await say(bot, 'peek'), { type: 'text', content: 'peek none' })
    assert.deepEqual(await say(bot, 'count'), { type: 'text', content: 'count 1' })
  })

  test('a configurable TTL: the session expires', async () => {
    const store = new MemoryStore()
    const bot = createBot({ ...secrets, store, logger: false, session: { ttl: 150 } })
    bot.text(async (ctx) => {
      const { n } = await ctx.session.update((s) => {
        s.n = (Number(s.n) || 0) + 1
      })
      return `n ${n}`
    })
    assert.deepEqual(await say(bot as ReturnType<typeof counterBot>, 'x'), { type: 'text', content: 'n 1' })
    await new Promise((resolve) => setTimeout(resolve, 400))
    assert.deepEqual(await say(bot as ReturnType<typeof counterBot>, 'x'), { type: 'text', content: 'n 1' })
  })

  test('the default store is an in-memory store, so a bot needs no configuration', async () => {
    const bot = createBot({ ...secrets, logger: false })
    assert.equal(bot.store.name, 'memory')
    bot.text(async (ctx) => `n ${(await ctx.session.update((s) => ({ ...s, n: (Number(s.n) || 0) + 1 }))).n}`)
    assert.deepEqual((await kit.send(bot, kit.text('x'))).reply, { type: 'text', content: 'n 1' })
  })
})

/** Stores on real servers, when their URLs are set (CI sets them). */
async function sharedStores(): Promise<{ name: string; open: () => Promise<Store>; skip?: string }[]> {
  const prefix = `wemp-session-test-${process.pid}-${Date.now()}:`
  const out: { name: string; open: () => Promise<Store>; skip?: string }[] = []
  const memory = new MemoryStore()
  out.push({ name: 'memory', open: async () => memory })
  const redis = process.env.WEMP_TEST_REDIS_URL
  out.push({
    name: 'redis',
    open: async () =>
      (await import('../../src/storage/redis/index.js')).createRedisStore({ url: redis!, prefix }),
    ...(redis ? {} : { skip: 'WEMP_TEST_REDIS_URL is not set: no Redis to test against' }),
  })
  const postgres = process.env.WEMP_TEST_POSTGRES_URL
  out.push({
    name: 'postgres',
    open: async () =>
      (await import('../../src/storage/postgres/index.js')).createPostgresStore({ url: postgres!, prefix }),
    ...(postgres ? {} : { skip: 'WEMP_TEST_POSTGRES_URL is not set: no PostgreSQL to test against' }),
  })
  return out
}

describe('sessions under concurrency: two instances, one follower, no lost update', async () => {
  const kit = createTestKit(secrets)
  const opened: Store[] = []
  after(async () => {
    for (const store of opened) await store.close()
  })
  for (const target of await sharedStores()) {
    test(
      `${target.name}: 2 instances × 15 concurrent messages from one follower count to 30`,
      target.skip ? { skip: target.skip } : {},
      async () => {
        const a = await target.open()
        const b = await target.open()
        opened.push(a, b)
        const bots = [counterBot(a), counterBot(b)]
        const follower = `oConcurrent${target.name}${Date.now()}`
        const replies = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            kit.send(bots[i % 2]!, kit.text('count', { fromUserName: follower })),
          ),
        )
        const counts = replies.map((r) =>
          r.reply?.type === 'text' ? Number(r.reply.content.split(' ')[1]) : -1,
        )
        // Every message saw a different count: 1..30, none lost, none doubled.
        assert.deepEqual(
          [...counts].sort((x, y) => x - y),
          Array.from({ length: 30 }, (_, i) => i + 1),
        )
        const final = await kit.send(bots[0]!, kit.text('peek', { fromUserName: follower }))
        assert.deepEqual(final.reply, { type: 'text', content: 'peek 30' })
      },
    )
  }
})
