import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createFileStore, type FileStoreOptions } from '../../src/storage/file/index.js'
import { StoreError } from '../../src/storage/store.js'
import { runStoreContract } from './contract.js'
import { raceCounterAcrossProcesses } from './fixtures/cross-process.js'

const root = mkdtempSync(join(tmpdir(), 'wemp-file-store-'))
after(() => rmSync(root, { recursive: true, force: true }))

const shared = join(root, 'contract')
runStoreContract('file', {
  open: async (prefix) => createFileStore({ dir: shared, prefix, allowEphemeral: true }),
})

function isCode(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return true
  }
}

function open(name: string, options: Partial<FileStoreOptions> = {}) {
  return createFileStore({ dir: join(root, name), allowEphemeral: true, sweepInterval: 0, ...options })
}

describe('file store: refusing to start', () => {
  test('in a directory it cannot write', (t) => {
    const readOnly = join(root, 'read-only')
    mkdirSync(readOnly)
    chmodSync(readOnly, 0o555)
    try {
      // Root (uid 0) writes through chmod 0555, so only an actual write shows whether it can.
      let writable = false
      try {
        writeFileSync(join(readOnly, 'probe'), '')
        unlinkSync(join(readOnly, 'probe'))
        writable = true
      } catch {}
      if (writable) {
        t.skip(
          'running as root: chmod 0555 does not stop root from writing, so this refusal cannot be observed here',
        )
      } else {
        assert.throws(
          () => createFileStore({ dir: readOnly, allowEphemeral: true }),
          isCode('store_misconfigured'),
        )
        assert.throws(
          () => createFileStore({ dir: join(readOnly, 'below'), allowEphemeral: true }),
          isCode('store_misconfigured'),
        )
      }
    } finally {
      chmodSync(readOnly, 0o755)
    }
  })

  test('where the directory cannot exist (a file is in the way)', () => {
    const file = join(root, 'a-file')
    writeFileSync(file, '')
    for (const dir of [file, join(file, 'below')]) {
      assert.throws(
        () => createFileStore({ dir, allowEphemeral: true }),
        (error: unknown) =>
          isCode('store_misconfigured')(error) && /not writable/.test((error as Error).message),
      )
    }
  })

  test('under the temporary directory, unless allowEphemeral', () => {
    for (const dir of [join(tmpdir(), `wemp-never-${randomBytes(4).toString('hex')}`), '/tmp/wemp-never/x']) {
      assert.throws(
        () => createFileStore({ dir }),
        (error: unknown) =>
          isCode('store_misconfigured')(error) &&
          /temporary directory.*wemp\/storage\/redis/.test((error as Error).message),
      )
      assert.equal(existsSync(dir), false, 'the refused directory was created')
    }
    const allowed = createFileStore({ dir: join(root, 'allowed'), allowEphemeral: true })
    return allowed.close()
  })

  test('in a cloud function (AWS_LAMBDA_FUNCTION_NAME, SCF_RUNTIME, FC_FUNCTION_NAME …)', () => {
    const dir = join(process.cwd(), `.wemp-never-created-${randomBytes(4).toString('hex')}`)
    const platforms = {
      AWS_LAMBDA_FUNCTION_NAME: /AWS Lambda/,
      SCF_RUNTIME: /Tencent Cloud SCF/,
      TENCENTCLOUD_RUNENV: /Tencent Cloud SCF/,
      FC_FUNCTION_NAME: /Aliyun Function Compute/,
      FC_RUNTIME: /Aliyun Function Compute/,
    }
    for (const [variable, platform] of Object.entries(platforms)) {
      const saved = process.env[variable]
      process.env[variable] = 'wemp-test'
      try {
        assert.throws(
          () => createFileStore({ dir }),
          (error: unknown) =>
            isCode('store_misconfigured')(error) &&
            platform.test((error as Error).message) &&
            (error as Error).message.includes(variable) &&
            /Use a shared store/.test((error as Error).message),
        )
      } finally {
        if (saved === undefined) delete process.env[variable]
        else process.env[variable] = saved
      }
    }
    assert.equal(existsSync(dir), false, 'the refused directory was created')
  })

  test('without a dir, or with bad lock timings', () => {
    assert.throws(() => createFileStore({} as FileStoreOptions), isCode('store_misconfigured'))
    assert.throws(() => open('bad', { lockStaleMs: -1 }), isCode('store_misconfigured'))
    assert.throws(() => open('bad', { lockTimeoutMs: Number.NaN }), isCode('store_misconfigured'))
  })
})

describe('file store: files and locks', () => {
  test('one readable JSON file per key; keys differing in case get different files', async () => {
    const store = open('layout', { prefix: 'bot:' })
    try {
      await store.set('Session:abc', { n: 1 })
      await store.set('session:abc', { n: 2 })
      const names = readdirSync(store.dir).sort()
      assert.deepEqual(names, ['bot+session+abc.json', 'bot+^session+abc.json'].sort())
      const stored = JSON.parse(readFileSync(join(store.dir, 'bot+^session+abc.json'), 'utf8'))
      assert.equal(stored.key, 'bot:Session:abc')
      assert.deepEqual(stored.value, { n: 1 })
      const long = `L${'x'.repeat(199)}`
      await store.set(long, 'long')
      assert.equal((await store.get(long))?.value, 'long')
      assert.ok(readdirSync(store.dir).every((name) => name.length < 130))
    } finally {
      await store.close()
    }
  })

  test('a lock left by a crashed process is broken once stale', async () => {
    const store = open('stale', { prefix: 'p:', lockStaleMs: 500, lockTimeoutMs: 5000 })
    try {
      const version = await store.set('k', 1)
      const lock = join(store.dir, 'p+k.lock')
      // Long dead: broken at once.
      writeFileSync(lock, 'crashed')
      const old = (Date.now() - 60_000) / 1000
      utimesSync(lock, old, old)
      const started = Date.now()
      const next = await store.compareAndSet('k', version, 2)
      assert.ok(next, 'compareAndSet failed after breaking the stale lock')
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`)
      // Fresh when met: waited for, then broken when it turns stale.
      writeFileSync(lock, 'crashed just now')
      const waited = Date.now()
      assert.ok(await store.set('k', 3))
      assert.ok(Date.now() - waited >= 400, 'a fresh lock was broken at once')
      assert.deepEqual(
        readdirSync(store.dir).filter((name) => name !== 'p+k.json'),
        [],
        'lock or stale files were left behind',
      )
    } finally {
      await store.close()
    }
  })

  test('a stale lock is broken by one writer at a time: not while another holds the guard, unless that guard is stale too', async () => {
    const store = open('guard', { prefix: 'p:', lockStaleMs: 500, lockTimeoutMs: 5000 })
    try {
      await store.set('k', 1)
      const lock = join(store.dir, 'p+k.lock')
      const guard = `${lock}.breaking`
      const old = (Date.now() - 60_000) / 1000
      writeFileSync(lock, 'crashed')
      utimesSync(lock, old, old)
      writeFileSync(guard, 'another writer is breaking it')
      let done = false
      const writing = store.set('k', 2).then(() => {
        done = true
      })
      await sleep(250)
      assert.equal(done, false, 'the lock was broken while another writer held the guard')
      assert.ok(existsSync(lock))
      unlinkSync(guard)
      await writing
      assert.equal((await store.get('k'))?.value, 2)
      // A writer that crashed while breaking: its guard turns stale and is cleared too.
      writeFileSync(lock, 'crashed')
      utimesSync(lock, old, old)
      writeFileSync(guard, 'crashed while breaking')
      utimesSync(guard, old, old)
      const started = Date.now()
      await store.set('k', 3)
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`)
      assert.deepEqual(readdirSync(store.dir), ['p+k.json'])
    } finally {
      await store.close()
    }
  })

  test('many writers meeting one stale lock at once: exactly one breaks it, no update is lost (30 rounds)', async () => {
    // The race this guards against: two writers both see the stale lock; one breaks it and a third
    // takes the key's lock; the other, acting on what it saw, must not then break that fresh lock.
    const dir = join(root, 'stale-race')
    const stores = Array.from({ length: 8 }, () =>
      createFileStore({ dir, prefix: 'r:', allowEphemeral: true, sweepInterval: 0 }),
    )
    try {
      for (let round = 0; round < 30; round++) {
        await stores[0]!.set('n', 0)
        const lock = join(dir, 'r+n.lock')
        writeFileSync(lock, 'crashed')
        const old = (Date.now() - 60_000) / 1000
        utimesSync(lock, old, old)
        await Promise.all(
          stores.map(async (store) => {
            for (let i = 0; i < 3; i++) {
              for (;;) {
                const current = await store.get<number>('n')
                if (await store.compareAndSet('n', current!.version, current!.value + 1)) break
              }
            }
          }),
        )
        assert.equal((await stores[0]!.get('n'))?.value, 24, `round ${round}`)
      }
      assert.deepEqual(
        readdirSync(dir).filter((name) => name !== 'r+n.json'),
        [],
        'lock or guard files were left behind',
      )
    } finally {
      await Promise.all(stores.map((store) => store.close()))
    }
  })

  test('waiting for a held lock is bounded: store_unavailable, reads still work', async () => {
    const store = open('held', { prefix: 'p:', lockStaleMs: 60_000, lockTimeoutMs: 300 })
    try {
      await store.set('k', 1)
      const lock = join(store.dir, 'p+k.lock')
      writeFileSync(lock, 'another process')
      await assert.rejects(store.set('k', 2), (error: unknown) => {
        isCode('store_unavailable')(error)
        assert.match((error as Error).message, /p\+k\.lock/)
        return true
      })
      assert.equal((await store.get('k'))?.value, 1)
      unlinkSync(lock)
      assert.ok(await store.set('k', 2))
    } finally {
      await store.close()
    }
  })

  test('sweep() removes expired files of its own prefix only, and old leftovers of crashed writers', async () => {
    const mine = open('sweep', { prefix: 'mine:' })
    const theirs = open('sweep', { prefix: 'theirs:' })
    try {
      await mine.set('short', 1, { ttl: 100 })
      await mine.set('kept', 2)
      await theirs.set('short', 3, { ttl: 100 })
      const old = (Date.now() - 2 * 60 * 60_000) / 1000
      // Left by crashed writers: a temporary file, and the guard of a lock being broken (an hour old);
      // a guard of this minute stays.
      for (const name of ['mine+crashed.0123456789ab.tmp', 'mine+k.lock.breaking']) {
        writeFileSync(join(mine.dir, name), 'left')
        utimesSync(join(mine.dir, name), old, old)
      }
      writeFileSync(join(mine.dir, 'mine+j.lock.breaking'), 'now')
      await sleep(250)
      await mine.sweep()
      assert.deepEqual(readdirSync(mine.dir).sort(), [
        'mine+j.lock.breaking',
        'mine+kept.json',
        'theirs+short.json',
      ])
    } finally {
      await mine.close()
      await theirs.close()
    }
  })

  test('a closed store rejects with store_unavailable', async () => {
    const store = open('closed')
    await store.close()
    await assert.rejects(store.get('k'), isCode('store_unavailable'))
  })
})

describe('file store: across processes', () => {
  test('4 processes × 25 compare-and-set increments of one counter (behind a stale lock) end at exactly 100', {
    timeout: 120_000,
  }, async (t) => {
    const dir = join(root, 'processes')
    const store = createFileStore({ dir, prefix: 'race:', allowEphemeral: true })
    try {
      await store.set('counter', 0)
      // A lock left by a crashed process: all four meet it at once, and exactly one may break it.
      const lock = join(dir, 'race+counter.lock')
      writeFileSync(lock, 'crashed')
      const old = (Date.now() - 60_000) / 1000
      utimesSync(lock, old, old)
      const conflicts = await raceCounterAcrossProcesses(
        { backend: 'file', location: dir, prefix: 'race:', key: 'counter', increments: 25 },
        4,
      )
      assert.equal((await store.get('counter'))?.value, 100)
      t.diagnostic(`${conflicts} compare-and-set conflicts between the processes`)
    } finally {
      await store.close()
    }
  })
})
