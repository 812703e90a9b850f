/**
 * One access token for every instance: 50 "cold" instances (each its own client and its own
 * connection to the store, nothing shared in memory) ask for the token at the same moment; WeChat
 * (the local stand-in, answering slowly to widen the race) must see exactly one token request.
 * Then the same with 12 separate Node processes on Redis.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { createApi } from '../../src/api/client.js'
import { MemoryStore } from '../../src/storage/memory/index.js'
import type { Store } from '../../src/storage/store.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../../src/testing/wechat-api/server.js'

const appId = 'wx7700aa11bb22cc33'
const appSecret = 'token-sharing-secret'
let wechat: WechatApiStandIn

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: appSecret }, latency: 100 })
})
after(() => wechat.close())

const backends: { name: string; url: string | undefined; open: (prefix: string) => Promise<Store> }[] = [
  {
    name: 'redis',
    url: process.env.WEMP_TEST_REDIS_URL,
    open: async (prefix) =>
      (await import('../../src/storage/redis/index.js')).createRedisStore({
        url: process.env.WEMP_TEST_REDIS_URL,
        prefix,
      }),
  },
  {
    name: 'postgres',
    url: process.env.WEMP_TEST_POSTGRES_URL,
    open: async (prefix) =>
      (await import('../../src/storage/postgres/index.js')).createPostgresStore({
        url: process.env.WEMP_TEST_POSTGRES_URL,
        prefix,
        pg: { max: 1 },
      }),
  },
  {
    name: 'mysql',
    url: process.env.WEMP_TEST_MYSQL_URL,
    open: async (prefix) =>
      (await import('../../src/storage/mysql/index.js')).createMysqlStore({
        url: process.env.WEMP_TEST_MYSQL_URL,
        prefix,
        mysql: { connectionLimit: 1 },
      }),
  },
]

async function coldStart(stores: Store[], kind: 'stable' | 'classic') {
  const path = kind === 'stable' ? '/cgi-bin/stable_token' : '/cgi-bin/token'
  const before = wechat.count(path)
  const clients = stores.map((store) =>
    createApi({ appId, appSecret, baseUrl: wechat.url, store, logger: false, accessToken: kind }),
  )
  const tokens = await Promise.all(clients.map((client) => client.accessToken()))
  assert.equal(new Set(tokens).size, 1, 'every instance got the same token')
  assert.equal(
    wechat.count(path) - before,
    1,
    `${stores.length} instances fetched the token ${wechat.count(path) - before} times`,
  )
  assert.equal(
    clients.reduce((n, c) => n + c.token.fetches, 0),
    1,
  )
}

describe('50 cold instances, one token fetch', () => {
  test('memory (one process, 50 clients on one store)', async () => {
    const store = new MemoryStore()
    await coldStart(
      Array.from({ length: 50 }, () => store),
      'stable',
    )
    await coldStart(
      Array.from({ length: 50 }, () => store),
      'classic',
    )
  })

  for (const backend of backends) {
    const skip = backend.url
      ? false
      : `set WEMP_TEST_${backend.name.toUpperCase()}_URL to run against ${backend.name}`
    test(`${backend.name}: 50 instances, each with its own connection (stable and classic)`, {
      skip,
    }, async () => {
      for (const kind of ['stable', 'classic'] as const) {
        const prefix = `tok${randomBytes(4).toString('hex')}:`
        const stores = await Promise.all(Array.from({ length: 50 }, () => backend.open(prefix)))
        try {
          await coldStart(stores, kind)
        } finally {
          await Promise.all(stores.map((s) => s.close()))
        }
      }
    })
  }

  test('redis: 12 separate Node processes started together', {
    skip: process.env.WEMP_TEST_REDIS_URL ? false : 'set WEMP_TEST_REDIS_URL',
  }, async () => {
    const prefix = `tokproc${randomBytes(4).toString('hex')}:`
    const before = wechat.count('/cgi-bin/stable_token')
    const procs = Array.from({ length: 12 }, () =>
      spawn(process.execPath, ['--import', 'tsx', 'test/api/token-process.ts'], {
        env: {
          ...process.env,
          APP_ID: appId,
          APP_SECRET: appSecret,
          WECHAT_API_BASE: wechat.url,
          STORE_PREFIX: prefix,
        },
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
    const outputs = procs.map((proc) => {
      let out = ''
      proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk
      })
      return {
        ready: new Promise<void>((resolve) => {
          const check = () => (out.includes('ready') ? resolve() : setTimeout(check, 10))
          check()
        }),
        done: new Promise<string>((resolve) => proc.on('exit', () => resolve(out))),
      }
    })
    await Promise.all(outputs.map((o) => o.ready))
    for (const proc of procs) proc.stdin.end('go\n')
    const tokens = (await Promise.all(outputs.map((o) => o.done))).map((out) => /token (\S+)/.exec(out)?.[1])
    assert.ok(
      tokens.every((t) => t !== undefined && t === tokens[0]),
      JSON.stringify(tokens),
    )
    assert.equal(wechat.count('/cgi-bin/stable_token') - before, 1)
  })
})
