import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { createSqliteStore } from '../../src/storage/sqlite/index.js'
import { StoreError } from '../../src/storage/store.js'
import { runStoreContract } from './contract.js'
import { raceCounterAcrossProcesses } from './fixtures/cross-process.js'

const root = mkdtempSync(join(tmpdir(), 'wemp-sqlite-store-'))
after(() => rmSync(root, { recursive: true, force: true }))

const shared = join(root, 'contract.db')
runStoreContract('sqlite', { open: async (prefix) => createSqliteStore({ filename: shared, prefix }) })

function isCode(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return true
  }
}

describe('sqlite store: setup', () => {
  test('creates the table, WAL mode and the directory of the file', async () => {
    const filename = join(root, 'nested', 'dir', 'setup.db')
    const store = createSqliteStore({ filename, table: 'bot_state' })
    try {
      await store.set('k', { a: 1 })
      const db = new Database(filename, { readonly: true })
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
        const columns = db.prepare('SELECT name, type, pk FROM pragma_table_info(?)').all('bot_state')
        assert.deepEqual(columns, [
          { name: 'key', type: 'TEXT', pk: 1 },
          { name: 'value', type: 'TEXT', pk: 0 },
          { name: 'version', type: 'INTEGER', pk: 0 },
          { name: 'expires_at', type: 'INTEGER', pk: 0 },
        ])
        assert.deepEqual(db.prepare("SELECT value, expires_at FROM bot_state WHERE key = 'wemp:k'").get(), {
          value: '{"a":1}',
          expires_at: null,
        })
      } finally {
        db.close()
      }
    } finally {
      await store.close()
    }
  })

  test("':memory:' works for one instance", async () => {
    const store = createSqliteStore({ filename: ':memory:' })
    try {
      const version = await store.add('k', 1)
      assert.ok(version)
      assert.equal((await store.compareAndSet('k', version, 2)) !== undefined, true)
      assert.equal((await store.get('k'))?.value, 2)
    } finally {
      await store.close()
    }
  })

  test('an open database can be given; the store leaves it open', async () => {
    const db = new Database(join(root, 'given.db'))
    const store = createSqliteStore({ database: db, table: 'given' })
    await store.set('k', 'v')
    await store.close()
    assert.equal(db.open, true)
    assert.equal(db.prepare("SELECT value FROM given WHERE key = 'wemp:k'").pluck().get(), '"v"')
    db.close()
  })

  test('refuses bad options with store_misconfigured', () => {
    const misconfigured = isCode('store_misconfigured')
    assert.throws(() => createSqliteStore({}), misconfigured)
    assert.throws(
      () => createSqliteStore({ filename: ':memory:', database: new Database(':memory:') }),
      misconfigured,
    )
    assert.throws(() => createSqliteStore({ filename: ':memory:', table: 'x; DROP TABLE y' }), misconfigured)
    assert.throws(() => createSqliteStore({ filename: ':memory:', busyTimeout: -1 }), misconfigured)
    const file = join(root, 'a-file')
    writeFileSync(file, '')
    assert.throws(() => createSqliteStore({ filename: join(file, 'x.db') }), misconfigured)
    writeFileSync(
      join(root, 'not-a-database.db'),
      'just text, long enough to be read as a broken database header',
    )
    assert.throws(() => createSqliteStore({ filename: join(root, 'not-a-database.db') }), misconfigured)
  })
})

describe('sqlite store: behaviour', () => {
  test('a write waits busyTimeout for another connection, then rejects with store_unavailable; reads go on', async () => {
    const filename = join(root, 'busy.db')
    const store = createSqliteStore({ filename, busyTimeout: 200 })
    const other = new Database(filename)
    try {
      await store.set('k', 1)
      other.exec('BEGIN IMMEDIATE')
      const started = Date.now()
      await assert.rejects(store.set('k', 2), (error: unknown) => {
        isCode('store_unavailable')(error)
        assert.match((error as Error).message, /SQLITE_BUSY/)
        return true
      })
      const waited = Date.now() - started
      assert.ok(waited >= 150 && waited < 5000, `waited ${waited} ms`)
      assert.equal((await store.get('k'))?.value, 1)
      other.exec('ROLLBACK')
      assert.ok(await store.set('k', 2))
    } finally {
      other.close()
      await store.close()
    }
  })

  test('sweep() deletes expired rows and keeps the version sequence', async () => {
    const filename = join(root, 'sweep.db')
    const store = createSqliteStore({ filename, sweepInterval: 0 })
    try {
      for (let i = 0; i < 1500; i++) await store.set(`short-${i}`, i, { ttl: 100 })
      await store.set('kept', true)
      await sleep(200)
      await store.sweep()
      const db = new Database(filename, { readonly: true })
      try {
        assert.deepEqual(db.prepare('SELECT key FROM wemp_store ORDER BY key').pluck().all(), [
          '',
          'wemp:kept',
        ])
      } finally {
        db.close()
      }
      assert.equal((await store.get('kept'))?.value, true)
    } finally {
      await store.close()
    }
  })

  test('a closed store rejects with store_unavailable', async () => {
    const store = createSqliteStore({ filename: ':memory:' })
    await store.close()
    await store.close()
    await assert.rejects(store.get('k'), isCode('store_unavailable'))
  })
})

describe('sqlite store: across processes', () => {
  test('4 processes × 25 compare-and-set increments of one counter end at exactly 100', {
    timeout: 120_000,
  }, async (t) => {
    const filename = join(root, 'processes.db')
    const store = createSqliteStore({ filename, prefix: 'race:' })
    try {
      await store.set('counter', 0)
      const conflicts = await raceCounterAcrossProcesses(
        { backend: 'sqlite', location: filename, prefix: 'race:', key: 'counter', increments: 25 },
        4,
      )
      assert.equal((await store.get('counter'))?.value, 100)
      t.diagnostic(`${conflicts} compare-and-set conflicts between the processes`)
    } finally {
      await store.close()
    }
  })
})
