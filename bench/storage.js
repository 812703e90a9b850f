// Storage: what one session update costs on each backend, and what each backend costs a cold start.
//
// For every backend reachable here: (a) the latency of one session read + write — a `get` then a
// `compareAndSet`, exactly what `ctx.session.update()` does when nothing conflicts — over many
// rounds; (b) in a fresh `node`, the time to import the backend module alone, and to import it,
// create a store and finish a first `get` (driver load + connect + table check).
// Servers come from WEMP_TEST_REDIS_URL / WEMP_TEST_POSTGRES_URL / WEMP_TEST_MYSQL_URL (defaults:
// the standard local ports); a backend whose server does not answer is reported as skipped.
// Runs on dist/ (npm run build first). `node bench/storage.js`; BENCH_QUICK=1 for fewer rounds.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { fmt, isMain, median, table } from './lib/format.js'
import { settings } from './lib/settings.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = (name) => pathToFileURL(path.join(root, 'dist/storage', name, 'index.js')).href

const scratch = mkdtempSync(path.join(root, '.bench-storage-'))
const urls = {
  redis: process.env.WEMP_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
  postgres: process.env.WEMP_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.WEMP_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
}

// The S3 row runs against s3rver, a local S3-protocol server (it ignores conditional headers, which
// does not change what a round costs): latency of the protocol round trips and of request signing.
let s3rver
let s3Endpoint = ''
async function startS3() {
  const { default: S3rver } = await import('@20minutes/s3rver')
  s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: path.join(scratch, 's3'),
    configureBuckets: [{ name: 'bench' }],
  })
  s3Endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`
}

/** name → [module, factory name, options (as JSON, so a child process can rebuild them)] */
function backends(prefix) {
  return {
    memory: ['memory', 'createMemoryStore', { prefix }],
    file: ['file', 'createFileStore', { prefix, dir: path.join(scratch, 'file') }],
    sqlite: ['sqlite', 'createSqliteStore', { prefix, filename: path.join(scratch, 'store.sqlite') }],
    redis: ['redis', 'createRedisStore', { prefix, url: urls.redis }],
    postgres: ['postgres', 'createPostgresStore', { prefix, url: urls.postgres }],
    mysql: ['mysql', 'createMysqlStore', { prefix, url: urls.mysql }],
    s3: [
      's3',
      'createS3Store',
      {
        prefix,
        endpoint: s3Endpoint,
        bucket: 'bench',
        region: 'us-east-1',
        provider: 'minio',
        forcePathStyle: true,
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
      },
    ],
  }
}

async function open(name, prefix) {
  const [module, factory, options] = backends(prefix)[name]
  const mod = await import(dist(module))
  return mod[factory](options)
}

async function latency(name, rounds) {
  const prefix = `bench${process.pid}${name}:`
  const store = await open(name, prefix)
  try {
    const key = 'session:wxbench:oFollower'
    await store.set(key, { count: 0, name: '张三', visits: [1, 2, 3] })
    const round = async () => {
      const entry = await store.get(key)
      const next = { ...entry.value, count: entry.value.count + 1 }
      if ((await store.compareAndSet(key, entry.version, next)) === undefined)
        throw new Error('unexpected conflict')
    }
    for (let i = 0; i < Math.min(100, rounds); i++) await round()
    const batches = []
    const per = Math.max(1, Math.floor(rounds / 5))
    for (let b = 0; b < 5; b++) {
      const t = performance.now()
      for (let i = 0; i < per; i++) await round()
      batches.push(((performance.now() - t) * 1000) / per)
    }
    await store.delete(key)
    return median(batches)
  } finally {
    await store.close()
  }
}

// Asynchronous: the S3 test server runs in this process and must keep answering meanwhile.
async function coldImport(name, withFirstGet) {
  const [module, factory, options] = backends(`benchcold${process.pid}:`)[name]
  const script = withFirstGet
    ? `const t=performance.now();const m=await import(${JSON.stringify(dist(module))});const s=m.${factory}(${JSON.stringify(options)});await s.get('k');const ms=performance.now()-t;await s.close();console.log(ms)`
    : `const t=performance.now();await import(${JSON.stringify(dist(module))});console.log(performance.now()-t)`
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
  })
  return Number(stdout.trim().split('\n').pop())
}

async function sequence(n, fn) {
  const out = []
  for (let i = 0; i < n; i++) out.push(await fn())
  return out
}

export async function runStorage() {
  const rounds = settings.quick ? 200 : 1000
  const runs = settings.quick ? 3 : 7
  console.log(
    `\n## Storage (one session read + write = get + compareAndSet, ${rounds} rounds; cold import: median of ${runs} fresh node processes)`,
  )
  const rows = []
  const results = []
  await startS3().catch((error) => console.log(`  (no S3 test server: ${error.message})`))
  for (const name of Object.keys(backends(''))) {
    try {
      const us = await latency(name, rounds)
      const importMs = median(await sequence(runs, () => coldImport(name, false)))
      const firstGetMs = median(await sequence(runs, () => coldImport(name, true)))
      results.push({
        backend: name,
        status: 'ok',
        sessionRoundUs: us,
        importMs,
        importCreateFirstGetMs: firstGetMs,
      })
      rows.push([name, fmt(us, 1), fmt(importMs, 1), fmt(firstGetMs, 1)])
    } catch (error) {
      results.push({
        backend: name,
        status: 'skipped',
        reason: String(error?.message ?? error).split('\n')[0],
      })
      rows.push([
        name,
        'skipped',
        '',
        '',
        String(error?.message ?? error)
          .split('\n')[0]
          .slice(0, 80),
      ])
    }
  }
  console.log(table(['backend', 'read+write µs', 'import ms', 'import+connect+get ms', 'note'], rows))
  console.log('  import ms = fresh node → the backend module imported (driver not loaded yet);')
  console.log(
    '  import+connect+get ms = … plus creating a store and its first get (driver load, connect, table check).',
  )
  console.log('  s3 = against s3rver on 127.0.0.1 (a local S3-protocol server), path-style, SigV4 signing.')
  await s3rver?.close()
  rmSync(scratch, { recursive: true, force: true })
  return { settings: { rounds, runs }, results }
}

if (isMain(import.meta.url)) {
  try {
    await runStorage()
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}
