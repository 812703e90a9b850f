/**
 * One conformance suite for every adapter: the test kit's requests (the handshake, every message
 * type and a set of events in plaintext, compatible and safe mode, forged signatures, malformed
 * and oversized bodies, base64 bodies) are replayed through each platform's recorded-shape event
 * (test/adapters/events.ts) or, for the Node frameworks, over real HTTP on 127.0.0.1 with and
 * without body parsers. Every reply must pass `kit.open()` with no violations.
 */
import assert from 'node:assert/strict'
import { createServer as createHttpServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import Koa from 'koa'
import { fc } from '../../src/adapters/aliyun-fc/index.js'
import { lambda } from '../../src/adapters/aws-lambda/index.js'
import type { AlbResult, LambdaResult } from '../../src/adapters/aws-lambda/types.js'
import { expressMiddleware } from '../../src/adapters/express/index.js'
import { fastifyPlugin } from '../../src/adapters/fastify/index.js'
import { koaMiddleware } from '../../src/adapters/koa/index.js'
import { createServer } from '../../src/adapters/node/index.js'
import { scf } from '../../src/adapters/tencent-scf/index.js'
import { fetchHandler, worker } from '../../src/adapters/web/index.js'
import type { WempResponse } from '../../src/bot/request.js'
import { createBot, type MessageInput, type Reply, reply } from '../../src/index.js'
import type { Mode } from '../../src/protocol/push.js'
import { createTestKit, type SignedRequest } from '../../src/testing/index.js'
import {
  albEvent,
  type EventOptions,
  fcHttpEvent,
  fcTimerEvent,
  lambdaFunctionUrlEvent,
  lambdaHttpApiEvent,
  lambdaRestEvent,
  lambdaScheduleEvent,
  scfApiGatewayEvent,
  scfConsoleTestEvent,
  scfFunctionUrlEvent,
  scfTimerEvent,
} from './events.js'

const secrets = {
  token: 'conformance',
  appId: 'wx7777888899990000',
  encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
}
const LIMIT = 8 * 1024
const MODES: Mode[] = ['plaintext', 'compatible', 'safe']

// ── the bot every adapter serves, and what it must answer ────────────────────

const bot = createBot({ ...secrets, logger: false, maxBodySize: LIMIT })
bot.text((ctx) => `echo: ${ctx.message.content}`)
bot.image((ctx) => reply.image(ctx.message.mediaId))
bot.voice((ctx) => reply.voice(ctx.message.mediaId))
bot.video((ctx) => reply.video({ mediaId: ctx.message.mediaId, title: 'your video' }))
bot.subscribe((ctx) => `welcome, scene ${ctx.message.scene ?? 'none'}`)
bot.unsubscribe(() => null)
bot.event('LOCATION', () => null)
bot.click('NEWS', () => [
  { title: 'One', description: 'first', picUrl: 'https://example.com/1.png', url: 'https://example.com/1' },
  { title: 'Two', url: 'https://example.com/2' },
])
bot.all((ctx) => {
  const m = ctx.message
  return m.type === 'event' ? `got event ${m.event}` : `got ${m.type}`
})

const kit = createTestKit(secrets)

interface Case {
  name: string
  message: MessageInput
  expected: Reply
}

/** Every message type and a set of events, built fresh (new MsgIds and timestamps) per call. */
function cases(): Case[] {
  const text = (content: string): Reply => ({ type: 'text', content })
  return [
    { name: 'text', message: kit.text('你好 wemp'), expected: text('echo: 你好 wemp') },
    { name: 'text with ]]>', message: kit.text('a]]>b <c> & d'), expected: text('echo: a]]>b <c> & d') },
    {
      name: 'image',
      message: kit.message('image', { mediaId: 'MEDIA_IMG', picUrl: 'https://example.com/p.jpg' }),
      expected: { type: 'image', mediaId: 'MEDIA_IMG' },
    },
    {
      name: 'voice',
      message: kit.message('voice', { mediaId: 'MEDIA_VOICE', format: 'amr', recognition: '你好' }),
      expected: { type: 'voice', mediaId: 'MEDIA_VOICE' },
    },
    {
      name: 'video',
      message: kit.message('video', { mediaId: 'MEDIA_VIDEO', thumbMediaId: 'THUMB' }),
      expected: { type: 'video', mediaId: 'MEDIA_VIDEO', title: 'your video' },
    },
    {
      name: 'shortvideo',
      message: kit.message('shortvideo', { mediaId: 'MEDIA_SV', thumbMediaId: 'THUMB' }),
      expected: text('got shortvideo'),
    },
    {
      name: 'location',
      message: kit.message('location', {
        latitude: 23.134521,
        longitude: 113.358803,
        scale: 15,
        label: '广州',
      }),
      expected: text('got location'),
    },
    {
      name: 'link',
      message: kit.message('link', {
        title: 'wemp',
        description: 'docs',
        url: 'https://example.com/?a=1&b=2',
      }),
      expected: text('got link'),
    },
    {
      name: 'file',
      message: kit.message('file', {
        title: 'a.pdf',
        description: 'a file',
        fileKey: 'KEY',
        fileMd5: 'd41d8cd98f00b204e9800998ecf8427e',
        fileTotalLen: 1024,
      }),
      expected: text('got file'),
    },
    {
      name: 'miniprogrampage',
      message: kit.message('miniprogrampage', {
        title: 'mini',
        appId: 'wxabcdef0123456789',
        pagePath: 'pages/index?x=1',
        thumbUrl: 'https://example.com/t.png',
      }),
      expected: text('got miniprogrampage'),
    },
    { name: 'subscribe', message: kit.subscribe('promo'), expected: text('welcome, scene promo') },
    { name: 'unsubscribe', message: kit.event('unsubscribe', {}), expected: { type: 'success' } },
    {
      name: 'SCAN',
      message: kit.event('SCAN', { eventKey: '99', ticket: 'T' }),
      expected: text('got event SCAN'),
    },
    {
      name: 'LOCATION',
      message: kit.event('LOCATION', { latitude: 23.1, longitude: 113.3, precision: 65 }),
      expected: { type: 'success' },
    },
    {
      name: 'CLICK (news)',
      message: kit.click('NEWS'),
      expected: {
        type: 'news',
        articles: [
          {
            title: 'One',
            description: 'first',
            picUrl: 'https://example.com/1.png',
            url: 'https://example.com/1',
          },
          { title: 'Two', url: 'https://example.com/2' },
        ],
      },
    },
    { name: 'CLICK', message: kit.click('OTHER'), expected: text('got event CLICK') },
    {
      name: 'VIEW',
      message: kit.event('VIEW', { eventKey: 'https://example.com/menu' }),
      expected: text('got event VIEW'),
    },
    {
      name: 'scancode_push',
      message: kit.event('scancode_push', {
        eventKey: 'SCAN_1',
        scanCodeInfo: { scanType: 'qrcode', scanResult: 'https://example.com' },
      }),
      expected: text('got event scancode_push'),
    },
    {
      name: 'pic_sysphoto',
      message: kit.event('pic_sysphoto', {
        eventKey: 'PIC_1',
        sendPicsInfo: { count: 1, picList: [{ picMd5Sum: '1b5f7c23b5bf75682a53e7b6d163e185' }] },
      }),
      expected: text('got event pic_sysphoto'),
    },
    {
      name: 'TEMPLATESENDJOBFINISH',
      message: kit.event('TEMPLATESENDJOBFINISH', { msgId: '200163836', status: 'success' }),
      expected: text('got event TEMPLATESENDJOBFINISH'),
    },
  ]
}

// ── the targets: one per adapter and platform shape ──────────────────────────

interface Target {
  name: string
  /** Whether the platform can deliver a base64 body. */
  base64: boolean
  /** Whether the target is a JSON-event handler (non-HTTP invocations must reject). */
  invokeNonHttp?: () => Promise<unknown>[]
  send(request: SignedRequest, options?: EventOptions): Promise<WempResponse>
  start?(): Promise<void>
  stop?(): Promise<void>
}

function exactKeys(value: object, keys: string[], what: string): void {
  assert.deepEqual(Object.keys(value).sort(), [...keys].sort(), `${what} result keys`)
}

function fromProxy(result: {
  statusCode: number
  headers: Record<string, string>
  body: string
}): WempResponse {
  assert.equal(typeof result.body, 'string')
  return { status: result.statusCode, headers: result.headers, body: result.body }
}

const scfHandler = scf(bot)
const lambdaHandler = lambda(bot)
const fcHandler = fc(bot)

function scfTarget(name: string, build: (request: SignedRequest, options: EventOptions) => object): Target {
  return {
    name,
    base64: true,
    invokeNonHttp: () => [scfHandler(scfTimerEvent()), scfHandler(scfConsoleTestEvent())],
    async send(request, options = {}) {
      const result = await scfHandler(build(request, options))
      exactKeys(result, ['isBase64Encoded', 'statusCode', 'headers', 'body'], 'SCF')
      assert.equal(result.isBase64Encoded, false)
      return fromProxy(result)
    },
  }
}

function lambdaTarget(
  name: string,
  build: (request: SignedRequest, options: EventOptions) => object,
): Target {
  return {
    name,
    base64: true,
    invokeNonHttp: () => [lambdaHandler(lambdaScheduleEvent()), lambdaHandler({ key1: 'v', key2: 'v' })],
    async send(request, options = {}) {
      const event = build(request, options)
      const result: LambdaResult = await lambdaHandler(event)
      assert.equal(result.isBase64Encoded, false)
      if (
        !(
          'requestContext' in event &&
          typeof event.requestContext === 'object' &&
          event.requestContext &&
          'elb' in event.requestContext
        )
      ) {
        exactKeys(result, ['statusCode', 'headers', 'body', 'isBase64Encoded'], 'Lambda proxy')
        return fromProxy(result as { statusCode: number; headers: Record<string, string>; body: string })
      }
      const alb = result as AlbResult
      assert.match(alb.statusDescription, new RegExp(`^${alb.statusCode} \\S`))
      const multiValue = 'multiValueHeaders' in event && event.multiValueHeaders !== undefined
      exactKeys(
        alb,
        [
          'statusCode',
          'statusDescription',
          multiValue ? 'multiValueHeaders' : 'headers',
          'body',
          'isBase64Encoded',
        ],
        'ALB',
      )
      const headers: Record<string, string> = { ...alb.headers }
      for (const [key, values] of Object.entries(alb.multiValueHeaders ?? {}))
        headers[key] = values.join(', ')
      return { status: alb.statusCode, headers, body: alb.body }
    },
  }
}

const fcTarget: Target = {
  name: 'aliyun-fc: FC 3.0 HTTP trigger (Buffer event)',
  base64: true,
  invokeNonHttp: () => [fcHandler(fcTimerEvent()), fcHandler(Buffer.from('not json'))],
  async send(request, options = {}) {
    const result = await fcHandler(fcHttpEvent(request, options))
    exactKeys(result, ['statusCode', 'headers', 'isBase64Encoded', 'body'], 'FC')
    assert.equal(result.isBase64Encoded, false)
    return fromProxy(result)
  },
}

async function fromFetchResponse(response: Response): Promise<WempResponse> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, key) => {
    headers[key] = value
  })
  return { status: response.status, headers, body: await response.text() }
}

function webRequest(base: string, request: SignedRequest): Request {
  const init: RequestInit = { method: request.method, headers: { 'content-type': 'text/xml' } }
  if (request.method !== 'GET' && request.method !== 'HEAD') init.body = request.body
  return new Request(`${base}${request.search}`, init)
}

function fetchTarget(name: string, handle: (request: Request) => Promise<Response>): Target {
  return {
    name,
    base64: false,
    send: async (request) =>
      fromFetchResponse(await handle(webRequest('https://bot.example.com/wechat', request))),
  }
}

/** A target served over real HTTP on 127.0.0.1, by whatever `listen` starts. */
function httpTarget(
  name: string,
  listen: () => Promise<{ server: Server; close?: () => Promise<void> }>,
  path = '/wechat',
): Target {
  let base = ''
  let close: (() => Promise<void>) | undefined
  return {
    name,
    base64: false,
    async start() {
      const started = await listen()
      close = started.close ?? (() => new Promise<void>((resolve) => started.server.close(() => resolve())))
      base = `http://127.0.0.1:${(started.server.address() as AddressInfo).port}${path}`
    },
    async stop() {
      await close?.()
    },
    send: async (request) => {
      const init: RequestInit = { method: request.method, headers: { 'content-type': 'text/xml' } }
      if (request.method !== 'GET') init.body = request.body
      return fromFetchResponse(await fetch(`${base}${request.search}`, init))
    },
  }
}

function listening(server: Server): Promise<{ server: Server }> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server })))
}

/** What koa-bodyparser and @koa/bodyparser do for the types they parse: read it all, keep rawBody. */
function koaBodyParserLike(options: { keepRawBody: boolean; textAsString: boolean }): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.method === 'POST') {
      const chunks: Buffer[] = []
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer)
      const raw = Buffer.concat(chunks).toString('utf8')
      const type = ctx.get('content-type')
      const request = ctx.request as typeof ctx.request & { body?: unknown; rawBody?: string }
      if (options.keepRawBody) request.rawBody = raw
      if (/json/.test(type)) request.body = JSON.parse(raw)
      else if (/xml|text/.test(type) && options.textAsString) request.body = raw
      else request.body = Object.fromEntries(new URLSearchParams(raw))
    }
    await next()
  }
}

function fastifyTarget(name: string, configure: (app: FastifyInstance) => void): Target {
  return httpTarget(name, async () => {
    const app = Fastify()
    configure(app)
    await app.register(fastifyPlugin(bot), { prefix: '/wechat' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    return { server: app.server, close: () => app.close() }
  })
}

const targets: Target[] = [
  scfTarget('tencent-scf: function URL', (r, o) => scfFunctionUrlEvent(r, o)),
  scfTarget(
    'tencent-scf: API gateway (/release stage, ANY, lower-case headers, list and true query values)',
    (r, o) => scfApiGatewayEvent(r, { ...o, extraQuery: true }),
  ),
  scfTarget('tencent-scf: API gateway (capitalised headers, no isBase64Encoded)', (r, o) =>
    scfApiGatewayEvent(r, { ...o, capitalisedHeaders: true, omitIsBase64Encoded: !o.base64 }),
  ),
  scfTarget('tencent-scf: API gateway (2018 \\u003c-escaped body)', (r, o) =>
    scfApiGatewayEvent(r, { ...o, escapedBody: !o.base64 }),
  ),
  lambdaTarget('aws-lambda: API Gateway REST (v1 proxy)', (r, o) => lambdaRestEvent(r, o)),
  lambdaTarget('aws-lambda: API Gateway HTTP API (v2, named stage)', (r, o) =>
    lambdaHttpApiEvent(r, { ...o, stage: 'prod' }),
  ),
  lambdaTarget('aws-lambda: function URL', (r, o) => lambdaFunctionUrlEvent(r, o)),
  lambdaTarget('aws-lambda: ALB', (r, o) => albEvent(r, o)),
  lambdaTarget('aws-lambda: ALB (multi-value headers)', (r, o) => albEvent(r, { ...o, multiValue: true })),
  fcTarget,
  fetchTarget('web: bot.fetch with Node Request/Response', fetchHandler(bot)),
  fetchTarget('web: Workers-style export default { fetch }', (request) =>
    worker(bot).fetch(
      request,
      {},
      {
        waitUntil() {},
      },
    ),
  ),
  httpTarget('tencent-scf web function: node adapter (as scf_bootstrap runs it)', () =>
    listening(createServer(bot, { path: '/wechat' })),
  ),
  httpTarget('express: no body parser', () => {
    const app = express()
    app.all('/wechat', expressMiddleware(bot))
    return listening(createHttpServer(app))
  }),
  httpTarget('express: express.json() and express.urlencoded() mounted first', () => {
    const app = express()
    app.use(express.json(), express.urlencoded({ extended: false }))
    app.all('/wechat', expressMiddleware(bot))
    return listening(createHttpServer(app))
  }),
  httpTarget("express: express.text({ type: '*/*' }) first", () => {
    const app = express()
    app.use(express.text({ type: '*/*' }))
    app.use(expressMiddleware(bot, { path: '/wechat' }))
    return listening(createHttpServer(app))
  }),
  httpTarget("express: express.raw({ type: '*/*' }) first", () => {
    const app = express()
    app.use(express.raw({ type: '*/*' }))
    app.all('/wechat', expressMiddleware(bot))
    return listening(createHttpServer(app))
  }),
  httpTarget('koa: no body parser', () => {
    const app = new Koa()
    app.use(koaMiddleware(bot, { path: '/wechat' }))
    return listening(createHttpServer(app.callback()))
  }),
  httpTarget('koa: a bodyparser that keeps ctx.request.rawBody', () => {
    const app = new Koa()
    app.use(koaBodyParserLike({ keepRawBody: true, textAsString: false }))
    app.use(koaMiddleware(bot, { path: '/wechat' }))
    return listening(createHttpServer(app.callback()))
  }),
  httpTarget('koa: a bodyparser that leaves XML as a string body', () => {
    const app = new Koa()
    app.use(koaBodyParserLike({ keepRawBody: false, textAsString: true }))
    app.use(koaMiddleware(bot, { path: '/wechat' }))
    return listening(createHttpServer(app.callback()))
  }),
  fastifyTarget('fastify: plugin', () => {}),
  fastifyTarget('fastify: plugin, with an app-wide XML parser that returns objects', (app) => {
    app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string' }, (_req, body, done) =>
      done(null, { parsed: String(body).length }),
    )
  }),
]

// ── the suite ────────────────────────────────────────────────────────────────

function assertReply(
  target: Target,
  request: SignedRequest,
  response: WempResponse,
  expected: Reply,
  what: string,
) {
  const opened = kit.open(response, request)
  assert.deepEqual(opened.violations, [], `${target.name} / ${what}: ${response.status} ${response.body}`)
  assert.deepEqual(opened.reply, expected, `${target.name} / ${what}`)
  if (request.mode === 'safe' && expected.type !== 'success') assert.equal(opened.encrypted, true, what)
}

for (const target of targets) {
  describe(target.name, () => {
    if (target.start) before(() => target.start?.())
    if (target.stop) after(() => target.stop?.())

    test('handshake answers echostr exactly', async () => {
      const request = kit.handshake({ echostr: 'echo 1+2/3=ok' })
      const response = await target.send(request)
      assert.equal(response.status, 200)
      assert.equal(response.body, 'echo 1+2/3=ok')
    })

    for (const mode of MODES) {
      test(`${mode} mode: every message type and a set of events`, async () => {
        for (const { name, message, expected } of cases()) {
          const request = kit.request(message, { mode })
          assertReply(target, request, await target.send(request), expected, `${mode} ${name}`)
        }
      })
    }

    test('forged signatures are refused with 401 (handshake and all three modes)', async () => {
      const handshake = await target.send(kit.handshake({ token: 'forgedtoken' }))
      assert.equal(handshake.status, 401)
      for (const mode of MODES) {
        const forged = await target.send(kit.request(kit.text('forged'), { mode, token: 'forgedtoken' }))
        assert.equal(forged.status, 401, mode)
        const unsigned = await target.send(kit.request(kit.text('unsigned'), { mode, unsigned: true }))
        assert.equal(unsigned.status, 401, `${mode} unsigned`)
      }
    })

    test('malformed bodies are refused with 400', async () => {
      for (const body of [
        '<xml><ToUserName>',
        'not xml at all',
        '<!DOCTYPE x [<!ENTITY e "e">]><xml>&e;</xml>',
      ]) {
        const response = await target.send(kit.request(body))
        assert.equal(response.status, 400, body)
      }
      const garbage = await target.send(kit.request('<xml><MsgType>text', { mode: 'safe' }))
      assert.equal(garbage.status, 400, 'safe mode, garbage inside the ciphertext')
    })

    test('bodies over maxBodySize are refused with 413', async () => {
      const response = await target.send(kit.request(kit.text('x'.repeat(LIMIT + 100))))
      assert.equal(response.status, 413)
    })

    test('methods other than GET and POST are 405', async () => {
      const request = { ...kit.request(kit.text('put')), method: 'PUT' }
      assert.equal((await target.send(request)).status, 405)
    })

    if (target.base64) {
      test('base64 bodies (isBase64Encoded) in all three modes, and the limit on their decoded size', async () => {
        for (const mode of MODES) {
          const request = kit.request(kit.text('base64 你好'), { mode })
          assertReply(
            target,
            request,
            await target.send(request, { base64: true }),
            { type: 'text', content: 'echo: base64 你好' },
            `${mode} base64`,
          )
        }
        // 6000 bytes of XML is 8000 base64 characters: under the limit only once decoded.
        const near = kit.request(kit.text('y'.repeat(LIMIT - 2400)))
        assert.ok(Buffer.from(near.body).toString('base64').length > LIMIT - 300)
        assert.equal((await target.send(near, { base64: true })).status, 200)
        const over = await target.send(kit.request(kit.text('z'.repeat(LIMIT + 10))), { base64: true })
        assert.equal(over.status, 413)
      })
    }

    const invokeNonHttp = target.invokeNonHttp
    if (invokeNonHttp) {
      test('non-HTTP invocations (timer, console test) reject with an Error that says what to configure', async () => {
        for (const invocation of invokeNonHttp()) {
          await assert.rejects(invocation, (error: Error) => {
            assert.match(error.message, /not an HTTP request/)
            assert.match(error.message, /MP console/)
            return true
          })
        }
      })
    }
  })
}

// ── body parsers that consume and mangle the XML ─────────────────────────────

describe('frameworks whose body parser consumed the XML', () => {
  const servers: Target[] = [
    httpTarget("express: express.urlencoded({ type: '*/*' }) first", () => {
      const app = express()
      app.use(express.urlencoded({ type: '*/*', extended: false }))
      app.all('/wechat', expressMiddleware(bot))
      return listening(createHttpServer(app))
    }),
    httpTarget('koa: a bodyparser that turns every body into an object', () => {
      const app = new Koa()
      app.use(koaBodyParserLike({ keepRawBody: false, textAsString: false }))
      app.use(koaMiddleware(bot, { path: '/wechat' }))
      return listening(createHttpServer(app.callback()))
    }),
  ]
  before(async () => {
    for (const server of servers) await server.start?.()
  })
  after(async () => {
    for (const server of servers) await server.stop?.()
  })

  test('answer 500 saying to mount wemp before the body parser or use raw/text', async () => {
    for (const server of servers) {
      const response = await server.send(kit.request(kit.text('mangled')))
      assert.equal(response.status, 500, server.name)
      assert.match(response.body, /^body_parsed: a body parser read this XML body before wemp/, server.name)
      assert.match(response.body, /before|raw|text/, server.name)
      // The handshake has no body: it still works.
      const handshake = kit.handshake()
      assert.equal((await server.send(handshake)).body, handshake.query.echostr, server.name)
    }
  })

  test('a JSON body (not from WeChat) parsed by express.json() is a 400', async () => {
    const app = express()
    app.use(express.json())
    app.all('/wechat', expressMiddleware(bot))
    const { server } = await listening(createHttpServer(app))
    try {
      const request = kit.request(kit.text('json'))
      const response = await fetch(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/wechat${request.search}`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"xml":1}' },
      )
      assert.equal(response.status, 400)
      assert.match(await response.text(), /WeChat sends XML/)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
