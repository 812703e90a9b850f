import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createMemoryStore, MemorySpace, MemoryStore } from '../../src/storage/memory/index.js'
import { StoreError } from '../../src/storage/store.js'
import { runStoreContract } from './contract.js'

// One space plays the shared backend, as one Redis server would.
const space = new MemorySpace()
runStoreContract('memory', { open: async (prefix) => createMemoryStore({ space, prefix }) })

describe('memory store: bounds and lifecycle', () => {
  test('a full store evicts expired keys first, then the least recently used', async () => {
    const store = createMemoryStore({ maxEntries: 4 })
    try {
      await store.set('old', 1)
      await store.set('expiring', 2, { ttl: 200 })
      await store.set('recent', 3)
      await store.set('read', 4)
      await sleep(300)
      await store.set('new-1', 5) // evicts 'expiring' (expired), not 'old'
      assert.ok(await store.get('old'))
      await store.get('old') // 'old' is now recently used; 'recent' is the least recently used
      await store.set('new-2', 6)
      assert.equal(await store.get('recent'), undefined)
      assert.deepEqual(
        await Promise.all(['old', 'read', 'new-1', 'new-2'].map(async (k) => (await store.get(k))?.value)),
        [1, 4, 5, 6],
      )
      await store.set('read', 7) // overwriting a key does not evict another
      assert.ok(await store.get('new-1'))
    } finally {
      await store.close()
    }
  })

  test('a shared space is bounded across all its stores', async () => {
    const shared = new MemorySpace({ maxEntries: 3 })
    const a = createMemoryStore({ space: shared, prefix: 'a:' })
    const b = createMemoryStore({ space: shared, prefix: 'b:' })
    try {
      for (let i = 0; i < 5; i++) await (i % 2 ? a : b).set(`k${i}`, i)
      assert.equal(shared.size, 3)
      assert.equal(await b.get('k0'), undefined)
      assert.equal((await b.get('k4'))?.value, 4)
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('the sweep reclaims expired keys without reads', async () => {
    const shared = new MemorySpace({ sweepInterval: 50 })
    const store = createMemoryStore({ space: shared })
    try {
      for (let i = 0; i < 100; i++) await store.set(`k${i}`, i, { ttl: 100 })
      await store.set('kept', true)
      assert.equal(shared.size, 101)
      await sleep(400)
      assert.equal(shared.size, 1)
    } finally {
      await store.close()
    }
  })

  test('rewriting one key with a ttl many times keeps memory bounded', async () => {
    const shared = new MemorySpace({ sweepInterval: 0 })
    const store = createMemoryStore({ space: shared })
    try {
      for (let i = 0; i < 20_000; i++) await store.set('session', i, { ttl: 60_000 })
      assert.equal(shared.size, 1)
      assert.equal((await store.get('session'))?.value, 19_999)
    } finally {
      await store.close()
    }
  })

  test('a closed store rejects with store_unavailable and keeps no timer', async () => {
    const store = new MemoryStore()
    await store.set('k', 1)
    await store.close()
    await store.close()
    await assert.rejects(
      store.get('k'),
      (e: unknown) => e instanceof StoreError && e.code === 'store_unavailable',
    )
  })

  test('bad options are refused with store_misconfigured', () => {
    const misconfigured = (e: unknown) => e instanceof StoreError && e.code === 'store_misconfigured'
    assert.throws(() => createMemoryStore({ maxEntries: 0 }), misconfigured)
    assert.throws(() => createMemoryStore({ maxEntries: 1.5 }), misconfigured)
    assert.throws(() => createMemoryStore({ sweepInterval: -1 }), misconfigured)
    assert.throws(() => createMemoryStore({ space: new MemorySpace(), maxEntries: 5 }), misconfigured)
    assert.throws(() => createMemoryStore({ space: {} as MemorySpace }), misconfigured)
  })
})
