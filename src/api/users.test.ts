import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { WempError } from '../protocol/errors.js'
import { addFollower, followerOf, removeFollower } from '../testing/wechat-api/routes/users.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type WechatApi } from './client.js'
import { WechatApiError } from './errors.js'
import { USER_LIMITS } from './users.js'

const appId = 'wx1234567890abcdef'
const otherAppId = 'wxfedcba0987654321'
/** An account with many followers, for paging. */
const bigAppId = 'wxb1b2b3b4b5b6b7b8'
/** An account whose tags fill up. */
const tagAppId = 'wxa1a2a3a4a5a6a7a8'

let wechat: WechatApiStandIn
let api: WechatApi
let big: WechatApi
let tagApp: WechatApi

const oid = (n: number, prefix = 'oUser') => `${prefix}${String(n).padStart(20, '0')}`

before(async () => {
  wechat = await startWechatApiStandIn({
    apps: { [appId]: 'secret', [otherAppId]: 'secret2', [bigAppId]: 'secret3', [tagAppId]: 'secret4' },
  })
  const client = (id: string, secret: string) =>
    createApi({ appId: id, appSecret: secret, baseUrl: wechat.url, logger: false })
  api = client(appId, 'secret')
  big = client(bigAppId, 'secret3')
  tagApp = client(tagAppId, 'secret4')
  for (let i = 0; i < 10; i++) addFollower(wechat, appId, oid(i), { subscribe_time: 1_700_000_000 + i })
  addFollower(wechat, otherAppId, 'oOtherAppFollower0000001')
})
after(() => wechat.close())

const errcode = (code: number) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, code, error.message)
  return true
}

/** Asserts that `run` is refused by the client (invalid_config) without any HTTP call. */
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

const lastCall = (path: string) => wechat.calls.filter((c) => c.path === path).at(-1)

describe('user: info, batchInfo, remarks', () => {
  test('info answers the follower as WeChat does, and sends openid and lang', async () => {
    addFollower(wechat, appId, 'oInfoFollower00000000001', {
      unionid: 'uUnion0001',
      subscribe_time: 1_700_000_123,
      subscribe_scene: 'ADD_SCENE_QR_CODE',
      qr_scene: 42,
    })
    const info = await api.user.info('oInfoFollower00000000001', 'en')
    assert.deepEqual(info, {
      subscribe: 1,
      openid: 'oInfoFollower00000000001',
      language: 'zh_CN',
      subscribe_time: 1_700_000_123,
      unionid: 'uUnion0001',
      remark: '',
      groupid: 0,
      tagid_list: [],
      subscribe_scene: 'ADD_SCENE_QR_CODE',
      qr_scene: 42,
      qr_scene_str: '',
    })
    assert.deepEqual(lastCall('/cgi-bin/user/info')?.query.openid, 'oInfoFollower00000000001')
    assert.equal(lastCall('/cgi-bin/user/info')?.query.lang, 'en')
  })

  test('an openid that never followed is 40003; one who unfollowed answers subscribe 0', async () => {
    await assert.rejects(api.user.info('oNeverFollowed0000000001'), errcode(40003))
    await assert.rejects(api.user.info('oOtherAppFollower0000001'), errcode(40003))
    addFollower(wechat, appId, 'oLeaver00000000000000001')
    removeFollower(wechat, appId, 'oLeaver00000000000000001')
    assert.deepEqual(await api.user.info('oLeaver00000000000000001'), {
      subscribe: 0,
      openid: 'oLeaver00000000000000001',
    })
  })

  test('batchInfo sends user_list with each lang and answers the infos in order', async () => {
    const infos = await api.user.batchInfo([oid(2), { openid: oid(1), lang: 'zh_TW' }], 'en')
    assert.deepEqual(
      infos.map((i) => [i.openid, i.subscribe_time]),
      [
        [oid(2), 1_700_000_002],
        [oid(1), 1_700_000_001],
      ],
    )
    assert.deepEqual(lastCall('/cgi-bin/user/info/batchget')?.body, {
      user_list: [
        { openid: oid(2), lang: 'en' },
        { openid: oid(1), lang: 'zh_TW' },
      ],
    })
  })

  test('batchInfo refuses more than 100 users before calling; an empty list makes no call', async () => {
    const list = Array.from({ length: USER_LIMITS.batchInfo + 1 }, (_, i) => oid(i))
    await refusedLocally(() => api.user.batchInfo(list), /at most 100 users/)
    const calls = wechat.calls.length
    assert.deepEqual(await api.user.batchInfo([]), [])
    assert.equal(wechat.calls.length, calls)
    // 100 is fine (unknown openids make WeChat answer 40003, which shows the call went through).
    await assert.rejects(api.user.batchInfo(list.slice(0, 100)), errcode(40003))
  })

  test('the stand-in answers 40032 for a batchget over 100 users, as WeChat does', async () => {
    const user_list = Array.from({ length: 101 }, (_, i) => ({ openid: oid(i % 10) }))
    await assert.rejects(api.call('/cgi-bin/user/info/batchget', { json: { user_list } }), errcode(40032))
    await assert.rejects(api.call('/cgi-bin/user/info/batchget', { json: { user_list: [] } }), errcode(40032))
  })

  test('updateRemark sets the remark user/info then answers', async () => {
    await api.user.updateRemark(oid(3), 'VIP 张三')
    assert.deepEqual(lastCall('/cgi-bin/user/info/updateremark')?.body, {
      openid: oid(3),
      remark: 'VIP 张三',
    })
    assert.equal((await api.user.info(oid(3))).remark, 'VIP 张三')
    await assert.rejects(api.user.updateRemark('oNeverFollowed0000000001', 'x'), errcode(40003))
  })
})

describe('user: the follower list', () => {
  test('list answers one page in follow order with total and next_openid', async () => {
    const page = await api.user.list()
    assert.equal(page.total, page.count)
    assert.deepEqual(
      page.data.openid.slice(0, 10),
      Array.from({ length: 10 }, (_, i) => oid(i)),
    )
    assert.equal(page.next_openid, page.data.openid.at(-1))
    const rest = await api.user.list(oid(7))
    assert.deepEqual(rest.data.openid.slice(0, 2), [oid(8), oid(9)])
    assert.equal(lastCall('/cgi-bin/user/get')?.query.next_openid, oid(7))
    await assert.rejects(api.user.list('oNeverFollowed0000000001'), errcode(40003))
  })

  test('all() follows next_openid across 10 000-openid pages and yields every follower once', async () => {
    const count = 2 * USER_LIMITS.page + 5
    for (let i = 0; i < count; i++) addFollower(wechat, bigAppId, oid(i, 'oBig'))
    removeFollower(wechat, bigAppId, oid(3, 'oBig'))
    const before = wechat.count('/cgi-bin/user/get')
    const seen: string[] = []
    for await (const openid of big.user.all()) seen.push(openid)
    assert.equal(seen.length, count - 1)
    assert.equal(new Set(seen).size, seen.length)
    assert.equal(seen[3], oid(4, 'oBig'), 'the unfollowed one is left out')
    assert.equal(seen.at(-1), oid(count - 1, 'oBig'))
    const calls = wechat.calls.filter((c) => c.path === '/cgi-bin/user/get').slice(before)
    assert.deepEqual(
      calls.map((c) => c.query.next_openid),
      [undefined, oid(USER_LIMITS.page, 'oBig'), oid(2 * USER_LIMITS.page, 'oBig')],
      'three pages, each starting after the last openid of the previous one',
    )
  })

  test('all() stops at an empty page when the total is not reached (followers left meanwhile)', async () => {
    const pages = [
      { total: 5, count: 2, data: { openid: ['a', 'b'] }, next_openid: 'b' },
      { total: 5, count: 0, next_openid: '' },
    ]
    const fake = createApi({
      appId,
      accessToken: async () => 'token',
      logger: false,
      fetch: async () => Response.json(pages.shift() ?? { errcode: 500, errmsg: 'called too often' }),
    })
    const seen: string[] = []
    for await (const openid of fake.user.all()) seen.push(openid)
    assert.deepEqual(seen, ['a', 'b'])
    assert.equal(pages.length, 0)
  })
})

describe('tag', () => {
  test('create, list with counts, update, delete', async () => {
    const vip = await api.tag.create('VIP')
    assert.equal(vip.name, 'VIP')
    assert.ok(vip.id > 2, 'ids 0–2 are the system tags')
    assert.deepEqual(lastCall('/cgi-bin/tags/create')?.body, { tag: { name: 'VIP' } })
    await api.tag.tag(vip.id, [oid(0), oid(1)])
    assert.deepEqual(
      (await api.tag.list()).find((t) => t.id === vip.id),
      { id: vip.id, name: 'VIP', count: 2 },
    )
    await api.tag.update(vip.id, '贵宾')
    assert.deepEqual(lastCall('/cgi-bin/tags/update')?.body, { tag: { id: vip.id, name: '贵宾' } })
    assert.equal((await api.tag.list()).find((t) => t.id === vip.id)?.name, '贵宾')
    await api.tag.delete(vip.id)
    assert.equal(
      (await api.tag.list()).find((t) => t.id === vip.id),
      undefined,
    )
    assert.deepEqual(await api.tag.ofUser(oid(0)), [], 'deleting a tag untags its followers')
    await assert.rejects(api.tag.delete(vip.id), errcode(45159))
  })

  test('duplicate names are 45157; names over 30 bytes are refused before calling (45158 on WeChat)', async () => {
    await api.tag.create('广东')
    await assert.rejects(api.tag.create('广东'), errcode(45157))
    const long = '一二三四五六七八九十一' // 11 characters, 33 bytes
    await refusedLocally(() => api.tag.create(long), /at most 30 bytes/)
    await refusedLocally(() => api.tag.create(''), /non-empty/)
    await assert.rejects(api.call('/cgi-bin/tags/create', { json: { tag: { name: long } } }), errcode(45158))
    await api.tag.create('一二三四五六七八九十') // exactly 30 bytes
  })

  test('the system tags 0, 1, 2 cannot be changed (45058)', async () => {
    for (const id of [0, 1, 2]) {
      await assert.rejects(api.tag.update(id, 'mine'), errcode(45058))
      await assert.rejects(api.tag.delete(id), errcode(45058))
    }
  })

  test('an account has at most 100 tags (45056)', async () => {
    for (let i = 0; i < USER_LIMITS.tags; i++) await tagApp.tag.create(`t${i}`)
    await assert.rejects(tagApp.tag.create('one too many'), errcode(45056))
    assert.equal((await tagApp.tag.list()).length, 100)
  })

  test('tag/untag send openid_list and tagid; ofUser reads getidlist; users pages the tag', async () => {
    const a = await api.tag.create('A')
    const b = await api.tag.create('B')
    await api.tag.tag(a.id, [oid(4), oid(5), oid(6)])
    assert.deepEqual(lastCall('/cgi-bin/tags/members/batchtagging')?.body, {
      openid_list: [oid(4), oid(5), oid(6)],
      tagid: a.id,
    })
    await api.tag.tag(b.id, [oid(5)])
    assert.deepEqual(await api.tag.ofUser(oid(5)), [a.id, b.id])
    assert.deepEqual(lastCall('/cgi-bin/tags/getidlist')?.body, { openid: oid(5) })
    assert.deepEqual((await api.user.info(oid(5))).tagid_list, [a.id, b.id])
    const page = await api.tag.users(a.id)
    assert.deepEqual(page, { count: 3, data: { openid: [oid(4), oid(5), oid(6)] }, next_openid: oid(6) })
    assert.deepEqual(await api.tag.users(a.id, oid(5)), {
      count: 1,
      data: { openid: [oid(6)] },
      next_openid: oid(6),
    })
    const all: string[] = []
    for await (const openid of api.tag.allUsers(a.id)) all.push(openid)
    assert.deepEqual(all, [oid(4), oid(5), oid(6)])
    await api.tag.untag(a.id, [oid(5)])
    assert.deepEqual(lastCall('/cgi-bin/tags/members/batchuntagging')?.body, {
      openid_list: [oid(5)],
      tagid: a.id,
    })
    assert.deepEqual(await api.tag.ofUser(oid(5)), [b.id])
  })

  test('tag takes at most 50 openids: more are refused before any call, the stand-in says 40032', async () => {
    const { id } = await api.tag.create('bulk')
    const list = Array.from({ length: USER_LIMITS.tagMembers + 1 }, (_, i) => oid(i))
    await refusedLocally(() => api.tag.tag(id, list), /at most 50 openids/)
    await refusedLocally(() => api.tag.untag(id, list), /at most 50 openids/)
    await assert.rejects(
      api.call('/cgi-bin/tags/members/batchtagging', { json: { openid_list: list, tagid: id } }),
      errcode(40032),
    )
    const calls = wechat.calls.length
    await api.tag.tag(id, [])
    assert.equal(wechat.calls.length, calls, 'an empty list is a no-op')
  })

  test('unknown tag 45159, unknown openid 40003, another account’s openid 49003', async () => {
    const { id } = await api.tag.create('errors')
    await assert.rejects(api.tag.tag(99_999, [oid(0)]), errcode(45159))
    await assert.rejects(api.tag.users(99_999), errcode(45159))
    await assert.rejects(api.tag.tag(id, [oid(0), 'oNeverFollowed0000000001']), errcode(40003))
    assert.ok(!followerOf(wechat, appId, oid(0))?.tagid_list.includes(id), 'a refused call tags nobody')
    await assert.rejects(api.tag.tag(id, ['oOtherAppFollower0000001']), errcode(49003))
    await assert.rejects(api.tag.ofUser('oNeverFollowed0000000001'), errcode(40003))
  })

  test('a follower carries at most 20 tags (45059)', async () => {
    const ids: number[] = []
    for (let i = 0; i < USER_LIMITS.tagsPerUser + 1; i++) ids.push((await api.tag.create(`many${i}`)).id)
    const openid = oid(9)
    for (const id of ids.slice(0, 20 - (await api.tag.ofUser(openid)).length)) await api.tag.tag(id, [openid])
    assert.equal((await api.tag.ofUser(openid)).length, 20)
    await assert.rejects(api.tag.tag(ids.at(-1)!, [openid]), errcode(45059))
  })
})

describe('blacklist', () => {
  test('block, list, unblock', async () => {
    await api.blacklist.block([oid(7), oid(8)])
    assert.deepEqual(lastCall('/cgi-bin/tags/members/batchblacklist')?.body, {
      openid_list: [oid(7), oid(8)],
    })
    assert.deepEqual(await api.blacklist.list(), {
      total: 2,
      count: 2,
      data: { openid: [oid(7), oid(8)] },
      next_openid: oid(8),
    })
    assert.deepEqual(lastCall('/cgi-bin/tags/members/getblacklist')?.body, { begin_openid: '' })
    assert.deepEqual((await api.blacklist.list(oid(7))).data.openid, [oid(8)])
    const all: string[] = []
    for await (const openid of api.blacklist.all()) all.push(openid)
    assert.deepEqual(all, [oid(7), oid(8)])
    await api.blacklist.unblock([oid(7)])
    assert.deepEqual(lastCall('/cgi-bin/tags/members/batchunblacklist')?.body, { openid_list: [oid(7)] })
    assert.deepEqual((await api.blacklist.list()).data.openid, [oid(8)])
    await api.blacklist.unblock([oid(8)])
    assert.deepEqual(await api.blacklist.list(), {
      total: 0,
      count: 0,
      data: { openid: [] },
      next_openid: '',
    })
  })

  test('at most 20 openids per call: refused before calling; the stand-in says 40032', async () => {
    const list = Array.from({ length: USER_LIMITS.blacklist + 1 }, (_, i) => oid(i % 10))
    await refusedLocally(() => api.blacklist.block(list), /at most 20 openids/)
    await refusedLocally(() => api.blacklist.unblock(list), /at most 20 openids/)
    await assert.rejects(
      api.call('/cgi-bin/tags/members/batchblacklist', { json: { openid_list: list } }),
      errcode(40032),
    )
    await assert.rejects(api.blacklist.block(['oNeverFollowed0000000001']), errcode(40003))
  })
})
