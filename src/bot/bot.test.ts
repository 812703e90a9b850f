import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type Logger, reply, type TextMessage } from '../index.js'
import { createTestKit } from '../testing/index.js'
import { createBot } from './bot.js'

const secrets = {
  token: 'bottest',
  appId: 'wx1111222233334444',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
}

function recordingLogger() {
  const entries: { level: string; message: string; fields: Record<string, unknown> | undefined }[] = []
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    entries.push({ level, message, fields })
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { logger, entries }
}

function setup() {
  const { logger, entries } = recordingLogger()
  const bot = createBot({ ...secrets, logger })
  const kit = createTestKit(secrets)
  return { bot, kit, entries }
}

describe('routing', () => {
  test('text: exact string, regex with match, predicate, catch-all, in registration order', async () => {
    const { bot, kit } = setup()
    bot.text('help', () => 'commands: hi')
    bot.text(/^weather (\w+)$/i, (ctx) => `sunny in ${ctx.match[1]}`)
    bot.text(
      (content) => content.length > 10,
      () => 'too long',
    )
    bot.text((ctx) => `echo: ${ctx.message.content}`)
    const ask = async (content: string) => (await kit.send(bot, kit.text(content))).reply
    assert.deepEqual(await ask('help'), { type: 'text', content: 'commands: hi' })
    assert.deepEqual(await ask('weather Beijing'), { type: 'text', content: 'sunny in Beijing' })
    assert.deepEqual(await ask('a very long message'), { type: 'text', content: 'too long' })
    assert.deepEqual(await ask('hi'), { type: 'text', content: 'echo: hi' })
  })

  test('a handler returning nothing passes to the next; none answering gives success', async () => {
    const { bot, kit } = setup()
    const seen: string[] = []
    bot.text(() => {
      seen.push('first')
    })
    bot.text(async () => {
      seen.push('second')
      return undefined
    })
    const res = await kit.send(bot, kit.text('x'))
    assert.deepEqual(seen, ['first', 'second'])
    assert.deepEqual(res.reply, { type: 'success' })
    assert.equal(res.body, 'success')
  })

  test('null and empty string mean handled with success; the chain stops', async () => {
    const { bot, kit } = setup()
    let later = false
    bot.text('quiet', () => null)
    bot.text('blank', () => '')
    bot.text(() => {
      later = true
      return 'later'
    })
    assert.equal((await kit.send(bot, kit.text('quiet'))).body, 'success')
    assert.equal((await kit.send(bot, kit.text('blank'))).body, 'success')
    assert.equal(later, false)
  })

  test('events: subscribe with scene, click by key and regex, SCAN, unknown events', async () => {
    const { bot, kit } = setup()
    bot.subscribe((ctx) => `welcome, scene ${ctx.message.scene ?? 'none'}`)
    bot.click('V1001_TODAY', () => [{ title: 'a' }, { title: 'b', url: 'https://example.com' }])
    bot.click(/^MENU_(\d+)$/, (ctx) => `menu ${ctx.match[1]}`)
    bot.scan((ctx) => `scan ${ctx.message.scene}`)
    bot.event('some_future_event', (ctx) => `unknown ${ctx.message.event} ${ctx.message.msgType}`)
    const send = async (m: Parameters<typeof kit.request>[0]) => (await kit.send(bot, m)).reply
    assert.deepEqual(await send(kit.subscribe()), { type: 'text', content: 'welcome, scene none' })
    assert.deepEqual(await send(kit.subscribe('42')), { type: 'text', content: 'welcome, scene 42' })
    assert.deepEqual(await send(kit.click('V1001_TODAY')), {
      type: 'news',
      articles: [{ title: 'a' }, { title: 'b', url: 'https://example.com' }],
    })
    assert.deepEqual(await send(kit.click('MENU_7')), { type: 'text', content: 'menu 7' })
    assert.deepEqual(await send(kit.click('OTHER')), { type: 'success' })
    assert.deepEqual(await send(kit.event('SCAN', { eventKey: '99', ticket: 't' })), {
      type: 'text',
      content: 'scan 99',
    })
    const unknown = `<xml><ToUserName>gh_x</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>some_future_event</Event></xml>`
    assert.deepEqual(await send(unknown), { type: 'text', content: 'unknown some_future_event event' })
  })

  test('message types, on(), filter with a type guard, all() and fallback()', async () => {
    const { bot, kit } = setup()
    bot.fallback(() => 'fallback')
    bot.image((ctx) => reply.image(ctx.message.mediaId))
    bot.on('voice', (ctx) => `voice ${ctx.message.format}`)
    bot.filter(
      (m): m is TextMessage => m.type === 'text' && m.content.startsWith('!'),
      (ctx) => `command ${ctx.message.content.slice(1)}`,
    )
    bot.all((ctx) => (ctx.message.type === 'link' ? 'a link' : undefined))
    const send = async (m: Parameters<typeof kit.request>[0]) => (await kit.send(bot, m)).reply
    assert.deepEqual(await send(kit.message('image', { mediaId: 'M1', picUrl: 'p' })), {
      type: 'image',
      mediaId: 'M1',
    })
    assert.deepEqual(await send(kit.message('voice', { mediaId: 'V', format: 'amr' })), {
      type: 'text',
      content: 'voice amr',
    })
    assert.deepEqual(await send(kit.text('!go')), { type: 'text', content: 'command go' })
    assert.deepEqual(await send(kit.message('link', { title: 't', description: 'd', url: 'u' })), {
      type: 'text',
      content: 'a link',
    })
    assert.deepEqual(await send(kit.text('plain')), { type: 'text', content: 'fallback' })
  })

  test('every reply type reaches WeChat intact in safe mode', async () => {
    const { bot, kit } = setup()
    const replies = {
      text: reply.text('a]]>b <&>'),
      image: reply.image('img'),
      voice: reply.voice('voi'),
      video: reply.video({ mediaId: 'vid', title: 'T', description: 'D' }),
      music: reply.music({ thumbMediaId: 'th', title: 'M', musicUrl: 'http://m', hqMusicUrl: 'http://hq' }),
      news: reply.news([{ title: 'only', description: 'd', picUrl: 'p', url: 'u' }]),
      transfer: reply.transferToCustomerService('kf1@test'),
      transferAny: reply.transferToCustomerService(),
    }
    bot.text((ctx) => replies[ctx.message.content as keyof typeof replies])
    for (const [name, expected] of Object.entries(replies)) {
      const res = await kit.send(bot, kit.text(name), { mode: 'safe' })
      assert.deepEqual(res.violations, [], name)
      assert.equal(res.encrypted, true, name)
      assert.deepEqual(res.reply, expected, name)
    }
  })
})

describe('middleware', () => {
  test('runs in onion order around the handlers and can replace the reply', async () => {
    const { bot, kit } = setup()
    const order: string[] = []
    bot.use(async (ctx, next) => {
      order.push('a in')
      ctx.state.user = 'alice'
      await next()
      order.push(`a out ${ctx.reply?.type}`)
    })
    bot.use(async (_ctx, next) => {
      order.push('b in')
      await next()
      order.push('b out')
    })
    bot.use(async (ctx, next) => {
      await next()
      if (ctx.reply?.type === 'text') ctx.reply = reply.text(`${ctx.reply.content}!`)
    })
    bot.text((ctx) => {
      order.push('handler')
      return `hi ${ctx.state.user}`
    })
    const res = await kit.send(bot, kit.text('x'))
    assert.deepEqual(order, ['a in', 'b in', 'handler', 'b out', 'a out text'])
    assert.deepEqual(res.reply, { type: 'text', content: 'hi alice!' })
  })

  test('middleware may answer without calling next', async () => {
    const { bot, kit } = setup()
    let reached = false
    bot.use(async (ctx, next) => {
      if (ctx.openid === 'blocked') {
        ctx.reply = reply.text('you are blocked')
        return
      }
      await next()
    })
    bot.text(() => {
      reached = true
      return 'ok'
    })
    const res = await kit.send(bot, kit.text('x', { fromUserName: 'blocked' }))
    assert.deepEqual(res.reply, { type: 'text', content: 'you are blocked' })
    assert.equal(reached, false)
  })
})

describe('errors', () => {
  test('a throwing handler is logged with MsgId and openid, reported to onError, and WeChat gets success', async () => {
    const { bot, kit, entries } = setup()
    const reported: unknown[] = []
    bot.onError((error) => {
      reported.push(error)
    })
    bot.text(() => {
      throw new Error('boom')
    })
    const message = kit.text('x')
    const res = await kit.send(bot, message)
    assert.equal(res.status, 200)
    assert.equal(res.body, 'success')
    assert.equal(reported.length, 1)
    assert.equal((reported[0] as Error).message, 'boom')
    const logged = entries.find((e) => e.level === 'error' && e.message === 'handler failed')
    assert.ok(logged)
    assert.equal(logged.fields?.msgId, (message as { msgId: string }).msgId)
    assert.equal(logged.fields?.openid, kit.openid)
    assert.doesNotMatch(res.body, /boom|Error/)
  })

  test('onError may answer the follower; a failing onError still gives success', async () => {
    const { bot, kit, entries } = setup()
    bot.text('a', async () => {
      throw new Error('a')
    })
    bot.text('b', () => {
      throw new Error('b')
    })
    bot.onError((error) => {
      if ((error as Error).message === 'b') throw new Error('hook broke')
      return 'sorry'
    })
    assert.deepEqual((await kit.send(bot, kit.text('a'))).reply, { type: 'text', content: 'sorry' })
    assert.equal((await kit.send(bot, kit.text('b'))).body, 'success')
    assert.ok(entries.some((e) => e.message === 'onError hook failed'))
  })

  test('too many articles for a message is an invalid_reply error, with a clear message', async () => {
    const { bot, kit, entries } = setup()
    bot.text(() => [{ title: '1' }, { title: '2' }])
    bot.click('K', () => Array.from({ length: 9 }, (_, i) => ({ title: String(i) })))
    bot.click('OK', () => Array.from({ length: 8 }, (_, i) => ({ title: String(i) })))
    assert.equal((await kit.send(bot, kit.text('x'))).body, 'success')
    const logged = entries.find((e) => e.fields?.code === 'invalid_reply')
    assert.ok(logged)
    assert.match(
      String((logged.fields?.error as Error | undefined)?.message),
      /at most 1 in a reply to a message/,
    )
    assert.equal((await kit.send(bot, kit.click('K'))).body, 'success')
    const ok = await kit.send(bot, kit.click('OK'))
    assert.equal(ok.reply?.type, 'news')
    assert.deepEqual(ok.violations, [])
  })

  test('a handler returning something that is not a reply is reported', async () => {
    const { bot, kit, entries } = setup()
    bot.text(() => ({ nope: true }) as unknown as string)
    assert.equal((await kit.send(bot, kit.text('x'))).body, 'success')
    assert.ok(entries.some((e) => e.fields?.code === 'invalid_reply'))
  })
})

describe('handle(): statuses and logged reasons', () => {
  test('handshake answers echostr exactly; forged or missing signatures are 401', async () => {
    const { bot, kit, entries } = setup()
    const ok = await kit.verifyUrl(bot, { echostr: '4375120948345356249' })
    assert.equal(ok.status, 200)
    assert.equal(ok.body, '4375120948345356249')
    const forged = await bot.handle(kit.handshake({ token: 'wrongtoken' }))
    assert.equal(forged.status, 401)
    assert.match(forged.body, /^invalid_signature/)
    assert.equal((await bot.handle({ method: 'GET', query: {} })).status, 401)
    assert.ok(entries.some((e) => e.level === 'warn' && e.fields?.code === 'invalid_signature'))
  })

  test('forged POSTs in every mode are 401 and never reach a handler', async () => {
    const { bot, kit } = setup()
    let reached = 0
    bot.all(() => {
      reached++
      return 'x'
    })
    for (const mode of ['plaintext', 'compatible', 'safe'] as const) {
      const forged = await kit.send(bot, kit.text('x'), { mode, token: 'forgedtoken' })
      assert.equal(forged.status, 401, mode)
      const unsigned = await kit.send(bot, kit.text('x'), { mode, unsigned: true })
      assert.equal(unsigned.status, 401, mode)
    }
    assert.equal(reached, 0)
  })

  test('wrong AppID 403, malformed XML 400, hostile DTD 400, oversized 413, wrong method 405, all logged', async () => {
    const { bot, kit, entries } = setup()
    bot.all(() => 'x')
    assert.equal(
      (await kit.send(bot, kit.text('x'), { mode: 'safe', appId: 'wxSomeoneElse0000' })).status,
      403,
    )
    assert.equal((await kit.send(bot, '<xml><MsgType>text</MsgType>')).status, 400)
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><Content>&lol2;</Content></xml>'
    assert.equal((await kit.send(bot, bomb)).status, 400)
    const big = kit.text('x'.repeat(70 * 1024))
    assert.equal((await kit.send(bot, big)).status, 413)
    const put = await bot.handle({ method: 'PUT', query: {} })
    assert.equal(put.status, 405)
    assert.equal(put.headers.allow, 'GET, POST')
    const codes = entries.filter((e) => e.level === 'warn').map((e) => e.fields?.code)
    assert.deepEqual(codes, [
      'appid_mismatch',
      'invalid_xml',
      'invalid_xml',
      'body_too_large',
      'method_not_allowed',
    ])
  })

  test('requireEncryption refuses plaintext; maxTimestampSkew refuses stale requests', async () => {
    const now = () => 1_700_000_000_000
    const bot = createBot({ ...secrets, requireEncryption: true, maxTimestampSkew: 300, logger: false, now })
    bot.text(() => 'ok')
    const kit = createTestKit({ ...secrets, now })
    assert.equal((await kit.send(bot, kit.text('x'))).status, 403)
    assert.equal((await kit.send(bot, kit.text('x'), { mode: 'safe' })).status, 200)
    assert.equal((await kit.send(bot, kit.text('x'), { mode: 'safe', timestamp: '1699999000' })).status, 401)
  })

  test('safe mode without an EncodingAESKey is a logged 500 that says what to configure', async () => {
    const { logger, entries } = recordingLogger()
    const bot = createBot({ token: secrets.token, logger })
    const kit = createTestKit(secrets)
    const res = await kit.send(bot, kit.text('x'), { mode: 'safe' })
    assert.equal(res.status, 500)
    assert.doesNotMatch(res.body, /at |\.ts:|\.js:/)
    assert.ok(entries.some((e) => e.fields?.code === 'encryption_not_configured'))
  })

  test('configuration errors are thrown by createBot with a clear message', () => {
    assert.throws(() => createBot({ token: '' }), /token must be/)
    assert.throws(
      () => createBot({ token: 'ok123', encodingAESKey: secrets.encodingAESKey }),
      /appId is required/,
    )
    assert.throws(() => createBot({ token: 'ok123', appId: 'wx1', encodingAESKey: 'short' }), /-40004/)
    assert.throws(() => createBot({ token: 'ok123', requireEncryption: true }), /requireEncryption needs/)
  })
})

describe('fetch()', () => {
  test('serves web-standard Request/Response in all three modes', async () => {
    const { bot, kit } = setup()
    bot.text((ctx) => `echo: ${ctx.message.content}`)
    for (const mode of ['plaintext', 'compatible', 'safe'] as const) {
      const request = kit.request(kit.text('你好 🌏'), { mode })
      const response = await bot.fetch(
        new Request(`https://bot.example.com/wechat${request.search}`, {
          method: 'POST',
          body: request.body,
        }),
      )
      const opened = kit.open(
        {
          status: response.status,
          headers: Object.fromEntries(response.headers),
          body: await response.text(),
        },
        request,
      )
      assert.deepEqual(opened.violations, [], mode)
      assert.deepEqual(opened.reply, { type: 'text', content: 'echo: 你好 🌏' }, mode)
    }
    const hs = kit.handshake({ echostr: 'abc' })
    const res = await bot.fetch(new Request(`https://bot.example.com/wechat${hs.search}`))
    assert.equal(await res.text(), 'abc')
  })

  test('stops reading a body over the limit (413), even without content-length', async () => {
    const { bot, kit } = setup()
    const request = kit.request(kit.text('x'))
    let pulled = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        controller.enqueue(new Uint8Array(16 * 1024))
        if (pulled > 1000) controller.close()
      },
    })
    const response = await bot.fetch(
      new Request(`https://x/wechat${request.search}`, {
        method: 'POST',
        body: stream,
        duplex: 'half',
      } as RequestInit),
    )
    assert.equal(response.status, 413)
    assert.ok(pulled < 10, `read ${pulled} chunks`)
  })
})

describe('dispatch()', () => {
  test('runs handlers for a message without HTTP', async () => {
    const { bot, kit } = setup()
    bot.text((ctx) => `mode ${ctx.mode}`)
    const { parseMessage, parseXml, buildMessageXml } = await import('../index.js')
    const message = parseMessage(parseXml(buildMessageXml(kit.text('x'))))
    assert.deepEqual(await bot.dispatch(message, { mode: 'safe' }), { type: 'text', content: 'mode safe' })
  })
})
