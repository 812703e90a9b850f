/**
 * The contract suite of {@link Store}: every backend runs it, so every backend means the same
 * thing by get / set / add / compareAndSet / delete, TTL, prefixes, atomicity and failure.
 *
 * @example
 * // test/storage/redis.test.ts
 * import { runStoreContract } from './contract.js'
 * runStoreContract('redis', { open: async (prefix) => createRedisStore({ url, prefix }) })
 *
 * Every run uses a fresh random prefix (and every test its own prefix under it), so parallel runs
 * on one shared backend never see each other's keys; the keys a test writes are deleted after it.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Json, type Store, StoreError, type StoreErrorCode } from '../../src/storage/store.js'

export interface ContractTarget {
  /** Opens a new store instance on the shared backend (same database/bucket/directory) with this key prefix. Called many times; the suite closes what it opens. */
  open(prefix: string): Promise<Store>
  /** Optional: a store whose backend can be made unreachable mid-run, and the function that does it. */
  outage?(prefix: string): Promise<{ store: Store; cut(): Promise<void> }>
  /** How late an expiry may be observed, in ms (default 50). */
  ttlSlackMs?: number
  /** Parallel writers in the race tests (default 16). */
  writers?: number
}

/** How long a failing backend may take to reject (the contract's "never a hang"). */
const OUTAGE_DEADLINE_MS = 10_000
/** How long opening, closing and cleaning up may take before the test fails instead of hanging. */
const HOUSEKEEPING_DEADLINE_MS = 15_000

/** What `get` must return for a written value: JSON's own round trip. */
function roundTrip(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json
}

/** Resolves like `promise`, or rejects once `ms` have passed (so a hang fails the test). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Asserts that `promise` rejects with a StoreError of `code`. */
async function rejectsWithCode(promise: Promise<unknown>, code: StoreErrorCode, what: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `${what}: expected a StoreError, got ${String(error)}`)
    assert.equal(error.code, code, `${what}: ${error.message}`)
    return true
  })
}

async function sleepUntil(time: number): Promise<void> {
  const wait = time - Date.now()
  if (wait > 0) await sleep(wait)
}

/** Deep, wide, awkward JSON: what sessions and tokens may hold. */
const SAMPLE_VALUES: Record<string, unknown> = {
  'an object': { a: 1, b: 'two', c: [3], d: { e: null } },
  'an empty object': {},
  'an array': [1, 'a', null, true, { x: [] }],
  'an empty array': [],
  'top-level null': null,
  zero: 0,
  'negative zero': -0,
  'an integer': Number.MAX_SAFE_INTEGER,
  'a negative float': -1234.5678,
  'a tiny float': 1e-7,
  'a large float': 1.7976931348623157e308,
  true: true,
  false: false,
  'an empty string': '',
  'a string that looks like JSON': '{"a":1}',
  'a string that looks like a number': '42',
  'Chinese, emoji and combining marks': '你好，世界 👋🏽 👨‍👩‍👧 é 𠀀',
  'control characters, quotes, backslashes and separators':
    'nul\u0000 tab\t nl\n cr\r "q" \\ \u2028\u2029 \u007f ]]>',
  'unicode keys': { 名字: '张三', '🔑': ['🗝'], 'a.b:c': 1, '': 'empty key' },
  'keys named like Object.prototype members': JSON.parse(
    '{"__proto__":{"polluted":true},"constructor":1,"toString":2}',
  ),
  'a nested structure': (() => {
    let v: Json = 'leaf'
    for (let i = 0; i < 32; i++) v = i % 2 ? { [`level${i}`]: v, n: i } : [i, v]
    return v
  })(),
  'many keys': Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i])),
}

/** Registers the whole suite as node:test describe/test blocks named `${name} store: …`. */
export function runStoreContract(name: string, target: ContractTarget): void {
  const slack = target.ttlSlackMs ?? 50
  const writers = target.writers ?? 16
  /** Short enough for quick tests, long enough for a loaded 2-core machine to see it alive. */
  const ttl = 300 + slack
  const runPrefix = `wc${randomBytes(5).toString('hex')}`
  let testCount = 0

  interface Harness {
    /** This test's own prefix. */
    prefix: string
    /** Opens a store (this test's prefix unless given); closed after the test. */
    open(prefix?: string): Promise<Store>
    /** A key name (deleted after the test from every prefix the test opened). */
    key(name: string): string
  }

  /** Wraps a test body: opens on demand, then deletes its keys and closes what it opened. */
  function withStores(
    body: (h: Harness, t: TestContext) => Promise<void>,
  ): (t: TestContext) => Promise<void> {
    return async (t) => {
      const prefix = `${runPrefix}-${++testCount}:`
      const opened: Store[] = []
      const byPrefix = new Map<string, Store>()
      const keys = new Set<string>()
      const harness: Harness = {
        prefix,
        async open(p = prefix) {
          const store = await within(target.open(p), HOUSEKEEPING_DEADLINE_MS, 'open()')
          opened.push(store)
          if (!byPrefix.has(p)) byPrefix.set(p, store)
          return store
        },
        key(keyName) {
          keys.add(keyName)
          return keyName
        },
      }
      let failure: { error: unknown } | undefined
      try {
        await body(harness, t)
      } catch (error) {
        failure = { error }
      }
      const cleanup = [...byPrefix.values()].flatMap((store) => [...keys].map((key) => store.delete(key)))
      await within(Promise.allSettled(cleanup), HOUSEKEEPING_DEADLINE_MS, 'cleaning up').catch(() => {})
      const closed = await within(
        Promise.allSettled(opened.map((store) => store.close())),
        HOUSEKEEPING_DEADLINE_MS,
        'close()',
      )
      if (failure) throw failure.error
      const failed = closed.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
    }
  }

  describe(`${name} store: values`, () => {
    test(
      'get of a missing key is undefined',
      withStores(async (h) => {
        const store = await h.open()
        assert.equal(await store.get(h.key('missing')), undefined)
      }),
    )

    test(
      'set and get round-trip JSON values',
      withStores(async (h) => {
        const store = await h.open()
        const entries = Object.entries(SAMPLE_VALUES)
        for (const [i, [label, value]] of entries.entries()) {
          const key = h.key(`value-${i}`)
          const version = await store.set(key, value as Json)
          assert.equal(typeof version, 'string', label)
          const entry = await store.get(key)
          assert.ok(entry, `${label}: written but read as absent`)
          assert.deepEqual(entry.value, roundTrip(value), label)
          assert.equal(entry.version, version, label)
        }
      }),
    )

    test(
      'a 1 MB string value round-trips',
      withStores(async (h) => {
        const store = await h.open()
        const chunk = 'abcdefghijklmnopqrstuvwxyz0123456789-你好-🙂\n'
        const big = chunk.repeat(Math.ceil(1_048_576 / chunk.length)).slice(0, 1_048_576)
        const key = h.key('big')
        await store.set(key, { big })
        const entry = await store.get<{ big: string }>(key)
        assert.ok(entry, 'the 1 MB value read as absent')
        assert.equal(entry.value.big.length, big.length)
        assert.ok(entry.value.big === big, 'the 1 MB value came back different')
      }),
    )

    test(
      'values follow JSON.stringify (undefined properties dropped, toJSON applied)',
      withStores(async (h) => {
        const store = await h.open()
        const odd = { kept: 1, dropped: undefined, list: [undefined, 1], when: new Date(0), nan: Number.NaN }
        const key = h.key('odd')
        await store.set(key, odd as unknown as Json)
        assert.deepEqual((await store.get(key))?.value, {
          kept: 1,
          list: [null, 1],
          when: '1970-01-01T00:00:00.000Z',
          nan: null,
        })
      }),
    )

    test(
      'non-JSON values are rejected with invalid_value and nothing is written',
      withStores(async (h) => {
        const store = await h.open()
        const circular: Record<string, unknown> = {}
        circular.self = circular
        const bad: [string, unknown][] = [
          ['undefined', undefined],
          ['a function', () => 1],
          ['a symbol', Symbol('s')],
          ['a bigint', 10n],
          ['a circular object', circular],
        ]
        const key = h.key('bad')
        const existing = h.key('bad-existing')
        const version = await store.set(existing, 'kept')
        for (const [label, value] of bad) {
          await rejectsWithCode(store.set(key, value as Json), 'invalid_value', `set(${label})`)
          await rejectsWithCode(store.add(key, value as Json), 'invalid_value', `add(${label})`)
          await rejectsWithCode(
            store.compareAndSet(existing, version, value as Json),
            'invalid_value',
            `compareAndSet(${label})`,
          )
        }
        assert.equal(await store.get(key), undefined)
        assert.deepEqual(await store.get(existing), { value: 'kept', version })
      }),
    )

    test(
      'get returns a copy, and a write copies its input',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('copy')
        const input = { list: [1, 2], inner: { a: 'x' } }
        await store.set(key, input)
        input.list.push(3)
        input.inner.a = 'changed after set'
        const first = await store.get<{ list: number[]; inner: { a: string } }>(key)
        assert.ok(first)
        assert.deepEqual(first.value, { list: [1, 2], inner: { a: 'x' } })
        first.value.list.push(99)
        first.value.inner.a = 'changed after get'
        const second = await store.get(key)
        assert.deepEqual(second?.value, { list: [1, 2], inner: { a: 'x' } })
        assert.notEqual(first.value, second?.value)
      }),
    )

    test(
      'set overwrites',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('overwrite')
        await store.set(key, { n: 1 })
        const version = await store.set(key, [2])
        assert.deepEqual(await store.get(key), { value: [2], version })
      }),
    )
  })

  describe(`${name} store: versions`, () => {
    test(
      'versions are strings and change on every write',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('versions')
        const seen = new Set<string>()
        const record = (version: string | undefined, what: string): string => {
          assert.equal(typeof version, 'string', `${what} returned ${String(version)}`)
          assert.ok(!seen.has(version as string), `${what} returned an earlier version again: ${version}`)
          seen.add(version as string)
          return version as string
        }
        let version = record(await store.set(key, 1), 'set')
        version = record(await store.set(key, 1), 'set of the same value')
        assert.equal((await store.get(key))?.version, version)
        version = record(await store.compareAndSet(key, version, 1), 'compareAndSet of the same value')
        assert.equal((await store.get(key))?.version, version)
        assert.equal(await store.delete(key), true)
        version = record(await store.add(key, 1), 'add after delete')
        assert.equal((await store.get(key))?.version, version)
        version = record(await store.set(key, 2, { ttl: 60_000 }), 'set with ttl')
        assert.equal((await store.get(key))?.version, version)
      }),
    )

    test(
      'a version from before a delete never matches the re-created key',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('aba')
        const old = await store.set(key, 'first life')
        assert.equal(await store.delete(key), true)
        const fresh = await store.add(key, 'second life')
        assert.ok(fresh)
        assert.notEqual(fresh, old)
        assert.equal(await store.compareAndSet(key, old, 'stale writer'), undefined)
        assert.equal(await store.delete(key, { version: old }), false)
        assert.deepEqual(await store.get(key), { value: 'second life', version: fresh })
      }),
    )
  })

  describe(`${name} store: add`, () => {
    test(
      'add on an absent key creates it and returns its version',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('add')
        const version = await store.add(key, { owner: 'a' })
        assert.equal(typeof version, 'string')
        assert.deepEqual(await store.get(key), { value: { owner: 'a' }, version })
      }),
    )

    test(
      'add on an existing key returns undefined and does not overwrite',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('add-existing')
        const version = await store.set(key, { owner: 'a' })
        assert.equal(await store.add(key, { owner: 'b' }), undefined)
        assert.equal(await store.add(key, { owner: 'c' }, { ttl: 60_000 }), undefined)
        assert.deepEqual(await store.get(key), { value: { owner: 'a' }, version })
      }),
    )

    test(
      'add of top-level null creates a key that exists',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('add-null')
        const version = await store.add(key, null)
        assert.ok(version)
        assert.deepEqual(await store.get(key), { value: null, version })
        assert.equal(await store.add(key, 1), undefined)
      }),
    )
  })

  describe(`${name} store: compareAndSet`, () => {
    test(
      'compareAndSet with the current version succeeds and returns a new version',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('cas')
        const v1 = await store.set(key, { count: 1 })
        const v2 = await store.compareAndSet(key, v1, { count: 2 })
        assert.equal(typeof v2, 'string')
        assert.notEqual(v2, v1)
        assert.deepEqual(await store.get(key), { value: { count: 2 }, version: v2 })
      }),
    )

    test(
      'compareAndSet with a stale version fails and leaves the value',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('cas-stale')
        const v1 = await store.set(key, { count: 1 })
        const v2 = await store.compareAndSet(key, v1, { count: 2 })
        assert.ok(v2)
        assert.equal(await store.compareAndSet(key, v1, { count: 3 }), undefined)
        const v3 = await store.set(key, { count: 10 })
        assert.equal(await store.compareAndSet(key, v2, { count: 11 }), undefined)
        assert.deepEqual(await store.get(key), { value: { count: 10 }, version: v3 })
      }),
    )

    test(
      'compareAndSet on a missing or deleted key fails and does not create it',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('cas-missing')
        const other = h.key('cas-missing-other')
        const foreign = await store.set(other, 1)
        assert.equal(await store.compareAndSet(key, foreign, 2), undefined)
        const version = await store.set(key, 1)
        assert.equal(await store.delete(key), true)
        assert.equal(await store.compareAndSet(key, version, 2), undefined)
        assert.equal(await store.get(key), undefined)
      }),
    )

    test(
      'compareAndSet with a version the store never issued fails quietly',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('cas-garbage')
        const version = await store.set(key, 'v')
        for (const garbage of [
          '',
          'not-a-version',
          '1e3',
          '-1',
          '0x10',
          ' 1',
          `${version} `,
          'x'.repeat(300),
        ]) {
          if (garbage === version) continue
          assert.equal(
            await store.compareAndSet(key, garbage, 'w'),
            undefined,
            `version ${JSON.stringify(garbage)}`,
          )
          assert.equal(
            await store.delete(key, { version: garbage }),
            false,
            `version ${JSON.stringify(garbage)}`,
          )
        }
        assert.deepEqual(await store.get(key), { value: 'v', version })
      }),
    )
  })

  describe(`${name} store: delete`, () => {
    test(
      'delete returns whether a live key was deleted',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('delete')
        assert.equal(await store.delete(key), false)
        await store.set(key, 1)
        assert.equal(await store.delete(key), true)
        assert.equal(await store.get(key), undefined)
        assert.equal(await store.delete(key), false)
      }),
    )

    test(
      'a versioned delete deletes only when the version matches',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('delete-versioned')
        const v1 = await store.set(key, 1)
        const v2 = await store.set(key, 2)
        assert.equal(await store.delete(key, { version: v1 }), false)
        assert.deepEqual(await store.get(key), { value: 2, version: v2 })
        assert.equal(await store.delete(key, { version: v2 }), true)
        assert.equal(await store.get(key), undefined)
        assert.equal(await store.delete(key, { version: v2 }), false)
        assert.equal(await store.delete(h.key('delete-versioned-missing'), { version: v2 }), false)
      }),
    )
  })

  describe(`${name} store: ttl`, () => {
    /** Asserts presence when the read certainly finished before the earliest expiry. */
    async function expectAliveIfEarly(
      t: TestContext,
      store: Store,
      key: string,
      writtenFrom: number,
      value: Json,
    ): Promise<void> {
      const entry = await store.get(key)
      if (Date.now() < writtenFrom + ttl - slack) assert.deepEqual(entry?.value, value, 'expired early')
      else t.diagnostic('the machine was too slow to check that the key was alive before its TTL')
    }

    test(
      'a key written with ttl reads as absent after it expires',
      withStores(async (h, t) => {
        const store = await h.open()
        const key = h.key('ttl')
        const started = Date.now()
        await store.set(key, 'short-lived', { ttl })
        const written = Date.now()
        await expectAliveIfEarly(t, store, key, started, 'short-lived')
        await sleepUntil(written + ttl + slack + 5)
        assert.equal(await store.get(key), undefined, `still present ${slack} ms after its ttl`)
        assert.equal(await store.delete(key), false, 'delete of an expired key returned true')
      }),
    )

    test(
      'add re-creates an expired key with a new version',
      withStores(async (h, t) => {
        const store = await h.open()
        const key = h.key('ttl-add')
        const started = Date.now()
        const first = await store.add(key, 'first', { ttl })
        const written = Date.now()
        assert.ok(first)
        const again = await store.add(key, 'too early', { ttl })
        if (Date.now() < started + ttl - slack) assert.equal(again, undefined, 'add succeeded on a live key')
        else t.diagnostic('the machine was too slow to check add on the live key')
        await sleepUntil(written + ttl + slack + 5)
        const second = await store.add(key, 'second')
        assert.ok(second, 'add failed on an expired key')
        assert.notEqual(second, first)
        assert.deepEqual(await store.get(key), { value: 'second', version: second })
      }),
    )

    test(
      'compareAndSet and a versioned delete on an expired key fail',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('ttl-cas')
        const version = await store.set(key, 'v', { ttl })
        const written = Date.now()
        await sleepUntil(written + ttl + slack + 5)
        assert.equal(await store.compareAndSet(key, version, 'revived'), undefined)
        assert.equal(await store.delete(key, { version }), false)
        assert.equal(await store.get(key), undefined)
      }),
    )

    test(
      'a write without ttl makes the key permanent again',
      withStores(async (h) => {
        const store = await h.open()
        const bySet = h.key('ttl-permanent-set')
        const byCas = h.key('ttl-permanent-cas')
        await store.set(bySet, 1, { ttl })
        const setVersion = await store.set(bySet, 2)
        const added = await store.add(byCas, 1, { ttl })
        assert.ok(added)
        const casVersion = await store.compareAndSet(byCas, added, 2)
        assert.ok(casVersion)
        const written = Date.now()
        await sleepUntil(written + ttl + slack + 50)
        assert.deepEqual(
          await store.get(bySet),
          { value: 2, version: setVersion },
          'set without ttl kept the old ttl',
        )
        assert.deepEqual(
          await store.get(byCas),
          { value: 2, version: casVersion },
          'compareAndSet without ttl kept the old ttl',
        )
      }),
    )

    test(
      'a write with ttl makes a permanent key expire',
      withStores(async (h) => {
        const store = await h.open()
        const bySet = h.key('ttl-expire-set')
        const byCas = h.key('ttl-expire-cas')
        await store.set(bySet, 1)
        await store.set(bySet, 2, { ttl })
        const version = await store.set(byCas, 1)
        assert.ok(await store.compareAndSet(byCas, version, 2, { ttl }))
        const written = Date.now()
        await sleepUntil(written + ttl + slack + 5)
        assert.equal(await store.get(bySet), undefined, 'set with ttl did not expire')
        assert.equal(await store.get(byCas), undefined, 'compareAndSet with ttl did not expire')
      }),
    )

    test(
      'invalid ttls are rejected with invalid_value and nothing is written',
      withStores(async (h) => {
        const store = await h.open()
        const key = h.key('ttl-invalid')
        const existing = h.key('ttl-invalid-existing')
        const version = await store.set(existing, 'kept')
        for (const bad of [0, -1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, '1000', null]) {
          const options = { ttl: bad as number }
          const label = `ttl ${String(bad)}`
          await rejectsWithCode(store.set(key, 1, options), 'invalid_value', `set with ${label}`)
          await rejectsWithCode(store.add(key, 1, options), 'invalid_value', `add with ${label}`)
          await rejectsWithCode(
            store.compareAndSet(existing, version, 1, options),
            'invalid_value',
            `compareAndSet with ${label}`,
          )
        }
        assert.equal(await store.get(key), undefined)
        assert.deepEqual(await store.get(existing), { value: 'kept', version })
      }),
    )
  })

  describe(`${name} store: keys and prefixes`, () => {
    test(
      'stores with different prefixes on one backend do not see each other',
      withStores(async (h) => {
        const a = await h.open(`${h.prefix}a:`)
        const b = await h.open(`${h.prefix}b:`)
        const key = h.key('shared-name')
        const va = await a.set(key, 'from a')
        assert.equal(await b.get(key), undefined)
        const vb = await b.add(key, 'from b')
        assert.ok(vb, 'add in b saw the key of a')
        assert.deepEqual(await a.get(key), { value: 'from a', version: va })
        assert.deepEqual(await b.get(key), { value: 'from b', version: vb })
        assert.equal(await b.delete(key), true)
        assert.deepEqual(await a.get(key), { value: 'from a', version: va })
      }),
    )

    test(
      'two instances with the same prefix share keys',
      withStores(async (h) => {
        const a = await h.open()
        const b = await h.open()
        const key = h.key('same-prefix')
        const version = await a.set(key, { from: 'a' })
        assert.deepEqual(await b.get(key), { value: { from: 'a' }, version })
        assert.equal(await b.add(key, 'b'), undefined)
      }),
    )

    test(
      'every allowed character works, keys are case-sensitive, 200 characters are allowed',
      withStores(async (h) => {
        const store = await h.open()
        const long = h.key(`Az09:_-.@${'Xy'.repeat(100)}`.slice(0, 200))
        const keys = [
          h.key('a:b_c-d.e@f'),
          h.key('Case'),
          h.key('case'),
          h.key('CASE'),
          h.key('.'),
          h.key('..'),
          long,
        ]
        for (const key of keys) await store.set(key, key)
        for (const key of keys) assert.equal((await store.get(key))?.value, key, `key ${key}`)
      }),
    )

    test(
      'invalid keys are rejected with invalid_key',
      withStores(async (h) => {
        const store = await h.open()
        const bad: unknown[] = [
          '',
          'x'.repeat(201),
          'a b',
          'a/b',
          '../etc/passwd',
          'a\\b',
          'ключ',
          '键',
          'a\nb',
          'a\u0000b',
          'a*',
          'a%2F',
          undefined,
          null,
          42,
        ]
        for (const key of bad) {
          const k = key as string
          const label = JSON.stringify(key) ?? String(key)
          await rejectsWithCode(store.get(k), 'invalid_key', `get(${label})`)
          await rejectsWithCode(store.set(k, 1), 'invalid_key', `set(${label})`)
          await rejectsWithCode(store.add(k, 1), 'invalid_key', `add(${label})`)
          await rejectsWithCode(store.compareAndSet(k, '1', 1), 'invalid_key', `compareAndSet(${label})`)
          await rejectsWithCode(store.delete(k), 'invalid_key', `delete(${label})`)
          await rejectsWithCode(
            store.delete(k, { version: '1' }),
            'invalid_key',
            `versioned delete(${label})`,
          )
        }
      }),
    )
  })

  describe(`${name} store: races across ${writers} instances`, () => {
    async function openMany(h: Harness): Promise<Store[]> {
      return Promise.all(Array.from({ length: writers }, () => h.open()))
    }

    test(
      'of concurrent adds of one key exactly one succeeds',
      withStores(async (h) => {
        const stores = await openMany(h)
        for (const round of [1, 2, 3]) {
          const key = h.key(`race-add-${round}`)
          const results = await Promise.all(stores.map((store, i) => store.add(key, { winner: i })))
          const winners = results.flatMap((version, i) => (version === undefined ? [] : [{ i, version }]))
          assert.equal(winners.length, 1, `round ${round}: ${winners.length} adds succeeded`)
          const [winner] = winners
          assert.deepEqual(await stores[0]!.get(key), {
            value: { winner: winner!.i },
            version: winner!.version,
          })
        }
      }),
    )

    test(
      'of concurrent adds of an expired key exactly one succeeds',
      withStores(async (h) => {
        const stores = await openMany(h)
        const key = h.key('race-add-expired')
        await stores[0]!.set(key, 'expiring', { ttl })
        await sleepUntil(Date.now() + ttl + slack + 5)
        const results = await Promise.all(stores.map((store, i) => store.add(key, { winner: i })))
        const winners = results.flatMap((version, i) => (version === undefined ? [] : [{ i, version }]))
        assert.equal(winners.length, 1, `${winners.length} adds succeeded`)
        assert.deepEqual(await stores[1 % writers]!.get(key), {
          value: { winner: winners[0]!.i },
          version: winners[0]!.version,
        })
      }),
    )

    test(
      'of concurrent compareAndSets from one version exactly one succeeds',
      withStores(async (h) => {
        const stores = await openMany(h)
        for (const round of [1, 2, 3]) {
          const key = h.key(`race-cas-${round}`)
          const start = await stores[0]!.set(key, { winner: -1 })
          const results = await Promise.all(
            stores.map((store, i) => store.compareAndSet(key, start, { winner: i })),
          )
          const winners = results.flatMap((version, i) => (version === undefined ? [] : [{ i, version }]))
          assert.equal(winners.length, 1, `round ${round}: ${winners.length} compareAndSets succeeded`)
          assert.deepEqual(await stores[0]!.get(key), {
            value: { winner: winners[0]!.i },
            version: winners[0]!.version,
          })
        }
      }),
    )

    test(
      'of concurrent versioned deletes exactly one succeeds',
      withStores(async (h) => {
        const stores = await openMany(h)
        const key = h.key('race-delete')
        const version = await stores[0]!.set(key, 1)
        const results = await Promise.all(stores.map((store) => store.delete(key, { version })))
        assert.equal(results.filter(Boolean).length, 1)
        assert.equal(await stores[0]!.get(key), undefined)
      }),
    )

    test(
      `a counter incremented by ${writers} instances with compare-and-set retries loses no update`,
      withStores(async (h, t) => {
        const stores = await openMany(h)
        const key = h.key('race-counter')
        await stores[0]!.set(key, 0)
        let conflicts = 0
        await Promise.all(
          stores.map(async (store) => {
            for (let attempt = 0; attempt < writers * 20; attempt++) {
              const entry = await store.get<number>(key)
              assert.ok(entry, 'the counter disappeared')
              if (await store.compareAndSet(key, entry.version, entry.value + 1)) return
              conflicts++
            }
            assert.fail('a writer never managed to increment the counter')
          }),
        )
        assert.equal((await stores[0]!.get(key))?.value, writers)
        t.diagnostic(`${conflicts} compare-and-set conflicts`)
      }),
    )
  })

  if (target.outage) {
    const outage = target.outage.bind(target)
    describe(`${name} store: outage`, () => {
      test(`every operation rejects with store_unavailable within ${OUTAGE_DEADLINE_MS / 1000} s, without crashing`, {
        timeout: 4 * OUTAGE_DEADLINE_MS,
      }, async () => {
        const problems: unknown[] = []
        const onProblem = (reason: unknown): void => {
          problems.push(reason)
        }
        process.on('unhandledRejection', onProblem)
        process.on('uncaughtException', onProblem)
        try {
          const prefix = `${runPrefix}-${++testCount}:`
          const { store, cut } = await within(outage(prefix), HOUSEKEEPING_DEADLINE_MS, 'outage()')
          try {
            const key = 'outage'
            const version = await store.set(key, 1, { ttl: 60_000 })
            assert.deepEqual(
              await store.get(key),
              { value: 1, version },
              'the store did not work before the cut',
            )
            await within(cut(), HOUSEKEEPING_DEADLINE_MS, 'cut()')
            const operations: [string, () => Promise<unknown>][] = [
              ['get', () => store.get(key)],
              ['set', () => store.set(key, 2, { ttl: 60_000 })],
              ['add', () => store.add('outage-add', 1, { ttl: 60_000 })],
              ['compareAndSet', () => store.compareAndSet(key, version, 3, { ttl: 60_000 })],
              ['delete', () => store.delete(key)],
              ['versioned delete', () => store.delete(key, { version })],
            ]
            // Twice: a store must keep failing fast after its first failures, not hang on reconnecting.
            for (const round of ['first', 'second']) {
              await Promise.all(
                operations.map(async ([label, operation]) => {
                  const started = Date.now()
                  const outcome = await within(
                    operation().then(
                      (value) => ({ ok: true as const, value }),
                      (error: unknown) => ({ ok: false as const, error }),
                    ),
                    OUTAGE_DEADLINE_MS,
                    `${label} (${round} round, after the cut)`,
                  )
                  const what = `${label} (${round} round, ${Date.now() - started} ms)`
                  assert.ok(
                    !outcome.ok,
                    `${what} resolved with ${JSON.stringify(outcome.ok && outcome.value)}`,
                  )
                  assert.ok(
                    outcome.error instanceof StoreError,
                    `${what} rejected with ${String(outcome.error)}`,
                  )
                  assert.equal(outcome.error.code, 'store_unavailable', `${what}: ${outcome.error.message}`)
                }),
              )
            }
          } finally {
            // Closing a store whose backend is gone may reject, but must not hang.
            await within(
              store.close().catch(() => {}),
              OUTAGE_DEADLINE_MS,
              'close() after the cut',
            )
          }
          await sleep(500) // late socket errors and reconnect attempts surface here
        } finally {
          process.off('unhandledRejection', onProblem)
          process.off('uncaughtException', onProblem)
        }
        assert.deepEqual(problems.map(String), [], 'unhandled errors during the outage')
      })
    })
  }
}
