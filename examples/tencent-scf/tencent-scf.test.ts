import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { ScfHandler, ScfResult } from 'wemp/adapters/tencent-scf'
import { createTestKit, type SignedRequest } from 'wemp/testing'
import { scfApiGatewayEvent, scfFunctionUrlEvent, scfTimerEvent } from '../../test/adapters/events.js'
import { buildScfExample } from './build.mjs'

const env = {
  WECHAT_TOKEN: 'scfexample',
  WECHAT_APP_ID: 'wx2222333344445555',
  WECHAT_ENCODING_AES_KEY: 'scfExampleKey00000000000000000000000000000000'.slice(0, 43),
}
const kit = createTestKit({
  token: env.WECHAT_TOKEN,
  appId: env.WECHAT_APP_ID,
  encodingAESKey: env.WECHAT_ENCODING_AES_KEY,
})
const MODES = ['plaintext', 'compatible', 'safe'] as const

const out = mkdtempSync(path.join(tmpdir(), 'wemp-scf-example-'))
let built: Awaited<ReturnType<typeof buildScfExample>>
let mainHandler: ScfHandler

function opened(result: ScfResult, request: SignedRequest) {
  return kit.open({ status: result.statusCode, headers: result.headers, body: result.body }, request)
}

describe('examples/tencent-scf, bundled', () => {
  before(async () => {
    built = await buildScfExample(out)
    Object.assign(process.env, env)
    const loaded = createRequire(import.meta.url)(built.event) as { main_handler: ScfHandler }
    mainHandler = loaded.main_handler
  })
  after(() => rmSync(out, { recursive: true, force: true }))

  test('is one minified CommonJS file exporting main_handler, needing nothing but Node', () => {
    assert.equal(typeof mainHandler, 'function')
    const code = readFileSync(built.event, 'utf8')
    const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])
    assert.deepEqual(
      required.filter((name) => !name?.startsWith('node:') && !/^[a-z_]+$/.test(name ?? '')),
      [],
      'only Node built-ins are required',
    )
    // Minified: long lines (the only line breaks left are inside template literals and certificates).
    assert.ok(code.length / code.split('\n').length > 500, 'minified')
  })

  for (const [name, build] of [
    ['function URL', scfFunctionUrlEvent],
    ['API gateway (legacy)', scfApiGatewayEvent],
  ] as const) {
    test(`${name}: handshake and echo in plaintext, compatible and safe mode`, async () => {
      const handshake = kit.handshake()
      assert.equal((await mainHandler(build(handshake))).body, handshake.query.echostr)
      for (const mode of MODES) {
        const request = kit.request(kit.text(`${name} ${mode} 你好`), { mode })
        const reply = opened(await mainHandler(build(request)), request)
        assert.deepEqual(reply.violations, [], mode)
        assert.deepEqual(reply.reply, { type: 'text', content: `echo: ${name} ${mode} 你好` })
      }
    })
  }

  test('counts each follower’s messages in the session; /count answers it; unsubscribe clears it', async () => {
    const follower = createTestKit({
      ...kit,
      encodingAESKey: env.WECHAT_ENCODING_AES_KEY,
      openid: 'oCounter',
    })
    for (const content of ['one', 'two'])
      await mainHandler(scfFunctionUrlEvent(follower.request(follower.text(content))))
    const count = follower.request(follower.text('/count'), { mode: 'safe' })
    assert.deepEqual(opened(await mainHandler(scfFunctionUrlEvent(count)), count).reply, {
      type: 'text',
      content: 'You have sent 3 messages.',
    })
    await mainHandler(scfFunctionUrlEvent(follower.request(follower.event('unsubscribe', {}))))
    const again = follower.request(follower.text('/count'))
    assert.deepEqual(opened(await mainHandler(scfFunctionUrlEvent(again)), again).reply, {
      type: 'text',
      content: 'You have sent 1 messages.',
    })
  })

  test('a timer or console test invocation rejects, saying what to configure', async () => {
    await assert.rejects(mainHandler(scfTimerEvent()), /not an HTTP request.*函数 URL/s)
  })

  test('without WECHAT_TOKEN the function fails to start, naming the variable', () => {
    const { WECHAT_TOKEN: _, ...rest } = process.env
    const run = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(built.event)})`], {
      env: rest,
      encoding: 'utf8',
    })
    assert.notEqual(run.status, 0)
    assert.match(run.stderr, /WECHAT_TOKEN is not set/)
  })

  test('web function: scf_bootstrap starts the bundled server, which answers all three modes', async () => {
    const bootstrap = readFileSync(built.bootstrap, 'utf8')
    assert.ok(bootstrap.startsWith('#!/bin/bash\n'))
    assert.ok(!bootstrap.includes('\r'), 'LF line endings')
    assert.match(bootstrap, /\/var\/lang\/node\d+\/bin\/node server\.js/)
    assert.match(bootstrap, /PORT=9000/)
    assert.equal(statSync(built.bootstrap).mode & 0o777, 0o755)
    // The zip keeps the executable bit (central directory: external attributes of the entry).
    const zip = readFileSync(built.webZip)
    const entry = zip.indexOf(Buffer.concat([Buffer.from([0x50, 0x4b, 0x01, 0x02])]))
    assert.ok(entry > 0)
    assert.equal(zip.subarray(entry + 46, entry + 46 + 13).toString(), 'scf_bootstrap')
    assert.equal((zip.readUInt32LE(entry + 38) >>> 16) & 0o777, 0o755)

    const child = spawn(process.execPath, [built.web], {
      env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let text = ''
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk
          const match = /listening on (\d+)/.exec(text)
          if (match) resolve(Number(match[1]))
        })
        child.on('exit', (code) => reject(new Error(`server exited (${code})`)))
      })
      const url = `http://127.0.0.1:${port}/`
      const hs = await kit.verifyUrl(url)
      assert.equal(hs.body, hs.echostr)
      for (const mode of MODES) {
        const res = await kit.send(url, kit.text(`web ${mode}`), { mode })
        assert.deepEqual(res.violations, [], mode)
        assert.deepEqual(res.reply, { type: 'text', content: `echo: web ${mode}` })
      }
      // The README's check.mjs, pointed at the running function, agrees.
      const check = spawn(process.execPath, [fileURLToPath(new URL('./check.mjs', import.meta.url)), url], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let printed = ''
      check.stdout.on('data', (chunk: Buffer) => {
        printed += chunk
      })
      const code = await new Promise<number | null>((resolve) => check.on('exit', resolve))
      assert.equal(code, 0, printed)
      assert.match(printed, /safe\s+ok: \{"type":"text","content":"echo: hello from check.mjs"\}/)
    } finally {
      child.kill()
    }
  })
})

describe('SCF example: the WeChat API from the environment', () => {
  test('WECHAT_APP_SECRET enables ctx.api (and late replies); WECHAT_API_BASE points it at a proxy', async () => {
    const { createScfBot } = await import('./bot.js')
    const base = { WECHAT_TOKEN: 'scftoken', WECHAT_APP_ID: 'wx00000000000000aa' }
    assert.equal(createScfBot(base).api, undefined)
    const bot = createScfBot({
      ...base,
      WECHAT_APP_SECRET: 'secret',
      WECHAT_API_BASE: 'http://10.0.0.9:8080/',
    })
    assert.equal(bot.api?.appId, 'wx00000000000000aa')
    assert.equal(bot.api?.baseUrl, 'http://10.0.0.9:8080')
  })
})
