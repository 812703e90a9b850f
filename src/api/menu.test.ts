import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { WempError } from '../protocol/errors.js'
import { menuStandIn } from '../testing/wechat-api/routes/menu.js'
import { addFollower } from '../testing/wechat-api/routes/users.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type WechatApi } from './client.js'
import { WechatApiError } from './errors.js'
import { type ConditionalMenu, MENU_LIMITS, type Menu, validateMenu } from './menu.js'

const appId = 'wx1234567890abcdef'
const otherAppId = 'wxfedcba0987654321'
const openid = 'oWempMenuUser000000000001'

let wechat: WechatApiStandIn
let api: WechatApi
let other: WechatApi

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: 'secret', [otherAppId]: 'secret2' } })
  api = createApi({ appId, appSecret: 'secret', baseUrl: wechat.url, logger: false })
  other = createApi({ appId: otherAppId, appSecret: 'secret2', baseUrl: wechat.url, logger: false })
})
after(() => wechat.close())

const errcode = (code: number) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, code, error.message)
  return true
}
const invalidMenu = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof WempError && !(error instanceof WechatApiError), String(error))
  assert.equal(error.code, 'invalid_config')
  assert.match(error.message, pattern)
  return true
}
const lastBody = (path: string) => wechat.calls.filter((c) => c.path === path).at(-1)?.body

/** Every button type WeChat documents, in one menu. */
const fullMenu: Menu = {
  button: [
    { type: 'click', name: '今日歌曲', key: 'V1001_TODAY_MUSIC' },
    {
      name: '扫码发图',
      sub_button: [
        { type: 'scancode_waitmsg', name: '扫码带提示', key: 'rselfmenu_0_0' },
        { type: 'scancode_push', name: '扫码推事件', key: 'rselfmenu_0_1' },
        { type: 'pic_sysphoto', name: '系统拍照发图', key: 'rselfmenu_1_0' },
        { type: 'pic_photo_or_album', name: '拍照或者相册发图', key: 'rselfmenu_1_1' },
        { type: 'pic_weixin', name: '微信相册发图', key: 'rselfmenu_1_2' },
      ],
    },
    {
      name: '更多',
      sub_button: [
        { type: 'location_select', name: '发送位置', key: 'rselfmenu_2_0' },
        { type: 'view', name: '搜索', url: 'https://www.soso.com/' },
        { type: 'media_id', name: '图片', media_id: 'MEDIA_ID1' },
        { type: 'article_id', name: '文章', article_id: 'ARTICLE_ID1' },
        {
          type: 'miniprogram',
          name: 'wxa',
          url: 'http://mp.weixin.qq.com',
          appid: 'wx286b93c14bbf93aa',
          pagepath: 'pages/lunar/index',
        },
      ],
    },
  ],
}

describe('menu: create, get, delete', () => {
  test('create sends the menu as WeChat documents it, and get reads the same menu back', async () => {
    await api.menu.create(fullMenu)
    assert.deepEqual(lastBody('/cgi-bin/menu/create'), fullMenu)
    assert.deepEqual(await api.menu.get(), { menu: fullMenu })
  })

  test('article_view_limited and view_limited buttons round-trip too', async () => {
    const menu: Menu = {
      button: [
        { type: 'article_view_limited', name: '图文', article_id: 'ARTICLE_ID2' },
        { type: 'view_limited', name: '旧图文', media_id: 'MEDIA_ID2' },
      ],
    }
    await api.menu.create(menu)
    assert.deepEqual(await api.menu.get(), { menu })
  })

  test('names at the limits are accepted: 16 bytes at the top, 60 bytes in a sub-menu', async () => {
    const menu: Menu = {
      button: [
        { type: 'click', name: '一二三四五', key: 'K' }, // 15 bytes
        { type: 'click', name: 'abcdefghijklmnop', key: 'K2' }, // 16 bytes
        { name: '子菜单', sub_button: [{ type: 'click', name: '二'.repeat(20), key: 'k'.repeat(128) }] }, // 60 bytes
      ],
    }
    await api.menu.create(menu)
    assert.deepEqual(await api.menu.get(), { menu })
  })

  test('current() gives the menu in get_current_selfmenu_info shape', async () => {
    const menu: Menu = {
      button: [
        { type: 'click', name: '今日', key: 'TODAY' },
        { name: '更多', sub_button: [{ type: 'view', name: '官网', url: 'https://example.com/' }] },
      ],
    }
    await api.menu.create(menu)
    assert.deepEqual(await api.menu.current(), {
      is_menu_open: 1,
      selfmenu_info: {
        button: [
          { type: 'click', name: '今日', key: 'TODAY' },
          {
            name: '更多',
            sub_button: { list: [{ type: 'view', name: '官网', url: 'https://example.com/' }] },
          },
        ],
      },
    })
  })

  test('delete removes the menu: get then answers 46003 and current() says it is off', async () => {
    await api.menu.create({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
    await api.menu.delete()
    assert.equal(wechat.calls.at(-1)?.method, 'GET')
    await assert.rejects(api.menu.get(), errcode(46003))
    assert.deepEqual(await api.menu.current(), { is_menu_open: 0, selfmenu_info: { button: [] } })
  })

  test('each account has its own menu', async () => {
    await api.menu.create({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
    await assert.rejects(other.menu.get(), errcode(46003))
    await api.menu.delete()
  })
})

describe('menu: validateMenu and the stand-in enforce the same rules', () => {
  const long = (bytes: number) => 'a'.repeat(bytes)
  const leaf = (extra: Record<string, unknown>) =>
    ({ button: [{ name: '按钮', ...extra }] }) as unknown as Menu
  const sub = (extra: Record<string, unknown>) =>
    ({ button: [{ name: '父', sub_button: [{ name: '子', ...extra }] }] }) as unknown as Menu

  const cases: { what: string; menu: Menu; message: RegExp; code: number }[] = [
    { what: 'no button', menu: { button: [] }, message: /1 to 3 buttons/, code: 40016 },
    {
      what: 'four buttons',
      menu: { button: Array.from({ length: 4 }, (_, i) => ({ type: 'click', name: `b${i}`, key: `k${i}` })) },
      message: /menu\.button has 4 buttons; a menu holds 1 to 3/,
      code: 40016,
    },
    {
      what: 'six sub-buttons',
      menu: {
        button: [
          {
            name: '父',
            sub_button: Array.from({ length: 6 }, (_, i) => ({ type: 'click', name: `s${i}`, key: `k${i}` })),
          },
        ],
      },
      message: /menu\.button\[0\]\.sub_button has 6 buttons; a sub-menu holds 1 to 5/,
      code: 40023,
    },
    {
      what: 'an empty sub-menu',
      menu: { button: [{ name: '父', sub_button: [] }] },
      message: /menu\.button\[0\]\.sub_button has 0 buttons/,
      code: 40023,
    },
    {
      what: 'an unknown type',
      menu: leaf({ type: 'tap', key: 'K' }),
      message: /menu\.button\[0\]\.type "tap" is unknown/,
      code: 40017,
    },
    {
      what: 'no type and no sub-menu',
      menu: leaf({ key: 'K' }),
      message: /menu\.button\[0\]\.type is missing/,
      code: 40017,
    },
    {
      what: 'an unknown sub-button type',
      menu: sub({ type: 'tap', key: 'K' }),
      message: /menu\.button\[0\]\.sub_button\[0\]\.type "tap" is unknown/,
      code: 40024,
    },
    {
      what: 'a 17-byte top-level name (6 Chinese characters are 18 bytes)',
      menu: { button: [{ type: 'click', name: '一二三四五六', key: 'K' }] },
      message:
        /menu\.button\[0\]\.name "一二三四五六" is 18 bytes; a top-level button name holds at most 16 bytes/,
      code: 40018,
    },
    {
      what: 'an empty name',
      menu: { button: [{ type: 'click', name: '', key: 'K' }] },
      message: /menu\.button\[0\]\.name is required/,
      code: 40018,
    },
    {
      what: 'a 17-byte parent name',
      menu: { button: [{ name: long(17), sub_button: [{ type: 'click', name: 's', key: 'k' }] }] },
      message: /menu\.button\[0\]\.name .* is 17 bytes/,
      code: 40018,
    },
    {
      what: 'a 61-byte sub-button name',
      menu: sub({ type: 'click', key: 'K', name: long(61) }),
      message:
        /menu\.button\[0\]\.sub_button\[0\]\.name .* is 61 bytes; a sub-menu button name holds at most 60 bytes/,
      code: 40025,
    },
    {
      what: 'a 129-byte key',
      menu: leaf({ type: 'click', key: long(129) }),
      message: /menu\.button\[0\]\.key is 129 bytes; a key holds at most 128 bytes/,
      code: 40019,
    },
    {
      what: 'a missing key',
      menu: leaf({ type: 'scancode_push' }),
      message: /menu\.button\[0\]\.key is required for a scancode_push button/,
      code: 40019,
    },
    {
      what: 'a 129-byte sub-button key',
      menu: sub({ type: 'pic_weixin', key: long(129) }),
      message: /sub_button\[0\]\.key is 129 bytes/,
      code: 40026,
    },
    {
      what: 'a 1025-byte url',
      menu: leaf({ type: 'view', url: `https://example.com/${long(1005)}` }),
      message: /menu\.button\[0\]\.url is 1025 bytes; a url holds at most 1024 bytes/,
      code: 40020,
    },
    {
      what: 'a missing url',
      menu: sub({ type: 'view' }),
      message: /sub_button\[0\]\.url is required for a view button/,
      code: 40027,
    },
    {
      what: 'a url that is not http(s)',
      menu: leaf({ type: 'view', url: 'ftp://example.com/' }),
      message: /menu\.button\[0\]\.url "ftp:\/\/example\.com\/" is not an http\(s\) URL/,
      code: 40055,
    },
    {
      what: 'a sub-button url that is not http(s)',
      menu: sub({ type: 'view', url: 'example.com' }),
      message: /sub_button\[0\]\.url "example\.com" is not an http\(s\) URL/,
      code: 40054,
    },
    {
      what: 'a media_id button without media_id',
      menu: leaf({ type: 'media_id' }),
      message: /media_id is required for a media_id button/,
      code: 40117,
    },
    {
      what: 'an article_id sub-button without article_id',
      menu: sub({ type: 'article_id' }),
      message: /article_id is required for a article_id button/,
      code: 40118,
    },
    {
      what: 'a mini program without appid',
      menu: leaf({ type: 'miniprogram', url: 'https://example.com/', pagepath: 'pages/index' }),
      message: /appid is required for a miniprogram button/,
      code: 40166,
    },
    {
      what: 'a mini program without pagepath',
      menu: leaf({ type: 'miniprogram', url: 'https://example.com/', appid: 'wx286b93c14bbf93aa' }),
      message: /pagepath is required for a miniprogram button/,
      code: 40165,
    },
    {
      what: 'a mini program without url',
      menu: leaf({ type: 'miniprogram', appid: 'wx286b93c14bbf93aa', pagepath: 'pages/index' }),
      message: /url is required for a miniprogram button/,
      code: 40020,
    },
    {
      what: 'a third level',
      menu: sub({ type: 'click', key: 'K', sub_button: [{ type: 'click', name: 'x', key: 'y' }] }),
      message: /sub_button\[0\] has a sub_button: menus have two levels only/,
      code: 40022,
    },
  ]

  for (const { what, menu, message, code } of cases) {
    test(`${what}: validateMenu throws, create sends nothing, WeChat answers ${code}`, async () => {
      assert.throws(() => validateMenu(menu), invalidMenu(message))
      const before = wechat.count('/cgi-bin/menu/create')
      await assert.rejects(api.menu.create(menu), invalidMenu(message))
      assert.equal(wechat.count('/cgi-bin/menu/create'), before, 'nothing was sent')
      await assert.rejects(api.call('/cgi-bin/menu/create', { json: menu }), errcode(code))
    })
  }

  test('a button with both a type and a sub-menu is refused before sending', () => {
    const menu = {
      button: [{ type: 'click', name: '父', key: 'K', sub_button: [{ type: 'click', name: 's', key: 'k' }] }],
    } as unknown as Menu
    assert.throws(() => validateMenu(menu), invalidMenu(/has both a type and a sub_button/))
  })

  test('the limits are the documented ones', () => {
    assert.deepEqual(MENU_LIMITS, {
      buttons: 3,
      subButtons: 5,
      nameBytes: 16,
      subNameBytes: 60,
      keyBytes: 128,
      urlBytes: 1024,
    })
    assert.throws(() => validateMenu(null as unknown as Menu), invalidMenu(/an object with a button list/))
  })
})

describe('menu: conditional menus', () => {
  const vip: ConditionalMenu = {
    button: [{ type: 'click', name: '会员', key: 'VIP' }],
    matchrule: { tag_id: '2' },
  }

  test('need a default menu first (65303)', async () => {
    await api.menu.delete()
    await assert.rejects(api.menu.addConditional(vip), errcode(65303))
  })

  test('are added, listed by get, matched by tag, and deleted', async () => {
    const base: Menu = { button: [{ type: 'click', name: '今日', key: 'TODAY' }] }
    await api.menu.create(base)
    const menuid = await api.menu.addConditional(vip)
    assert.equal(typeof menuid, 'string')
    assert.match(menuid, /^\d+$/)
    assert.deepEqual(lastBody('/cgi-bin/menu/addconditional'), vip)

    const info = await api.menu.get()
    assert.deepEqual(info.conditionalmenu, [{ ...vip, menuid: Number(menuid) }])
    assert.deepEqual(info.menu.button, base.button)
    assert.equal(typeof info.menu.menuid, 'number')

    assert.deepEqual(await api.menu.tryMatch(openid), base, 'an untagged follower sees the default menu')
    assert.deepEqual(lastBody('/cgi-bin/menu/trymatch'), { user_id: openid })
    menuStandIn(wechat).tagUser(appId, openid, 2)
    assert.deepEqual(await api.menu.tryMatch(openid), { button: vip.button })
    menuStandIn(wechat).tagUser(appId, openid, 7)
    assert.deepEqual(await api.menu.tryMatch(openid), base, 'the last tag decides')
    // Tags given through the tag API count too.
    const tagged = 'oMenuTaggedThroughApi00001'
    addFollower(wechat, appId, tagged, {})
    const { id } = await api.tag.create('vip-via-api')
    await api.menu.deleteConditional(
      await api.menu.addConditional({ ...vip, matchrule: { tag_id: String(id) } }),
    )
    const viaApi = await api.menu.addConditional({ ...vip, matchrule: { tag_id: String(id) } })
    await api.tag.tag(id, [tagged])
    assert.deepEqual(await api.menu.tryMatch(tagged), { button: vip.button })
    await api.menu.deleteConditional(viaApi)

    await api.menu.deleteConditional(menuid)
    assert.deepEqual(lastBody('/cgi-bin/menu/delconditional'), { menuid })
    assert.deepEqual(await api.menu.get(), { menu: base })
    await assert.rejects(api.menu.deleteConditional(menuid), errcode(65301))
  })

  test('a numeric menuid is sent as a string', async () => {
    await api.menu.create({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
    const menuid = await api.menu.addConditional(vip)
    await api.menu.deleteConditional(Number(menuid))
    assert.deepEqual(lastBody('/cgi-bin/menu/delconditional'), { menuid })
  })

  test('an empty match rule is refused before sending, and by WeChat (65304)', async () => {
    const menu: ConditionalMenu = { button: vip.button, matchrule: {} }
    assert.throws(() => validateMenu(menu), invalidMenu(/matchrule needs at least one field/))
    await assert.rejects(api.menu.addConditional(menu), invalidMenu(/matchrule/))
    await api.menu.create({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
    await assert.rejects(api.call('/cgi-bin/menu/addconditional', { json: menu }), errcode(65304))
  })

  test('privacy rules are refused by WeChat (65320)', async () => {
    await api.menu.create({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
    await assert.rejects(
      api.menu.addConditional({ button: vip.button, matchrule: { sex: '1' } }),
      errcode(65320),
    )
  })

  test('conditional menus link to at most 3 domains (65316)', async () => {
    await api.menu.create({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
    const view = (host: string): ConditionalMenu => ({
      button: [{ type: 'view', name: host, url: `https://${host}/` }],
      matchrule: { tag_id: '3' },
    })
    await api.menu.addConditional(view('a.example.com'))
    await api.menu.addConditional(view('b.example.com'))
    await api.menu.addConditional(view('c.example.com'))
    await api.menu.addConditional(view('a.example.com'))
    await assert.rejects(api.menu.addConditional(view('d.example.com')), errcode(65316))
    await api.menu.delete()
  })

  test('trymatch: 65302 for something that is no user, 46003 without a menu', async () => {
    await api.menu.create({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
    await assert.rejects(api.menu.tryMatch('no'), errcode(65302))
    await api.menu.delete()
    await assert.rejects(api.menu.tryMatch(openid), errcode(46003))
  })
})
