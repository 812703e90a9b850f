import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { MemoryStore } from './memory/index.js'
import { openStore } from './open.js'
import { StoreError } from './store.js'

const dir = mkdtempSync(path.join(tmpdir(), 'wemp-open-'))
after(() => rmSync(dir, { recursive: true, force: true }))

async function roundTrip(url: string, allowEphemeral = false) {
  const store = await openStore(url, { prefix: 'opentest:', allowEphemeral })
  try {
    await store.set('k', { n: 1 })
    assert.deepEqual((await store.get('k'))?.value, { n: 1 })
    return store.name
  } finally {
    await store.close()
  }
}

describe('openStore(url)', () => {
  test('memory, by name or by default', async () => {
    assert.ok((await openStore(undefined)) instanceof MemoryStore)
    assert.ok((await openStore(' memory ')) instanceof MemoryStore)
  })

  test('sqlite:<file> and file:<directory>', async () => {
    assert.equal(await roundTrip(`sqlite:${path.join(dir, 'bot.sqlite')}`), 'sqlite')
    assert.equal(await roundTrip(`file:${path.join(dir, 'files')}`, true), 'file')
  })

  test('file: in a temporary directory is refused unless allowEphemeral', async () => {
    await assert.rejects(openStore(`file:${path.join(dir, 'refused')}`), (error: unknown) => {
      assert.ok(error instanceof StoreError)
      assert.equal(error.code, 'store_misconfigured')
      assert.match(error.message, /temporary directory/)
      return true
    })
  })

  for (const [name, variable] of [
    ['redis', 'WEMP_TEST_REDIS_URL'],
    ['postgres', 'WEMP_TEST_POSTGRES_URL'],
    ['mysql', 'WEMP_TEST_MYSQL_URL'],
  ] as const) {
    const url = process.env[variable]
    test(`${name}:// URLs`, { skip: url ? false : `${variable} is not set` }, async () => {
      assert.equal(await roundTrip(url as string), name)
    })
  }

  test('anything else is a clear error, without the password', async () => {
    for (const url of ['mongodb://user:hunter2@db:27017/x', 'sqlite:', 's3://bucket']) {
      await assert.rejects(openStore(url), (error: unknown) => {
        assert.ok(error instanceof StoreError)
        assert.equal(error.code, 'store_misconfigured')
        assert.match(error.message, /use memory, redis:\/\/…/)
        assert.doesNotMatch(error.message, /hunter2/)
        return true
      })
    }
  })
})
