import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { WempError } from '../protocol/errors.js'
import { qrCodeOf } from '../testing/wechat-api/routes/qrcode.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type WechatApi } from './client.js'
import { WechatApiError } from './errors.js'
import { QRCODE_LIMITS, qrCodeRequest } from './qrcode.js'

const appId = 'wx1234567890abcdef'
let clock = Date.UTC(2025, 0, 1)
let wechat: WechatApiStandIn
let api: WechatApi

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: 'secret' }, now: () => clock })
  api = createApi({ appId, appSecret: 'secret', baseUrl: wechat.url, logger: false, now: () => clock })
})
after(() => wechat.close())

const errcode = (code: number) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, code, error.message)
  return true
}

async function refusedLocally(run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  const calls = wechat.calls.length
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof WempError && !(error instanceof WechatApiError), String(error))
    assert.equal(error.code, 'invalid_config')
    assert.match(error.message, pattern)
    return true
  })
  assert.equal(wechat.calls.length, calls, 'no call reached the stand-in')
}

const lastBody = () => wechat.calls.filter((c) => c.path === '/cgi-bin/qrcode/create').at(-1)?.body

describe('qrcode.create', () => {
  test('a numeric scene with expireSeconds is a temporary QR_SCENE code', async () => {
    const code = await api.qrcode.create({ scene: 123, expireSeconds: 604_800 })
    assert.deepEqual(lastBody(), {
      expire_seconds: 604_800,
      action_name: 'QR_SCENE',
      action_info: { scene: { scene_id: 123 } },
    })
    assert.equal(code.expire_seconds, 604_800)
    assert.match(code.url, /^http:\/\/weixin\.qq\.com\/q\//)
    assert.deepEqual(qrCodeOf(wechat, code.ticket)?.scene, 123)
    assert.equal(qrCodeOf(wechat, code.ticket)?.expiresAt, clock + 604_800_000)
  })

  test('a string scene with expireSeconds is QR_STR_SCENE; without, QR_LIMIT_STR_SCENE', async () => {
    await api.qrcode.create({ scene: 'invite:42', expireSeconds: 60 })
    assert.deepEqual(lastBody(), {
      expire_seconds: 60,
      action_name: 'QR_STR_SCENE',
      action_info: { scene: { scene_str: 'invite:42' } },
    })
    const permanent = await api.qrcode.create({ scene: 'shop-front' })
    assert.deepEqual(lastBody(), {
      action_name: 'QR_LIMIT_STR_SCENE',
      action_info: { scene: { scene_str: 'shop-front' } },
    })
    assert.equal(permanent.expire_seconds, undefined)
    assert.deepEqual(Object.keys(permanent).sort(), ['ticket', 'url'])
  })

  test('a numeric scene without expireSeconds is a permanent QR_LIMIT_SCENE; the same scene gives the same ticket', async () => {
    const one = await api.qrcode.create({ scene: 100_000 })
    assert.deepEqual(lastBody(), {
      action_name: 'QR_LIMIT_SCENE',
      action_info: { scene: { scene_id: 100_000 } },
    })
    const again = await api.qrcode.create({ scene: 100_000 })
    assert.equal(again.ticket, one.ticket)
    assert.equal(qrCodeOf(wechat, one.ticket)?.expiresAt, undefined)
  })

  test('out-of-range values are refused before any call', async () => {
    await refusedLocally(() => api.qrcode.create({ scene: 100_001 }), /permanent numeric scene.*1 to 100000/)
    await refusedLocally(() => api.qrcode.create({ scene: 0 }), /1 to 100000/)
    await refusedLocally(() => api.qrcode.create({ scene: 0, expireSeconds: 60 }), /temporary numeric scene/)
    await refusedLocally(() => api.qrcode.create({ scene: 1.5, expireSeconds: 60 }), /integer/)
    await refusedLocally(
      () => api.qrcode.create({ scene: QRCODE_LIMITS.maxTemporarySceneId + 1, expireSeconds: 60 }),
      /temporary numeric scene/,
    )
    await refusedLocally(() => api.qrcode.create({ scene: 1, expireSeconds: 2_592_001 }), /2592000/)
    await refusedLocally(() => api.qrcode.create({ scene: 1, expireSeconds: 0 }), /expireSeconds/)
    await refusedLocally(() => api.qrcode.create({ scene: '' }), /1 to 64 characters/)
    await refusedLocally(() => api.qrcode.create({ scene: 'x'.repeat(65) }), /1 to 64 characters; got 65/)
    // the limits themselves are accepted
    await api.qrcode.create({ scene: 'x'.repeat(64) })
    await api.qrcode.create({ scene: '场'.repeat(64), expireSeconds: 2_592_000 })
    await api.qrcode.create({ scene: QRCODE_LIMITS.maxTemporarySceneId, expireSeconds: 30 })
  })

  test('the stand-in answers WeChat’s codes for what the client would refuse', async () => {
    const create = (json: unknown) => api.call('/cgi-bin/qrcode/create', { json })
    await assert.rejects(
      create({ action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: 100_001 } } }),
      errcode(40053),
    )
    await assert.rejects(
      create({ action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: 'x'.repeat(65) } } }),
      errcode(40053),
    )
    await assert.rejects(
      create({ action_name: 'QR_SCENE', action_info: { scene: { scene_id: 0 } } }),
      errcode(40053),
    )
    await assert.rejects(
      create({ action_name: 'QR_FOREVER', action_info: { scene: { scene_id: 1 } } }),
      errcode(40052),
    )
    const capped = await create({
      expire_seconds: 9_999_999,
      action_name: 'QR_SCENE',
      action_info: { scene: { scene_id: 1 } },
    })
    assert.equal(capped.expire_seconds, 2_592_000)
    const unset = await create({ action_name: 'QR_SCENE', action_info: { scene: { scene_id: 1 } } })
    assert.equal(unset.expire_seconds, 60)
  })

  test('qrCodeRequest is the body create sends', () => {
    assert.deepEqual(qrCodeRequest({ scene: 7, expireSeconds: 30 }), {
      expire_seconds: 30,
      action_name: 'QR_SCENE',
      action_info: { scene: { scene_id: 7 } },
    })
  })
})

describe('qrcode.imageUrl', () => {
  test('points at mp.weixin.qq.com/cgi-bin/showqrcode with the ticket URL-encoded, without a call', () => {
    const calls = wechat.calls.length
    assert.equal(
      api.qrcode.imageUrl('gQH47joAAAAAAAAAASxodHRw+/b==='),
      'https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQH47joAAAAAAAAAASxodHRw%2B%2Fb%3D%3D%3D',
    )
    assert.equal(wechat.calls.length, calls)
  })

  test('the image is served for a live ticket and gone once a temporary code expired', async () => {
    const code = await api.qrcode.create({ scene: 'img', expireSeconds: 120 })
    assert.match(code.ticket, /=/, 'stand-in tickets need encoding, as real ones do')
    const url = api.qrcode.imageUrl(code.ticket, wechat.url)
    const response = await fetch(url)
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'image/jpeg')
    assert.deepEqual([...new Uint8Array(await response.arrayBuffer()).slice(0, 2)], [0xff, 0xd8])
    clock += 121_000
    const expired = await fetch(url)
    assert.equal(expired.status, 404)
    await expired.body?.cancel()
  })
})
