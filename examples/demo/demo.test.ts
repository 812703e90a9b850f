import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createTestKit, startWechatApiStandIn } from 'wemp/testing'
import { configFromEnv, createDemoBot, DEVELOPMENT_CONFIG } from './bot.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe('demo bot, in-process', () => {
  const bot = createDemoBot({ ...DEVELOPMENT_CONFIG, development: true })
  const kit = createTestKit(DEVELOPMENT_CONFIG)

  test('shows the API: subscribe with scene, menu news, regex key, image, location, LOCATION, fallback', async () => {
    assert.deepEqual((await kit.send(bot, kit.subscribe('promo'))).reply, {
      type: 'text',
      content: 'Welcome! 欢迎关注。scene: promo',
    })
    const news = await kit.send(bot, kit.click('V1001_TODAY'))
    assert.deepEqual(news.violations, [])
    assert.equal(news.reply?.type === 'news' && news.reply.articles.length, 2)
    assert.deepEqual((await kit.send(bot, kit.click('V1002_SPORTS'))).reply, {
      type: 'text',
      content: 'You chose SPORTS.',
    })
    assert.deepEqual((await kit.send(bot, kit.message('image', { mediaId: 'MEDIA', picUrl: 'p' }))).reply, {
      type: 'image',
      mediaId: 'MEDIA',
    })
    const location = kit.message('location', { latitude: 23.1, longitude: 113.3, scale: 15, label: '广州' })
    assert.deepEqual((await kit.send(bot, location)).reply, {
      type: 'text',
      content: 'You are at 23.1, 113.3 (广州).',
    })
    assert.equal(
      (await kit.send(bot, kit.event('LOCATION', { latitude: 1, longitude: 2, precision: 3 }))).body,
      'success',
    )
    assert.match(
      String((await kit.send(bot, kit.message('voice', { mediaId: 'v', format: 'amr' }))).body),
      /voice is not handled/,
    )
  })
})

async function startDemo(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', WECHAT_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 20_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk
      if (output.includes('listening') && output.includes('store')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.on('exit', (code) => reject(new Error(`the demo exited with ${code}:\n${output}`)))
  })
  return { child, url: `http://127.0.0.1:${port}/wechat`, output: () => output }
}

describe('demo bot with WECHAT_STORE=redis://… shares sessions between two processes', () => {
  const redis = process.env.WEMP_TEST_REDIS_URL
  const kit = createTestKit(DEVELOPMENT_CONFIG)
  const children: ChildProcess[] = []
  after(() => {
    for (const child of children) child.kill()
  })
  test(
    'a follower counted by one process is seen by the other',
    redis ? {} : { skip: 'WEMP_TEST_REDIS_URL is not set: no Redis to test against' },
    async () => {
      const a = await startDemo({ WECHAT_STORE: redis! })
      const b = await startDemo({ WECHAT_STORE: redis! })
      children.push(a.child, b.child)
      assert.match(a.output(), /sessions in the redis store/)
      const follower = { fromUserName: `oDemoRedis${Date.now()}` }
      await kit.send(a.url, kit.text('one', follower))
      await kit.send(b.url, kit.text('two', follower), { mode: 'safe' })
      await kit.send(a.url, kit.text('three', follower), { mode: 'compatible' })
      const count = await kit.send(b.url, { ...kit.click('V1003_COUNT'), ...follower })
      assert.deepEqual(count.reply, { type: 'text', content: 'You have sent 3 messages.' })
    },
  )
})

describe('demo bot, as `npm start` runs it', () => {
  let child: ChildProcess
  let url = ''
  const kit = createTestKit(DEVELOPMENT_CONFIG)

  before(async () => {
    const started = await startDemo({})
    child = started.child
    url = started.url
    const output = started.output()
    assert.match(output, /WECHAT_TOKEN=wempdev/)
  })
  after(() => {
    child.kill()
  })

  test('answers a text with exactly `echo: <content>` in plaintext, compatible and safe mode', async () => {
    for (const mode of ['plaintext', 'compatible', 'safe'] as const) {
      const res = await kit.send(url, kit.text('hello 你好'), { mode })
      assert.deepEqual(res.violations, [], mode)
      assert.deepEqual(res.reply, { type: 'text', content: 'echo: hello 你好' }, mode)
      assert.equal(res.encrypted, mode !== 'plaintext')
    }
  })

  test('passes the URL handshake and refuses forged requests', async () => {
    const hs = await kit.verifyUrl(url)
    assert.equal(hs.body, hs.echostr)
    assert.equal((await kit.send(url, kit.text('x'), { token: 'forged123' })).status, 401)
  })
})

describe('demo bot: `slow N` (late replies)', () => {
  const kit = createTestKit(DEVELOPMENT_CONFIG)
  const appSecret = 'demo-secret'
  let wechat: Awaited<ReturnType<typeof startWechatApiStandIn>>
  before(async () => {
    wechat = await startWechatApiStandIn({ apps: { [DEVELOPMENT_CONFIG.appId]: appSecret } })
  })
  after(() => wechat.close())

  test('reads WECHAT_APP_SECRET and WECHAT_API_BASE, also with the development values', () => {
    const config = configFromEnv({ WECHAT_APP_SECRET: 's', WECHAT_API_BASE: 'http://127.0.0.1:1' })
    assert.equal(config.development, true)
    assert.equal(config.appSecret, 's')
    assert.equal(config.apiBase, 'http://127.0.0.1:1')
  })

  test('without WECHAT_APP_SECRET, slow N says what it needs', async () => {
    const bot = createDemoBot({ ...DEVELOPMENT_CONFIG, development: true })
    const response = await kit.send(bot, kit.text('slow 1'))
    assert.match(String(response.reply?.type === 'text' && response.reply.content), /needs WECHAT_APP_SECRET/)
  })

  test('slow 1 answers passively; slow 5 answers success in time, then `done after 5 s` through the customer-service API', async () => {
    const bot = createDemoBot({ ...DEVELOPMENT_CONFIG, development: true, appSecret, apiBase: wechat.url })
    const quick = await kit.send(bot, kit.text('slow 1'), { mode: 'safe' })
    assert.deepEqual(quick.reply, { type: 'text', content: 'done after 1 s' })
    assert.equal(
      ((await kit.send(bot, kit.text('slow 21'))).reply as { content?: string }).content,
      'slow N: N is at most 20 seconds.',
    )
    wechat.openWindow(DEVELOPMENT_CONFIG.appId, kit.openid)
    const started = Date.now()
    const slow = await kit.send(bot, kit.text('slow 5'), { mode: 'safe' })
    assert.deepEqual(slow.reply, { type: 'success' })
    assert.ok(Date.now() - started < 4500, `answered after ${Date.now() - started} ms`)
    while (wechat.sent.length === 0 && Date.now() - started < 8000)
      await new Promise((r) => setTimeout(r, 50))
    assert.deepEqual(
      wechat.sent.map((m) => [m.touser, m.text]),
      [[kit.openid, { content: 'done after 5 s' }]],
    )
  })
})
