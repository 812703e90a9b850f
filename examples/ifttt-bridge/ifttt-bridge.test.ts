import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, beforeEach, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type BuildOptions, build } from 'esbuild'
import { type Bot, createMemoryStore, type MemoryStore, type MessageInput } from 'wemp'
import type { ScfHandler } from 'wemp/adapters/tencent-scf'
import {
  assertValidReply,
  createTestKit,
  type RequestOptions,
  startWechatApiStandIn,
  type Target,
  type TestKit,
  type WechatApiStandIn,
} from 'wemp/testing'
import { scfFunctionUrlEvent } from '../../test/adapters/events.js'
import { bundleOptions } from '../tencent-scf/build.mjs'
import { createIftttBot, type IftttBotOptions, keyOfBindCommand, texts } from './bot.js'
import { createIftttClient } from './ifttt.js'
import { type IftttStandIn, startIftttStandIn } from './ifttt-stand-in.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const secrets = {
  token: 'iftttbridge',
  appId: 'wx1f2e3d4c5b6a7980',
  encodingAESKey: 'IftttBridgeKey0123456789abcdefghijklmnopqrs',
}
const appSecret = 'ifttt-bridge-secret'

// Keys IFTTT knows. Two start with B and D: the seed's lstrip('BD+') mangled exactly those.
const KEY_B = 'BxKeyAlpha_123-abc'
const KEY_D = 'DdKeyDelta-456_xyz'
const KEY_PLAIN = 'k9PlainKey_789'
const KEY_OTHER = 'zzOtherKey-000'
const UNKNOWN_KEY = 'notAKeyIftttKnows42'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await sleep(10)
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

let ifttt: IftttStandIn
before(async () => {
  ifttt = await startIftttStandIn({ keys: [KEY_B, KEY_D, KEY_PLAIN, KEY_OTHER] })
})
after(() => ifttt.close())
beforeEach(() => {
  ifttt.triggers.length = 0
  ifttt.delay = 0
})

let followers = 0
/** A test kit playing a follower of their own (so that sessions and retry records never collide). */
function follower(): TestKit {
  followers += 1
  return createTestKit({ ...secrets, openid: `oIftttFollower${String(followers).padStart(12, '0')}` })
}

function setup(options: Partial<IftttBotOptions> = {}): { bot: Bot; store: MemoryStore } {
  const store = createMemoryStore()
  const bot = createIftttBot({ ...secrets, store, logger: false, iftttBase: ifttt.url, ...options })
  return { bot, store }
}

/** Sends a message, checks the reply against WeChat's rules, and returns its text (or `success`). */
async function say(
  target: Target,
  kit: TestKit,
  message: MessageInput | string,
  options?: RequestOptions,
): Promise<string> {
  const res = assertValidReply(await kit.send(target, message, options))
  if (res.reply?.type === 'success') return 'success'
  assert.equal(res.reply?.type, 'text', res.body)
  return res.reply.type === 'text' ? res.reply.content : ''
}

/** The follower's session as stored (undefined when there is none). */
async function stored(bot: Bot, store: MemoryStore, kit: TestKit) {
  return (await store.get(bot.sessions.key(secrets.appId, kit.openid)))?.value
}

async function bind(bot: Bot, kit: TestKit, key: string): Promise<void> {
  assert.equal(await say(bot, kit, kit.text(`BD+${key}`)), texts.bound(key))
}

describe('the IFTTT webhook client', () => {
  test('ok: POSTs exactly the values given as JSON to /trigger/{event}/with/key/{key}', async () => {
    const client = createIftttClient({ base: `${ifttt.url}/` })
    const result = await client.fire('text', KEY_PLAIN, { value1: 'a', value3: 'c' })
    assert.deepEqual(result, {
      kind: 'ok',
      status: 200,
      body: "Congratulations! You've fired the text event",
    })
    assert.equal(ifttt.triggers.length, 1)
    const [trigger] = ifttt.triggers
    assert.equal(trigger?.path, `/trigger/text/with/key/${KEY_PLAIN}`)
    assert.equal(trigger?.contentType, 'application/json')
    assert.deepEqual(trigger?.body, { value1: 'a', value3: 'c' })
  })

  test("rejected: IFTTT's status and the message of its JSON error body", async () => {
    const result = await createIftttClient({ base: ifttt.url }).fire('text', UNKNOWN_KEY, { value1: 'x' })
    assert.deepEqual(result, { kind: 'rejected', status: 401, message: 'You sent an invalid key.' })
  })

  test('timeout: gives up after the timeout, not after IFTTT answers', async () => {
    ifttt.delay = 1000
    const started = Date.now()
    const result = await createIftttClient({ base: ifttt.url, timeout: 100 }).fire('text', KEY_PLAIN)
    assert.deepEqual(result, { kind: 'timeout', timeout: 100 })
    assert.ok(Date.now() - started < 600, `took ${Date.now() - started} ms`)
  })

  test('unreachable: a closed port, with the reason', async () => {
    const base = `http://127.0.0.1:${await freePort()}`
    const result = await createIftttClient({ base }).fire('text', KEY_PLAIN)
    assert.equal(result.kind, 'unreachable')
    assert.match(result.kind === 'unreachable' ? result.reason : '', /ECONNREFUSED/)
  })

  test('uses the fetch it is given, and refuses keys and events that would change the URL', async () => {
    const urls: string[] = []
    const client = createIftttClient({
      base: 'https://maker.example',
      fetch: async (input) => {
        urls.push(String(input))
        return new Response('nope', { status: 500 })
      },
    })
    assert.deepEqual(await client.fire('link', KEY_PLAIN), { kind: 'rejected', status: 500, message: 'nope' })
    assert.deepEqual(urls, [`https://maker.example/trigger/link/with/key/${KEY_PLAIN}`])
    await assert.rejects(client.fire('text', '../x'), /not an IFTTT key/)
    await assert.rejects(client.fire('a/b', KEY_PLAIN), /not an IFTTT event name/)
  })
})

describe('binding: BD+<key>', () => {
  test('subscribe: the welcome explains how to bind; help: the commands and the help link', async () => {
    const { bot } = setup({ helpUrl: 'https://example.com/ifttt-bridge' })
    const kit = follower()
    const welcome = await say(bot, kit, kit.subscribe())
    assert.equal(welcome, texts.welcome)
    assert.match(welcome, /BD\+你的key/)
    for (const command of ['help', ' HELP ', '帮助']) {
      const help = await say(bot, kit, kit.text(command))
      assert.match(help, /BD\+你的key/)
      assert.match(help, /详细说明：https:\/\/example\.com\/ifttt-bridge$/)
    }
    assert.equal(ifttt.triggers.length, 0)
  })

  test('a valid key is checked with ifmaker_test {value1: test}, then saved in the session', async () => {
    const { bot, store } = setup()
    const kit = follower()
    const reply = await say(bot, kit, kit.text(`BD+${KEY_PLAIN}`))
    assert.equal(reply, texts.bound(KEY_PLAIN))
    assert.match(reply, /^绑定成功！key k9Pl…（14 位）/)
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.method, t.path, t.body]),
      [['POST', `/trigger/ifmaker_test/with/key/${KEY_PLAIN}`, { value1: 'test' }]],
    )
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_PLAIN })
  })

  test('the seed bug: keys starting with B or D are kept whole (only the exact prefix is stripped)', async () => {
    const { bot, store } = setup()
    const a = follower()
    const b = follower()
    await bind(bot, a, KEY_B)
    await bind(bot, b, KEY_D)
    // lstrip('BD+') would have turned these into 'xKeyAlpha_123-abc' and 'KeyDelta-456_xyz'.
    assert.deepEqual(
      ifttt.triggers.map((t) => t.key),
      [KEY_B, KEY_D],
    )
    assert.deepEqual(await stored(bot, store, a), { iftttKey: KEY_B })
    assert.deepEqual(await stored(bot, store, b), { iftttKey: KEY_D })
  })

  test('whitespace is trimmed, the prefix is case-insensitive and may use the full-width ＋', async () => {
    assert.equal(keyOfBindCommand(`  BD+  ${KEY_B}  `), KEY_B)
    assert.equal(keyOfBindCommand(`bd+${KEY_D}\n`), KEY_D)
    assert.equal(keyOfBindCommand(`BD＋${KEY_B}`), KEY_B)
    assert.equal(keyOfBindCommand(`BD+BD+${KEY_B}`), `BD+${KEY_B}`) // one prefix, not a character set
    assert.equal(keyOfBindCommand(`BDD+${KEY_B}`), undefined)
    assert.equal(keyOfBindCommand(`xBD+${KEY_B}`), undefined)
    const { bot, store } = setup()
    const kit = follower()
    assert.equal(await say(bot, kit, kit.text(`  bd＋ ${KEY_D} `)), texts.bound(KEY_D))
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_D })
  })

  test('rebinding overwrites the key, and later pushes use the new one', async () => {
    const { bot, store } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_B)
    await bind(bot, kit, KEY_OTHER)
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_OTHER })
    assert.equal(await say(bot, kit, kit.text('after rebinding')), '已推送到 IFTTT (text)')
    assert.deepEqual(ifttt.triggers.at(-1)?.path, `/trigger/text/with/key/${KEY_OTHER}`)
  })

  test('keys with other characters, or none, are refused without asking IFTTT', async () => {
    const { bot, store } = setup()
    const kit = follower()
    for (const content of [
      'BD+abc def',
      'BD+key/../../evil',
      'BD+key?x=1',
      `BD+BD+${KEY_B}`,
      'BD+钥匙',
      `BD+${'a'.repeat(65)}`,
    ]) {
      assert.equal(await say(bot, kit, kit.text(content)), texts.invalidKey, content)
    }
    assert.equal(await say(bot, kit, kit.text('BD+')), texts.emptyKey)
    assert.equal(await say(bot, kit, kit.text('BD+   ')), texts.emptyKey)
    assert.equal(ifttt.triggers.length, 0)
    assert.equal(await stored(bot, store, kit), undefined)
  })

  test('a key IFTTT rejects (401) → "key 有误", and nothing is saved', async () => {
    const { bot, store } = setup()
    const kit = follower()
    const reply = await say(bot, kit, kit.text(`BD+${UNKNOWN_KEY}`))
    assert.match(reply, /^key 有误：IFTTT 拒绝了这个 key（HTTP 401：You sent an invalid key\.）/)
    assert.equal(ifttt.triggers.length, 1)
    assert.equal(await stored(bot, store, kit), undefined)
    // A follower already bound keeps their key when a new one is refused.
    await bind(bot, kit, KEY_PLAIN)
    assert.match(await say(bot, kit, kit.text(`BD+${UNKNOWN_KEY}`)), /^key 有误/)
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_PLAIN })
  })

  test('IFTTT slower than iftttTimeout → "请求超时", and nothing is saved', async () => {
    const { bot, store } = setup({ iftttTimeout: 150 })
    const kit = follower()
    ifttt.delay = 1000
    const started = Date.now()
    const reply = await say(bot, kit, kit.text(`BD+${KEY_PLAIN}`))
    assert.ok(Date.now() - started < 800, `took ${Date.now() - started} ms`)
    assert.equal(reply, texts.bindTimeout(150))
    assert.match(reply, /^请求超时：IFTTT 在 0\.15 秒内没有响应，key 没有绑定/)
    assert.equal(await stored(bot, store, kit), undefined)
  })

  test('IFTTT unreachable → says so, and nothing is saved', async () => {
    const { bot, store } = setup({ iftttBase: `http://127.0.0.1:${await freePort()}` })
    const kit = follower()
    assert.match(
      await say(bot, kit, kit.text(`BD+${KEY_PLAIN}`)),
      /^无法连接 IFTTT（ECONNREFUSED），key 没有绑定/,
    )
    assert.equal(await stored(bot, store, kit), undefined)
  })
  test('the fetch option is the one used to reach IFTTT', async () => {
    const seen: string[] = []
    const { bot } = setup({
      iftttBase: 'https://maker.example',
      fetch: async (input, init) => {
        seen.push(`${init?.method} ${String(input)} ${String(init?.body)}`)
        return new Response("Congratulations! You've fired the ifmaker_test event")
      },
    })
    const kit = follower()
    await bind(bot, kit, KEY_PLAIN)
    assert.deepEqual(seen, [
      `POST https://maker.example/trigger/ifmaker_test/with/key/${KEY_PLAIN} {"value1":"test"}`,
    ])
    assert.equal(ifttt.triggers.length, 0)
  })
})

describe('forwarding to IFTTT', () => {
  test('text → event text {value1: text}', async () => {
    const { bot } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_B)
    ifttt.triggers.length = 0
    assert.equal(await say(bot, kit, kit.text('打开客厅的灯 <&> "quoted"')), '已推送到 IFTTT (text)')
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.path, t.contentType, t.body]),
      [[`/trigger/text/with/key/${KEY_B}`, 'application/json', { value1: '打开客厅的灯 <&> "quoted"' }]],
    )
  })

  test('help and BD+ are commands, everything else is forwarded (e.g. "helper", "bd")', async () => {
    const { bot } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_PLAIN)
    ifttt.triggers.length = 0
    for (const content of ['helper', 'bd', 'BD', 'BD-x']) {
      assert.equal(await say(bot, kit, kit.text(content)), '已推送到 IFTTT (text)', content)
    }
    assert.deepEqual(
      ifttt.triggers.map((t) => t.body),
      [{ value1: 'helper' }, { value1: 'bd' }, { value1: 'BD' }, { value1: 'BD-x' }],
    )
  })

  test('voice → event text {value1: recognition}; a voice without recognition is refused', async () => {
    const { bot } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_PLAIN)
    ifttt.triggers.length = 0
    const voice = (recognition?: string) =>
      kit.message('voice', { mediaId: 'VOICE', format: 'amr', ...(recognition ? { recognition } : {}) })
    assert.equal(await say(bot, kit, voice('关灯。')), '已推送到 IFTTT (text)')
    assert.equal(await say(bot, kit, voice()), texts.noRecognition)
    assert.equal(await say(bot, kit, voice('   ')), texts.noRecognition)
    assert.match(texts.noRecognition, /语音识别.*文字/)
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.path, t.body]),
      [[`/trigger/text/with/key/${KEY_PLAIN}`, { value1: '关灯。' }]],
    )
  })

  test('location → event location {value1: label, value2: latitude, value3: longitude}', async () => {
    const { bot } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_D)
    ifttt.triggers.length = 0
    const location = kit.message('location', {
      latitude: 23.134521,
      longitude: 113.358803,
      scale: 20,
      label: '广东省广州市天河区',
    })
    assert.equal(await say(bot, kit, location), '已推送到 IFTTT (location)')
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.path, t.body]),
      [
        [
          `/trigger/location/with/key/${KEY_D}`,
          { value1: '广东省广州市天河区', value2: '23.134521', value3: '113.358803' },
        ],
      ],
    )
  })

  test('link → event link {value1: url, value2: title, value3: description}', async () => {
    const { bot } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_D)
    ifttt.triggers.length = 0
    const link = kit.message('link', {
      title: 'wemp',
      description: 'WeChat bots in TypeScript',
      url: 'https://example.com/a?b=1&c=2',
    })
    assert.equal(await say(bot, kit, link), '已推送到 IFTTT (link)')
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.path, t.body]),
      [
        [
          `/trigger/link/with/key/${KEY_D}`,
          { value1: 'https://example.com/a?b=1&c=2', value2: 'wemp', value3: 'WeChat bots in TypeScript' },
        ],
      ],
    )
  })

  test('image, then a caption → one image event {value1: picture URL, value2: caption}; pending cleared', async () => {
    const { bot, store } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_B)
    ifttt.triggers.length = 0
    const picUrl = 'http://mmbiz.qpic.cn/mmbiz_jpg/abc/0'
    assert.equal(await say(bot, kit, kit.message('image', { picUrl, mediaId: 'IMG' })), texts.imagePending)
    assert.equal(ifttt.triggers.length, 0, 'the picture waits for its caption')
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_B, pendingImage: picUrl })
    assert.equal(await say(bot, kit, kit.text('我的猫')), '已推送到 IFTTT (image)')
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_B })
    assert.equal(await say(bot, kit, kit.text('next')), '已推送到 IFTTT (text)')
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.path, t.body]),
      [
        [`/trigger/image/with/key/${KEY_B}`, { value1: picUrl, value2: '我的猫' }],
        [`/trigger/text/with/key/${KEY_B}`, { value1: 'next' }],
      ],
    )
  })

  test('a voice can be the caption too', async () => {
    const { bot, store } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_B)
    ifttt.triggers.length = 0
    await say(bot, kit, kit.message('image', { picUrl: 'http://p/1', mediaId: 'IMG' }))
    const voice = kit.message('voice', { mediaId: 'V', format: 'amr', recognition: '语音说明' })
    assert.equal(await say(bot, kit, voice), '已推送到 IFTTT (image)')
    assert.deepEqual(ifttt.triggers[0]?.body, { value1: 'http://p/1', value2: '语音说明' })
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_B })
  })

  test('image, then another image → the newer one replaces the pending one (one image event)', async () => {
    const { bot, store } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_PLAIN)
    ifttt.triggers.length = 0
    await say(bot, kit, kit.message('image', { picUrl: 'http://p/first', mediaId: 'A' }))
    assert.equal(
      await say(bot, kit, kit.message('image', { picUrl: 'http://p/second', mediaId: 'B' })),
      texts.imageReplaced,
    )
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_PLAIN, pendingImage: 'http://p/second' })
    assert.equal(await say(bot, kit, kit.text('caption')), '已推送到 IFTTT (image)')
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.event, t.body]),
      [['image', { value1: 'http://p/second', value2: 'caption' }]],
    )
  })

  test('a caption IFTTT rejects: the failure is told, and the picture no longer waits', async () => {
    const { bot, store } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_OTHER)
    await say(bot, kit, kit.message('image', { picUrl: 'http://p/x', mediaId: 'X' }))
    ifttt.keys.delete(KEY_OTHER) // the follower revoked the key on IFTTT meanwhile
    try {
      const reply = await say(bot, kit, kit.text('caption'))
      assert.equal(
        reply,
        `${texts.pushRejected('image', 401, 'You sent an invalid key.')}\n${texts.imageLost}`,
      )
      assert.match(reply, /重新绑定：BD\+你的key/)
      assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_OTHER })
    } finally {
      ifttt.keys.add(KEY_OTHER)
    }
  })

  test('IFTTT slower than iftttTimeout → "请求超时"', async () => {
    const { bot } = setup({ iftttTimeout: 150 })
    const kit = follower()
    await bind(bot, kit, KEY_PLAIN)
    ifttt.delay = 1000
    assert.equal(await say(bot, kit, kit.text('slow')), texts.pushTimeout('text', 150))
    assert.match(texts.pushTimeout('text', 150), /^请求超时/)
  })

  test('an unbound follower is refused for every kind of message, and no session is created', async () => {
    const { bot, store } = setup()
    const kit = follower()
    const messages = [
      kit.text('hello'),
      kit.message('voice', { mediaId: 'V', format: 'amr', recognition: 'hello' }),
      kit.message('voice', { mediaId: 'V', format: 'amr' }),
      kit.message('image', { picUrl: 'http://p/1', mediaId: 'I' }),
      kit.message('location', { latitude: 1, longitude: 2, scale: 3, label: 'x' }),
      kit.message('link', { title: 't', description: 'd', url: 'http://l' }),
    ]
    for (const message of messages) assert.equal(await say(bot, kit, message), texts.notBound)
    assert.match(texts.notBound, /BD\+你的key/)
    assert.equal(ifttt.triggers.length, 0)
    assert.equal(await stored(bot, store, kit), undefined)
  })

  test('other messages are not bridged; events are answered success', async () => {
    const { bot } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_PLAIN)
    ifttt.triggers.length = 0
    const video = kit.message('video', { mediaId: 'V', thumbMediaId: 'T' })
    assert.equal(await say(bot, kit, video), texts.unsupported('video'))
    assert.equal(await say(bot, kit, kit.click('MENU')), 'success')
    assert.equal(
      await say(bot, kit, kit.event('LOCATION', { latitude: 1, longitude: 2, precision: 3 })),
      'success',
    )
    assert.equal(ifttt.triggers.length, 0)
  })

  test('unsubscribe deletes the session: the key and a pending picture are gone from the store', async () => {
    const { bot, store } = setup()
    const kit = follower()
    await bind(bot, kit, KEY_PLAIN)
    await say(bot, kit, kit.message('image', { picUrl: 'http://p/1', mediaId: 'I' }))
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_PLAIN, pendingImage: 'http://p/1' })
    assert.equal(await say(bot, kit, kit.event('unsubscribe')), 'success')
    assert.equal(await store.get(bot.sessions.key(secrets.appId, kit.openid)), undefined)
    assert.equal(await say(bot, kit, kit.text('still there?')), texts.notBound)
  })

  test('two followers are kept apart: keys, pending pictures and triggers', async () => {
    const { bot, store } = setup()
    const a = follower()
    const b = follower()
    await bind(bot, a, KEY_B)
    await bind(bot, b, KEY_D)
    ifttt.triggers.length = 0
    await say(bot, a, a.message('image', { picUrl: 'http://p/a', mediaId: 'A' }))
    assert.equal(await say(bot, b, b.text('from b')), '已推送到 IFTTT (text)')
    assert.equal(await say(bot, a, a.text('from a')), '已推送到 IFTTT (image)')
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.key, t.event, t.body]),
      [
        [KEY_D, 'text', { value1: 'from b' }],
        [KEY_B, 'image', { value1: 'http://p/a', value2: 'from a' }],
      ],
    )
    await say(bot, a, a.event('unsubscribe'))
    assert.equal(await stored(bot, store, a), undefined)
    assert.deepEqual(await stored(bot, store, b), { iftttKey: KEY_D })
  })

  test('safe mode: bind and push with encrypted pushes and replies', async () => {
    const { bot, store } = setup()
    const kit = follower()
    const bound = assertValidReply(await kit.send(bot, kit.text(`BD+${KEY_D}`), { mode: 'safe' }))
    assert.equal(bound.encrypted, true)
    assert.deepEqual(bound.reply, { type: 'text', content: texts.bound(KEY_D) })
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_D })
    const pushed = assertValidReply(await kit.send(bot, kit.text('加密 safe'), { mode: 'safe' }))
    assert.equal(pushed.encrypted, true)
    assert.deepEqual(pushed.reply, { type: 'text', content: '已推送到 IFTTT (text)' })
    assert.deepEqual(ifttt.triggers.at(-1)?.body, { value1: '加密 safe' })
  })
})

describe('a slow IFTTT: success to WeChat at the deadline, the result through the customer-service API', () => {
  let wechat: WechatApiStandIn
  before(async () => {
    wechat = await startWechatApiStandIn({ apps: { [secrets.appId]: appSecret } })
  })
  after(() => wechat.close())

  const slowSetup = () =>
    setup({ appSecret, api: { baseUrl: wechat.url }, delivery: { deadline: 200 }, iftttTimeout: 5000 })

  test('a push: WeChat gets success within the deadline, the follower one text with the result', async () => {
    const { bot } = slowSetup()
    const kit = follower()
    await bind(bot, kit, KEY_PLAIN)
    ifttt.triggers.length = 0
    wechat.openWindow(secrets.appId, kit.openid)
    ifttt.delay = 800
    const started = Date.now()
    const res = assertValidReply(await kit.send(bot, kit.text('slow push')))
    const took = Date.now() - started
    assert.equal(res.body, 'success')
    assert.ok(took < 600, `WeChat waited ${took} ms`)
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.event, t.body]),
      [['text', { value1: 'slow push' }]],
    )
    const sent = () => wechat.sent.filter((m) => m.touser === kit.openid)
    await waitFor(() => sent().length > 0)
    await sleep(300) // nothing else follows
    assert.deepEqual(
      sent().map((m) => [m.msgtype, m.text]),
      [['text', { content: '已推送到 IFTTT (text)' }]],
    )
  })

  test('binding: the key is saved after the deadline, and the confirmation follows', async () => {
    const { bot, store } = slowSetup()
    const kit = follower()
    wechat.openWindow(secrets.appId, kit.openid)
    ifttt.delay = 800
    const started = Date.now()
    const res = assertValidReply(await kit.send(bot, kit.text(`BD+${KEY_B}`)))
    assert.equal(res.body, 'success')
    assert.ok(Date.now() - started < 600)
    const sent = () => wechat.sent.filter((m) => m.touser === kit.openid)
    await waitFor(() => sent().length > 0)
    await sleep(300)
    assert.deepEqual(
      sent().map((m) => m.text),
      [{ content: texts.bound(KEY_B) }],
    )
    assert.deepEqual(await stored(bot, store, kit), { iftttKey: KEY_B })
  })
})

describe('server.ts, as a process', () => {
  const children: ChildProcess[] = []
  const dir = mkdtempSync(join(tmpdir(), 'wemp-ifttt-'))
  let wechat: WechatApiStandIn
  before(async () => {
    wechat = await startWechatApiStandIn({ apps: { [secrets.appId]: appSecret } })
  })
  after(async () => {
    for (const child of children) child.kill()
    await wechat.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
    const port = await freePort()
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/ifttt-bridge/server.ts'], {
      cwd: root,
      env: {
        ...process.env,
        WECHAT_TOKEN: secrets.token,
        WECHAT_APP_ID: secrets.appId,
        WECHAT_ENCODING_AES_KEY: secrets.encodingAESKey,
        WECHAT_APP_SECRET: '',
        WECHAT_API_BASE: '',
        IFTTT_BASE: ifttt.url,
        WEMP_LOG_LEVEL: 'error',
        PORT: String(port),
        HOST: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the bridge did not start:\n${output}`)), 20_000)
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk
        if (/listening[\s\S]*store/.test(output)) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk
      })
      child.on('exit', (code) => reject(new Error(`the bridge exited with ${code}:\n${output}`)))
    })
    assert.match(output, new RegExp(`IFTTT at ${ifttt.url}`))
    return { child, url: `http://127.0.0.1:${port}/wechat` }
  }

  test('binds over HTTP, keeps the key in WECHAT_STORE across a restart, and pushes late replies', async () => {
    const store = `sqlite:${join(dir, 'bridge.sqlite')}`
    const kit = follower()
    const first = await start({ WECHAT_STORE: store })
    assert.equal((await kit.verifyUrl(first.url)).status, 200)
    assert.equal(await say(first.url, kit, kit.subscribe()), texts.welcome)
    assert.equal(await say(first.url, kit, kit.text(`BD+${KEY_D}`), { mode: 'safe' }), texts.bound(KEY_D))
    assert.equal((await kit.send(first.url, kit.text('x'), { token: 'forged123' })).status, 401)
    first.child.kill()

    // A second process on the same store knows the key; with the AppSecret, a reply later than the
    // default 4-second deadline reaches the follower through the customer-service API.
    const second = await start({
      WECHAT_STORE: store,
      WECHAT_APP_SECRET: appSecret,
      WECHAT_API_BASE: wechat.url,
    })
    ifttt.triggers.length = 0
    assert.equal(await say(second.url, kit, kit.text('via server.ts')), '已推送到 IFTTT (text)')
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.path, t.body]),
      [[`/trigger/text/with/key/${KEY_D}`, { value1: 'via server.ts' }]],
    )
    wechat.openWindow(secrets.appId, kit.openid)
    ifttt.delay = 4600
    const started = Date.now()
    assert.equal(await say(second.url, kit, kit.text('slow via server.ts')), 'success')
    assert.ok(Date.now() - started < 4500, `WeChat waited ${Date.now() - started} ms`)
    await waitFor(() => wechat.sent.some((m) => m.touser === kit.openid), 5000)
    assert.deepEqual(
      wechat.sent.filter((m) => m.touser === kit.openid).map((m) => m.text),
      [{ content: '已推送到 IFTTT (text)' }],
    )
  })
})

describe("the README's Tencent SCF entry", () => {
  const out = mkdtempSync(join(tmpdir(), 'wemp-ifttt-scf-'))
  const saved = { ...process.env }
  after(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
    Object.assign(process.env, saved)
    rmSync(out, { recursive: true, force: true })
  })

  test("bundles with the SCF example's esbuild settings and answers function-URL events", async () => {
    const snippet = (file: string) => {
      const readme = readFileSync(fileURLToPath(new URL(file, import.meta.url)), 'utf8')
      const block = /\n( *)```ts\n( *\/\/ index\.ts[\s\S]*?)\n *```/.exec(readme)
      assert.ok(block, `${file} has the SCF index.ts`)
      const indent = block[1]!.length
      return block[2]!
        .split('\n')
        .map((line) => line.slice(indent))
        .join('\n')
    }
    const contents = snippet('./README.md')
    assert.equal(snippet('./README.zh-CN.md'), contents, 'both READMEs show the same index.ts')
    assert.match(contents, /export const main_handler = scf\(/)
    const outfile = join(out, 'index.js')
    await build({
      ...(bundleOptions as BuildOptions),
      stdin: {
        contents,
        resolveDir: fileURLToPath(new URL('.', import.meta.url)),
        loader: 'ts',
        sourcefile: 'index.ts',
      },
      outfile,
    })
    writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n')
    Object.assign(process.env, {
      WECHAT_TOKEN: secrets.token,
      WECHAT_APP_ID: secrets.appId,
      WECHAT_ENCODING_AES_KEY: secrets.encodingAESKey,
      IFTTT_BASE: ifttt.url,
      WEMP_LOG_LEVEL: 'error',
    })
    delete process.env.WECHAT_STORE
    delete process.env.WECHAT_APP_SECRET
    const { main_handler } = createRequire(import.meta.url)(outfile) as { main_handler: ScfHandler }
    const kit = follower()
    const send = async (message: MessageInput) => {
      const request = kit.request(message, { mode: 'safe' })
      const result = await main_handler(scfFunctionUrlEvent(request))
      const res = assertValidReply(
        kit.open({ status: result.statusCode, headers: result.headers, body: result.body }, request),
      )
      return res.reply?.type === 'text' ? res.reply.content : res.reply?.type
    }
    assert.equal(await send(kit.text(`BD+${KEY_B}`)), texts.bound(KEY_B))
    assert.equal(await send(kit.text('from SCF')), '已推送到 IFTTT (text)')
    assert.deepEqual(
      ifttt.triggers.map((t) => [t.path, t.body]),
      [
        [`/trigger/ifmaker_test/with/key/${KEY_B}`, { value1: 'test' }],
        [`/trigger/text/with/key/${KEY_B}`, { value1: 'from SCF' }],
      ],
    )
  })
})
