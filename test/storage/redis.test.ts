/**
 * The Redis store: the contract suite, plus what only Redis has (the string layout, Lua scripts
 * under concurrency, the script cache, connection failures, a caller's own client).
 * Needs WEMP_TEST_REDIS_URL (CI sets it); without it every test here is skipped, saying why.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { Redis } from 'ioredis'
import { createRedisStore, RedisStore } from '../../src/storage/redis/index.js'
import { runStoreContract } from './contract.js'
import { closedPort, isStoreError, proxiedUrl } from './server-helpers.js'

const url = process.env.WEMP_TEST_REDIS_URL
const skip = url
  ? false
  : 'WEMP_TEST_REDIS_URL is not set: no Redis to test against (CI sets it, see .ci/run)'
const MODULE = new URL('../../src/storage/redis/index.ts', import.meta.url).href

/** A store whose connection goes through a TCP proxy to the test server. */
async function throughProxy(prefix: string, options: { timeout?: number; connectTimeout?: number } = {}) {
  const { url: proxied, proxy } = await proxiedUrl(url!, 6379)
  return { store: createRedisStore({ url: proxied, prefix, ...options }), proxy }
}

if (url) {
  runStoreContract('redis', {
    open: async (prefix) => createRedisStore({ url, prefix }),
    outage: async (prefix) => {
      const { store, proxy } = await throughProxy(prefix)
      return { store, cut: () => proxy.cut('refuse') }
    },
    ttlSlackMs: 50,
    writers: 16,
  })
} else {
  test('redis store: contract', { skip }, () => {})
}

describe('redis store: backend', { skip }, () => {
  const prefix = () => `wr${randomBytes(4).toString('hex')}:`

  test('each key is one string `<version>\\n<json>`, with a millisecond expiry only when asked', async () => {
    const p = prefix()
    const store = createRedisStore({ url: url!, prefix: p })
    const raw = new Redis(url!)
    try {
      const version = await store.set('layout', { a: [1, '二'] })
      assert.match(version, /^[0-9a-f]{16}$/)
      assert.equal(await raw.get(`${p}layout`), `${version}\n{"a":[1,"二"]}`)
      assert.equal(await raw.pttl(`${p}layout`), -1)
      await store.set('layout', 1, { ttl: 60_000 })
      const pttl = await raw.pttl(`${p}layout`)
      assert.ok(pttl > 59_000 && pttl <= 60_000, `PTTL ${pttl}`)
      await store.delete('layout')
      assert.equal(await raw.exists(`${p}layout`), 0)
    } finally {
      await store.close()
      raw.disconnect()
    }
  })

  test('16 concurrent compareAndSets from 16 connections: the Lua script lets exactly one win, 20 rounds', async () => {
    const clients = Array.from({ length: 16 }, () => new Redis(url!))
    const p = prefix()
    const stores = clients.map((client) => createRedisStore({ client, prefix: p }))
    try {
      let version = await stores[0]!.set('cas', -1)
      for (let round = 0; round < 20; round++) {
        const results = await Promise.all(stores.map((store, i) => store.compareAndSet('cas', version, i)))
        const winners = results.flatMap((v, i) => (v === undefined ? [] : [{ v, i }]))
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`)
        assert.deepEqual(await stores[5]!.get('cas'), { value: winners[0]!.i, version: winners[0]!.v })
        version = winners[0]!.v
      }
      const deletes = await Promise.all(stores.map((store) => store.delete('cas', { version })))
      assert.equal(deletes.filter(Boolean).length, 1)
    } finally {
      await Promise.all(stores.map((store) => store.close()))
      // A store given a client does not close it.
      assert.ok(clients.every((client) => client.status === 'ready'))
      for (const client of clients) client.disconnect()
    }
  })

  test('scripts still run after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const store = createRedisStore({ url: url!, prefix: prefix() })
    const raw = new Redis(url!)
    try {
      const v1 = await store.set('flush', 1)
      const v2 = await store.compareAndSet('flush', v1, 2)
      assert.ok(v2)
      await raw.script('FLUSH')
      const v3 = await store.compareAndSet('flush', v2, 3)
      assert.ok(v3)
      await raw.script('FLUSH')
      assert.equal(await store.delete('flush', { version: v3 }), true)
    } finally {
      await store.close()
      raw.disconnect()
    }
  })

  test('an unreachable server (closed port) rejects with store_unavailable at once, every time', async () => {
    const store = createRedisStore({ url: `redis://127.0.0.1:${await closedPort()}` })
    try {
      for (let i = 0; i < 3; i++) {
        const started = Date.now()
        await assert.rejects(store.get('x'), isStoreError('store_unavailable'))
        await assert.rejects(store.add('x', 1), isStoreError('store_unavailable'))
        assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`)
      }
    } finally {
      await store.close()
    }
  })

  test('a server that stops answering: store_unavailable after `timeout`, close does not hang', async () => {
    const { store, proxy } = await throughProxy(prefix(), { timeout: 300, connectTimeout: 300 })
    await store.set('k', 1, { ttl: 60_000 })
    await proxy.cut('blackhole')
    const started = Date.now()
    await assert.rejects(store.get('k'), isStoreError('store_unavailable'))
    const took = Date.now() - started
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`)
    const closing = Date.now()
    await store.close()
    assert.ok(Date.now() - closing < 2000)
  })

  test('a closed store rejects; closing twice is fine; an unused store closes without connecting', async () => {
    const store = new RedisStore({ url: url!, prefix: prefix() })
    await store.set('k', 1, { ttl: 60_000 })
    await store.close()
    await store.close()
    await assert.rejects(store.get('k'), isStoreError('store_unavailable'))
    await createRedisStore({ url: `redis://127.0.0.1:${await closedPort()}` }).close()
  })

  test('options: exactly one of url and client', () => {
    assert.throws(() => createRedisStore({}), isStoreError('store_misconfigured'))
    const client = new Redis(url!, { lazyConnect: true })
    assert.throws(() => createRedisStore({ url: url!, client }), isStoreError('store_misconfigured'))
    client.disconnect()
  })
})

test('redis store: importing the module loads no driver; without ioredis the first use fails with store_misconfigured', async () => {
  // A child process in which `ioredis` cannot be resolved: the module must still import.
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === 'ioredis' || specifier.startsWith('ioredis/')) {
      throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' })
    }
    return next(specifier, context)
  }`
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})`
  const code = `const m = await import(${JSON.stringify(MODULE)}); console.log('imported')
    try { await m.createRedisStore({ url: 'redis://127.0.0.1:1' }).get('x'); console.log('no error') }
    catch (e) { console.log(e.code) }`
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      '--input-type=module',
      '--eval',
      code,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  )
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout, 'imported\nstore_misconfigured\n')
})
