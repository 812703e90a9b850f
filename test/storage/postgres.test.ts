/**
 * The PostgreSQL store: the contract suite, plus what only SQL has (the table created on first
 * use by instances racing, the exact JSON text, the sweep, connection failures, a caller's pool).
 * Needs WEMP_TEST_POSTGRES_URL (CI sets it); without it every test here is skipped, saying why.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { createPostgresStore, PostgresStore } from '../../src/storage/postgres/index.js'
import { runStoreContract } from './contract.js'
import { closedPort, isStoreError, proxiedUrl } from './server-helpers.js'

const url = process.env.WEMP_TEST_POSTGRES_URL
const skip = url
  ? false
  : 'WEMP_TEST_POSTGRES_URL is not set: no PostgreSQL to test against (CI sets it, see .ci/run)'
const MODULE = new URL('../../src/storage/postgres/index.ts', import.meta.url).href

const tables: string[] = []
after(async () => {
  if (url && tables.length > 0) {
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    await pool.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`).finally(() => pool.end())
  }
})

/** A table name of this run (dropped at the end). */
function tableName(): string {
  const name = `wemp_test_${randomBytes(4).toString('hex')}`
  tables.push(name)
  return name
}

/** A store whose connections go through a TCP proxy to the test server. */
async function throughProxy(prefix: string, options: { timeout?: number; connectTimeout?: number } = {}) {
  const { url: proxied, proxy } = await proxiedUrl(url!, 5432)
  return { store: createPostgresStore({ url: proxied, prefix, ...options }), proxy }
}

if (url) {
  runStoreContract('postgres', {
    open: async (prefix) => createPostgresStore({ url, prefix }),
    outage: async (prefix) => {
      const { store, proxy } = await throughProxy(prefix)
      return { store, cut: () => proxy.cut('refuse') }
    },
    ttlSlackMs: 100,
    writers: 16,
  })
} else {
  test('postgres store: contract', { skip }, () => {})
}

describe('postgres store: backend', { skip }, () => {
  const prefix = () => `wp${randomBytes(4).toString('hex')}:`
  let raw: pg.Pool
  const query = async (text: string, values: unknown[] = []) => {
    raw ??= new pg.Pool({ connectionString: url, max: 2 })
    return raw.query(text, values)
  }
  after(() => raw?.end())

  test('the table is created on first use by 8 instances at once, 3 times over', async () => {
    for (let round = 0; round < 3; round++) {
      const table = tableName()
      const stores = Array.from({ length: 8 }, (_, i) =>
        createPostgresStore({ url: url!, table, prefix: `i${i}:` }),
      )
      try {
        const versions = await Promise.all(stores.map((store, i) => store.add('first', i)))
        assert.ok(versions.every((v) => typeof v === 'string'))
        const { rows } = await query(`SELECT count(*)::int AS n FROM ${table}`)
        assert.equal(rows[0].n, 8)
      } finally {
        await Promise.all(stores.map((store) => store.close()))
      }
    }
  })

  test('the columns, and the value kept as the exact JSON text', async () => {
    const table = tableName()
    const p = prefix()
    const store = createPostgresStore({ url: url!, table, prefix: p })
    try {
      const value = { z: 1, a: 'nul\u0000', n: 1.5e300, dup: [1, 1] }
      const version = await store.set('exact', value, { ttl: 60_000 })
      const { rows: columns } = await query(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
        [table],
      )
      assert.deepEqual(
        columns.map((c) => `${c.column_name} ${c.data_type}`),
        ['key text', 'value text', 'version bigint', 'expires_at timestamp with time zone'],
      )
      const { rows } = await query(
        `SELECT key, value, version::text AS version, expires_at > now() + interval '59 s' AS later FROM ${table}`,
      )
      assert.deepEqual(rows, [{ key: `${p}exact`, value: JSON.stringify(value), version, later: true }])
    } finally {
      await store.close()
    }
  })

  test('sweep() deletes expired rows only; the periodic sweep does it on its own', async () => {
    const table = tableName()
    const store = createPostgresStore({ url: url!, table, prefix: prefix(), sweepInterval: 0 })
    const auto = createPostgresStore({ url: url!, table, prefix: prefix(), sweepInterval: 100 })
    try {
      await store.set('gone-1', 1, { ttl: 1 })
      await store.set('gone-2', 2, { ttl: 1 })
      await store.set('kept-permanent', 3)
      await store.set('kept-later', 4, { ttl: 60_000 })
      await sleep(20)
      assert.equal(
        (await query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n,
        4,
        'rows before the sweep',
      )
      assert.equal(await store.sweep(), 2)
      assert.equal((await query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 2)
      assert.equal(await store.sweep(), 0)
      await auto.set('gone-3', 5, { ttl: 1 })
      const deadline = Date.now() + 3000
      while (
        (await query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n > 2 &&
        Date.now() < deadline
      ) {
        await sleep(50)
      }
      assert.equal(
        (await query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n,
        2,
        'the periodic sweep',
      )
    } finally {
      await Promise.all([store.close(), auto.close()])
    }
  })

  test('add takes over an expired row that the sweep has not removed yet', async () => {
    const table = tableName()
    const p = prefix()
    const store = createPostgresStore({ url: url!, table, prefix: p, sweepInterval: 0 })
    try {
      const old = await store.set('lock', 'old', { ttl: 1 })
      await sleep(10)
      assert.equal((await query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 1)
      const fresh = await store.add('lock', 'new')
      assert.ok(fresh && fresh !== old)
      assert.deepEqual(await store.get('lock'), { value: 'new', version: fresh })
      assert.equal((await query(`SELECT expires_at FROM ${table}`)).rows[0].expires_at, null)
    } finally {
      await store.close()
    }
  })

  test('createTable: false on a missing table fails with store_unavailable', async () => {
    const store = createPostgresStore({ url: url!, table: tableName(), createTable: false })
    try {
      await assert.rejects(store.get('k'), isStoreError('store_unavailable'))
    } finally {
      await store.close()
    }
  })

  test('a pool passed in is used and not ended by close(); a closed store rejects', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 })
    const store = createPostgresStore({ pool, table: tableName(), prefix: prefix() })
    try {
      const version = await store.set('k', 1)
      assert.deepEqual(await store.get('k'), { value: 1, version })
      await store.close()
      await assert.rejects(store.get('k'), isStoreError('store_unavailable'), 'a closed store')
      await store.close()
      assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1)
    } finally {
      await pool.end()
    }
  })

  test('an unreachable server (closed port) rejects with store_unavailable at once, every time', async () => {
    const store = createPostgresStore({ url: `postgres://postgres@127.0.0.1:${await closedPort()}/test` })
    try {
      for (let i = 0; i < 3; i++) {
        const started = Date.now()
        await assert.rejects(store.get('x'), isStoreError('store_unavailable'))
        await assert.rejects(store.compareAndSet('x', '1', 1), isStoreError('store_unavailable'))
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

  test('options: exactly one of url and pool; a valid table name', () => {
    assert.throws(() => createPostgresStore({}), isStoreError('store_misconfigured'))
    for (const table of ['a-b', 'x;drop', '"t"', 'a.b.c', '']) {
      assert.throws(
        () => createPostgresStore({ url: url!, table }),
        isStoreError('store_misconfigured'),
        table,
      )
    }
    assert.equal(new PostgresStore({ url: url!, table: 'public.t' }).table, '"public"."t"')
  })
})

test('postgres store: importing the module loads no driver; without pg the first use fails with store_misconfigured', () => {
  // A child process in which `pg` cannot be resolved: the module must still import.
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === 'pg' || specifier.startsWith('pg/')) {
      throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' })
    }
    return next(specifier, context)
  }`
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})`
  const code = `const m = await import(${JSON.stringify(MODULE)}); console.log('imported')
    try { await m.createPostgresStore({ url: 'postgres://127.0.0.1:1/x' }).get('x'); console.log('no error') }
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
