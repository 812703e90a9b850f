/**
 * The proof of the delivery rules: WeChat's real schedule (a delivery, then a retry whenever 5 s
 * pass without an answer, three deliveries in all) played against two bot processes that share
 * one Redis, alternating between them as a load balancer would. Every message must be handled
 * exactly once and the follower must get exactly one reply: passively or through the
 * customer-service API (a local stand-in of WeChat's API, shared by both processes).
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { Reply } from '../../src/protocol/replies.js'
import { createTestKit } from '../../src/testing/index.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../../src/testing/wechat-api/server.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

const REDIS = process.env.WEMP_TEST_REDIS_URL
const skip = REDIS ? false : 'WEMP_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379): skipped'
if (skip) console.log(`# retry schedule: ${skip}`)

const appId = 'wx5e7d3c2b1a098765'
const appSecret = 'retry-schedule-secret'
const encodingAESKey = 'RetryScheduleKey0123456789abcdefghijklmnopq'
const kit = createTestKit({ token: 'retrytoken', appId, encodingAESKey })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Instance {
  url: string
  proc: ChildProcess
  stdout: string[]
  stderr: string[]
}

const instances: Instance[] = []
let wechat: WechatApiStandIn

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: appSecret } })
})
after(async () => {
  for (const instance of instances) instance.proc.kill('SIGTERM')
  await wechat.close()
})

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/delivery/bot-process.ts'], {
    env: {
      ...process.env,
      APP_ID: appId,
      APP_SECRET: appSecret,
      AES_KEY: encodingAESKey,
      WECHAT_API_BASE: wechat.url,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const instance: Instance = { url: '', proc, stdout: [], stderr: [] }
  instances.push(instance)
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => instance.stderr.push(...chunk.split('\n')))
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) =>
      reject(new Error(`the bot process exited (${code}): ${instance.stderr.join('\n')}`)),
    )
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        instance.stdout.push(line)
        const port = /^listening (\d+)$/.exec(line)?.[1]
        if (port) {
          instance.url = `http://127.0.0.1:${port}/`
          resolve()
        }
      }
    })
  })
  return instance
}

/** What WeChat does with one message: deliver, wait 5 s, retry on the next instance; 3 deliveries in all. */
async function asWeChat(targets: Instance[], content: string, openid: string) {
  const message = { ...kit.text(content), fromUserName: openid }
  const answers: ('timeout' | number)[] = []
  for (let attempt = 0; attempt < 3; attempt++) {
    const request = kit.request(message, { mode: 'safe' })
    const target = targets[attempt % targets.length] as Instance
    try {
      const response = await fetch(target.url + request.search, {
        method: 'POST',
        body: request.body,
        signal: AbortSignal.timeout(5000),
      })
      const body = await response.text()
      answers.push(response.status)
      const opened = kit.open({ status: response.status, headers: {}, body }, request)
      return { reply: opened.reply, answers }
    } catch {
      answers.push('timeout')
    }
  }
  return { reply: undefined as Reply | undefined, answers }
}

function runs(openid: string): number {
  return instances.flatMap((i) => i.stdout).filter((line) => line.startsWith(`ran ${openid} `)).length
}

const cases = [
  { content: 'hello', expect: 'echo: hello (#1)' },
  { content: 'boom', expect: '出错了，请稍后再试' },
  { content: 'slow 6', expect: 'done after 6 s' },
  { content: 'slow 8', expect: 'done after 8 s' },
  { content: 'slow 12', expect: 'done after 12 s' },
]

async function playSchedule(env: Record<string, string>) {
  const prefix = `retry${randomBytes(4).toString('hex')}:`
  const a = await startInstance({ ...env, WEMP_TEST_REDIS_URL: REDIS ?? '', STORE_PREFIX: prefix })
  const b = await startInstance({ ...env, WEMP_TEST_REDIS_URL: REDIS ?? '', STORE_PREFIX: prefix })
  const followers = cases.map((c, i) => ({
    ...c,
    openid: `oRetry${prefix.slice(5, 13)}${i}`.padEnd(28, '0'),
  }))
  for (const f of followers) wechat.openWindow(appId, f.openid)
  const results = await Promise.all(followers.map((f) => asWeChat([a, b], f.content, f.openid)))
  // Wait for the late replies (the slowest handler takes 12 s), then a little more for duplicates.
  const sentTo = (openid: string) => wechat.sent.filter((m) => m.touser === openid)
  const until = Date.now() + 16_000
  while (
    Date.now() < until &&
    !followers.every((f, i) => isReply(results[i]?.reply) || sentTo(f.openid).length > 0)
  ) {
    await sleep(100)
  }
  await sleep(1500)
  const report = followers.map((f, i) => {
    const passive = results[i]?.reply
    const received = [
      ...(isReply(passive) ? [passive.type === 'text' ? passive.content : passive.type] : []),
      ...sentTo(f.openid).map((m) => (m.text as { content: string }).content),
    ]
    return {
      content: f.content,
      runs: runs(f.openid),
      answers: results[i]?.answers,
      received,
      expect: f.expect,
    }
  })
  for (const r of report) {
    assert.equal(r.runs, 1, `${r.content}: handled ${r.runs} times (${JSON.stringify(report)})`)
    assert.deepEqual(r.received, [r.expect], `${r.content}: the follower got ${JSON.stringify(r.received)}`)
    assert.notEqual(r.answers?.at(-1), 'timeout', `${r.content}: WeChat never got an answer in time`)
  }
  return report
}

function isReply(reply: Reply | undefined): reply is Exclude<Reply, { type: 'success' }> {
  return reply !== undefined && reply.type !== 'success'
}

describe('WeChat retry schedule, two processes sharing Redis', { skip }, () => {
  test('long-lived servers: each message handled once, one reply each (late ones through the customer-service API)', async () => {
    const report = await playSchedule({})
    const slow = report.filter((r) => r.content.startsWith('slow'))
    // WeChat got `success` at the deadline: no retry was needed.
    assert.ok(
      slow.every((r) => r.answers?.length === 1 && r.answers[0] === 200),
      JSON.stringify(slow),
    )
  })

  test('cloud functions (the invocation stays open): each message handled once, one reply each', async () => {
    const report = await playSchedule({ TENCENTCLOUD_RUNENV: 'SCF' })
    const slow6 = report.find((r) => r.content === 'slow 6')
    // The first delivery is held (a function answers only when it returns), WeChat retries on the
    // other instance, which waits and answers with the reply itself.
    assert.deepEqual(slow6?.answers, ['timeout', 200])
  })

  test('Redis going away mid-run: logged, defined degradation, never a crash', async () => {
    const target = new URL(REDIS ?? 'redis://127.0.0.1:6379')
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) })
    target.hostname = proxy.host
    target.port = String(proxy.port)
    try {
      const instance = await startInstance({ WEMP_TEST_REDIS_URL: target.href, STORE_PREFIX: 'redisdown:' })
      const openid = `oRedisDown${randomBytes(6).toString('hex')}`
      const before = await asWeChat([instance], 'before', openid)
      assert.deepEqual(before.reply, { type: 'text', content: 'echo: before (#1)' })
      await proxy.cut()
      const during = await asWeChat([instance], 'during', openid)
      // Sessions cannot be read: the handler fails, onError answers; de-duplication is skipped.
      assert.deepEqual(during.reply, { type: 'text', content: '出错了，请稍后再试' })
      assert.deepEqual(during.answers, [200])
      const log = instance.stderr.join('\n')
      assert.match(log, /retry de-duplication is unavailable/)
      assert.match(log, /handler failed.*store_unavailable/)
      assert.equal(instance.proc.exitCode, null, 'the process is still running')
      const slow = await asWeChat([instance], 'slow 0.1', openid)
      assert.deepEqual(slow.reply, { type: 'text', content: 'done after 0.1 s' })
    } finally {
      await proxy.close()
    }
  })
})
