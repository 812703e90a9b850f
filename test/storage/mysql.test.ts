/**
 * The MySQL / MariaDB store: the contract suite, plus what only this backend has (the table
 * created on first use by instances racing, `add` decided the same with and without
 * CLIENT_FOUND_ROWS, exact keys, the sweep, connection failures, a caller's pool).
 * Needs WEMP_TEST_MYSQL_URL (CI sets it); without it every test here is skipped, saying why.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import mysql, { type RowDataPacket } from 'mysql2/promise'
import { createMysqlStore, MysqlStore } from '../../src/storage/mysql/index.js'
import { runStoreContract } from './contract.js'
import { closedPort, isStoreError, proxiedUrl } from './server-helpers.js'

const url = process.env.WEMP_TEST_MYSQL_URL
const skip = url
  ? false
  : 'WEMP_TEST_MYSQL_URL is not set: no MySQL/MariaDB to test against (CI sets it, see .ci/run)'
const MODULE = new URL('../../src/storage/mysql/index.ts', import.meta.url).href

const tables: string[] = []
after(async () => {
  if (url && tables.length > 0) {
    const connection = await mysql.createConnection(url)
    await connection.query(`DROP TABLE IF EXISTS ${tables.join(', ')}`).finally(() => connection.end())
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
  const { url: proxied, proxy } = await proxiedUrl(url!, 3306)
  return { store: createMysqlStore({ url: proxied, prefix, ...options }), proxy }
}

if (url) {
  runStoreContract('mysql', {
    open: async (prefix) => createMysqlStore({ url, prefix }),
    outage: async (prefix) => {
      const { store, proxy } = await throughProxy(prefix)
      return { store, cut: () => proxy.cut('refuse') }
    },
    ttlSlackMs: 100,
    writers: 16,
  })
} else {
  test('mysql store: contract', { skip }, () => {})
}

describe('mysql store: backend', { skip }, () => {
  const prefix = () => `wm${randomBytes(4).toString('hex')}:`
  let raw: mysql.Pool
  const rows = async (sql: string, values: (string | number)[] = []) => {
    raw ??= mysql.createPool({ uri: url, connectionLimit: 2 })
    const [result] = await raw.query<RowDataPacket[]>(sql, values)
    return result
  }
  const count = async (table: string) => Number((await rows(`SELECT count(*) AS n FROM ${table}`))[0]!.n)
  after(() => raw?.end())

  test('the table is created on first use by 8 instances at once, 3 times over', async () => {
    for (let round = 0; round < 3; round++) {
      const table = tableName()
      const stores = Array.from({ length: 8 }, (_, i) =>
        createMysqlStore({ url: url!, table, prefix: `i${i}:` }),
      )
      try {
        const versions = await Promise.all(stores.map((store, i) => store.add('first', i)))
        assert.ok(versions.every((v) => typeof v === 'string'))
        assert.equal(await count(table), 8)
      } finally {
        await Promise.all(stores.map((store) => store.close()))
      }
    }
  })

  test('the columns: an exact ASCII key, the JSON text as written, a BIGINT version, a UTC expiry', async () => {
    const table = tableName()
    const p = prefix()
    const store = createMysqlStore({ url: url!, table, prefix: p })
    try {
      const value = { z: 1, a: '👋🏽 nul\u0000', dup: [1, 1] }
      const version = await store.set('exact', value, { ttl: 60_000 })
      const columns = await rows(
        `SELECT column_name AS name, column_type AS type, collation_name AS collation FROM information_schema.columns
         WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`,
        [table],
      )
      assert.deepEqual(
        columns.map((c) => `${c.name} ${String(c.type).replace('bigint(20)', 'bigint')} ${c.collation}`),
        [
          'key varchar(255) ascii_bin',
          'value longtext utf8mb4_bin',
          'version bigint null',
          'expires_at datetime(3) null',
        ],
      )
      const [row] = await rows(
        `SELECT \`key\` AS k, \`value\` AS v, CAST(version AS CHAR) AS version,
          expires_at > UTC_TIMESTAMP(3) + INTERVAL 59 SECOND AS later FROM ${table}`,
      )
      assert.deepEqual({ ...row }, { k: `${p}exact`, v: JSON.stringify(value), version, later: 1 })
    } finally {
      await store.close()
    }
  })

  test('add decides the same with and without CLIENT_FOUND_ROWS (affected rows cannot tell)', async () => {
    const table = tableName()
    for (const flags of [[], ['-FOUND_ROWS']]) {
      const pool = mysql.createPool({ uri: url, connectionLimit: 2, flags })
      const store = createMysqlStore({ pool, table, prefix: prefix(), sweepInterval: 0 })
      try {
        const first = await store.add('a', 1)
        assert.ok(first, `insert (${flags})`)
        assert.equal(await store.add('a', 2), undefined, `live row (${flags})`)
        assert.equal(await store.add('a', 2, { ttl: 60_000 }), undefined, `live row, with ttl (${flags})`)
        const expiring = await store.add('b', 1, { ttl: 1 })
        assert.ok(expiring)
        await sleep(10)
        const takeover = await store.add('b', 2)
        assert.ok(takeover && takeover !== expiring, `expired row (${flags})`)
        assert.equal(await store.add('b', 3), undefined, `taken-over row (${flags})`)
        assert.deepEqual(await store.get('b'), { value: 2, version: takeover })
        assert.deepEqual(await store.get('a'), { value: 1, version: first })
      } finally {
        await store.close()
        await pool.end()
      }
    }
  })

  test('sweep() deletes expired rows only; the periodic sweep does it on its own', async () => {
    const table = tableName()
    const store = createMysqlStore({ url: url!, table, prefix: prefix(), sweepInterval: 0 })
    const auto = createMysqlStore({ url: url!, table, prefix: prefix(), sweepInterval: 100 })
    try {
      await store.set('gone-1', 1, { ttl: 1 })
      await store.set('gone-2', 2, { ttl: 1 })
      await store.set('kept-permanent', 3)
      await store.set('kept-later', 4, { ttl: 60_000 })
      await sleep(20)
      assert.equal(await count(table), 4, 'rows before the sweep')
      assert.equal(await store.sweep(), 2)
      assert.equal(await count(table), 2)
      assert.equal(await store.sweep(), 0)
      await auto.set('gone-3', 5, { ttl: 1 })
      const deadline = Date.now() + 3000
      while ((await count(table)) > 2 && Date.now() < deadline) await sleep(50)
      assert.equal(await count(table), 2, 'the periodic sweep')
    } finally {
      await Promise.all([store.close(), auto.close()])
    }
  })

  test('a pool passed in is used and not ended by close(); a closed store rejects', async () => {
    const pool = mysql.createPool({ uri: url, connectionLimit: 2 })
    const store = createMysqlStore({ pool, table: tableName(), prefix: prefix() })
    try {
      const version = await store.set('k', 1)
      assert.deepEqual(await store.get('k'), { value: 1, version })
      await store.close()
      await assert.rejects(store.get('k'), isStoreError('store_unavailable'), 'a closed store')
      await store.close()
      const [result] = await pool.query<RowDataPacket[]>('SELECT 1 AS one')
      assert.equal(result[0]!.one, 1)
    } finally {
      await pool.end()
    }
  })

  test('an unreachable server (closed port) rejects with store_unavailable at once, every time', async () => {
    const store = createMysqlStore({ url: `mysql://root@127.0.0.1:${await closedPort()}/test` })
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
    for (const operation of [() => store.get('k'), () => store.add('new', 1), () => store.get('k')]) {
      const started = Date.now()
      await assert.rejects(operation(), isStoreError('store_unavailable'))
      const took = Date.now() - started
      assert.ok(took >= 250 && took < 2000, `took ${took} ms`)
    }
    const closing = Date.now()
    await store.close()
    assert.ok(Date.now() - closing < 2000)
  })

  test('options: exactly one of url and pool; a valid table name; an ASCII prefix of at most 55', () => {
    assert.throws(() => createMysqlStore({}), isStoreError('store_misconfigured'))
    for (const table of ['a-b', 'x;drop', '`t`', 'a.b.c', '']) {
      assert.throws(() => createMysqlStore({ url: url!, table }), isStoreError('store_misconfigured'), table)
    }
    for (const bad of ['键:', 'a b', 'x'.repeat(56)]) {
      assert.throws(
        () => createMysqlStore({ url: url!, prefix: bad }),
        isStoreError('store_misconfigured'),
        bad,
      )
    }
    assert.equal(new MysqlStore({ url: url!, table: 'test.t' }).table, '`test`.`t`')
  })
})

test('mysql store: importing the module loads no driver; without mysql2 the first use fails with store_misconfigured', () => {
  // A child process in which `mysql2` cannot be resolved: the module must still import.
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === 'mysql2' || specifier.startsWith('mysql2/')) {
      throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' })
    }
    return next(specifier, context)
  }`
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})`
  const code = `const m = await import(${JSON.stringify(MODULE)}); console.log('imported')
    try { await m.createMysqlStore({ url: 'mysql://127.0.0.1:1/x' }).get('x'); console.log('no error') }
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
