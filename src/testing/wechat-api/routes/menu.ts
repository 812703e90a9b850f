import { type Route, StandInError, type WechatApiStandIn } from '../server.js'
import { followerOf } from './users.js'

type Json = Record<string, unknown>

interface StoredMenu {
  button: Json[]
  menuid: number
}

interface ConditionalEntry extends StoredMenu {
  matchrule: Record<string, string>
}

interface AppMenus {
  menu: StoredMenu | undefined
  conditional: ConditionalEntry[]
  /** Follower → tag ids, in the order they were given (set by tests through {@link menuStandIn}). */
  tags: Map<string, number[]>
}

/** What tests can set on the stand-in's menus (state WeChat keeps elsewhere). */
export interface MenuStandInControls {
  /** Gives a follower tags (in order: WeChat matches a conditional menu on the last one). */
  tagUser(appId: string, openid: string, ...tagIds: number[]): void
}

const controls = new WeakMap<WechatApiStandIn, MenuStandInControls>()

/** The test-side controls of a stand-in's menu routes. */
export function menuStandIn(standIn: WechatApiStandIn): MenuStandInControls {
  const found = controls.get(standIn)
  if (!found) throw new Error('this stand-in has no menu routes')
  return found
}

const KEY_TYPES = new Set([
  'click',
  'scancode_push',
  'scancode_waitmsg',
  'pic_sysphoto',
  'pic_photo_or_album',
  'pic_weixin',
  'location_select',
])
const TYPES = new Set([
  ...KEY_TYPES,
  'view',
  'media_id',
  'view_limited',
  'article_id',
  'article_view_limited',
  'miniprogram',
])
const PRIVACY_RULES = ['sex', 'country', 'province', 'city', 'language']

/** WeChat's codes for a top-level button, and for a sub-menu button. */
const CODES = {
  top: { type: 40017, name: 40018, key: 40019, urlSize: 40020, urlDomain: 40055, media: 40117 },
  sub: { type: 40024, name: 40025, key: 40026, urlSize: 40027, urlDomain: 40054, media: 40118 },
} as const

const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0)
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const filled = (value: unknown) => typeof value === 'string' && value !== ''

/** Checks one acting button as WeChat does; returns it as WeChat stores it (`sub_button: []`). */
function checkLeaf(button: Json, level: 'top' | 'sub'): Json {
  const codes = CODES[level]
  const what = level === 'top' ? 'button' : 'sub button'
  const type = button.type
  if (typeof type !== 'string' || !TYPES.has(type)) throw new StandInError(codes.type, `invalid ${what} type`)
  const name = bytes(button.name)
  if (name === 0 || name > (level === 'top' ? 16 : 60)) {
    throw new StandInError(codes.name, `invalid ${what} name size`)
  }
  if (KEY_TYPES.has(type) && (bytes(button.key) === 0 || bytes(button.key) > 128)) {
    throw new StandInError(codes.key, `invalid ${what} key size`)
  }
  if (type === 'view' || type === 'miniprogram') {
    const url = bytes(button.url)
    if (url === 0 || url > 1024) throw new StandInError(codes.urlSize, `invalid ${what} url size`)
    if (!/^https?:\/\/[^\s/]+/i.test(String(button.url))) {
      throw new StandInError(codes.urlDomain, `invalid ${what} url domain`)
    }
  }
  if ((type === 'media_id' || type === 'view_limited') && !filled(button.media_id)) {
    throw new StandInError(codes.media, `invalid ${what} media_id size`)
  }
  if ((type === 'article_id' || type === 'article_view_limited') && !filled(button.article_id)) {
    throw new StandInError(codes.media, `invalid ${what} media_id size`)
  }
  if (type === 'miniprogram') {
    if (!filled(button.appid)) throw new StandInError(40166, 'invalid weapp appid')
    if (!filled(button.pagepath)) throw new StandInError(40165, 'invalid weapp pagepath')
  }
  if (Array.isArray(button.sub_button) && button.sub_button.length > 0) {
    throw new StandInError(40022, 'invalid sub_menu level')
  }
  const stored: Json = { type, name: button.name }
  for (const field of ['key', 'url', 'media_id', 'article_id', 'appid', 'pagepath']) {
    if (button[field] !== undefined) stored[field] = button[field]
  }
  stored.sub_button = []
  return stored
}

/** Checks a menu's buttons as `menu/create` does; returns them as `menu/get` answers them. */
function checkButtons(buttons: unknown): Json[] {
  if (!Array.isArray(buttons) || buttons.length === 0 || buttons.length > 3) {
    throw new StandInError(40016, 'invalid button size')
  }
  return buttons.map((button: unknown) => {
    if (!isObject(button)) throw new StandInError(40017, 'invalid button type')
    const children = button.sub_button
    if (button.type !== undefined || !Array.isArray(children)) return checkLeaf(button, 'top')
    const name = bytes(button.name)
    if (name === 0 || name > 16) throw new StandInError(40018, 'invalid button name size')
    if (children.length === 0 || children.length > 5) throw new StandInError(40023, 'invalid sub button size')
    return {
      name: button.name,
      sub_button: children.map((child: unknown) => {
        if (!isObject(child)) throw new StandInError(40024, 'invalid sub button type')
        return checkLeaf(child, 'sub')
      }),
    }
  })
}

function domains(buttons: Json[]): string[] {
  const out: string[] = []
  for (const button of buttons) {
    if (typeof button.url === 'string') out.push(new URL(button.url).hostname)
    if (Array.isArray(button.sub_button)) out.push(...domains(button.sub_button as Json[]))
  }
  return out
}

/** The `get_current_selfmenu_info` shape: sub-menus are `{ list }`, no empty `sub_button`. */
function selfMenuButton(button: Json): Json {
  const { sub_button, ...rest } = button
  if (button.type === undefined && Array.isArray(sub_button)) {
    return { ...rest, sub_button: { list: (sub_button as Json[]).map(selfMenuButton) } }
  }
  return rest
}

/**
 * Custom menus, as WeChat checks them (codes from WeChat's global return-code table):
 * - `menu/create`: 1–3 buttons (40016); a sub-menu 1–5 buttons (40023) and two levels only
 *   (40022); known types (40017 / 40024 in a sub-menu); names ≤16 bytes at the top, ≤60 in a
 *   sub-menu (40018 / 40025); `key` 1–128 bytes (40019 / 40026); `url` 1–1024 bytes (40020 /
 *   40027) and http(s) (40055 / 40054); `media_id`/`article_id` present (40117 / 40118); a mini
 *   program's appid (40166) and pagepath (40165).
 * - `menu/get` answers 46003 without a menu, and adds `sub_button: []` to acting buttons as WeChat
 *   does; `menu/delete` removes every menu.
 * - `menu/addconditional` needs a default menu (65303) and a matchrule with a field (65304), refuses
 *   the privacy rules (65320) and more than 3 link domains across conditional menus (65316);
 *   `menu/delconditional` 65301 for an unknown menuid; `menu/trymatch` 65302 for an unknown user,
 *   matching the newest conditional menu on the follower's last tag ({@link menuStandIn}).
 */
export function menuRoutes(standIn: WechatApiStandIn): Route[] {
  const apps = new Map<string, AppMenus>()
  let nextMenuId = 100_000_001
  const app = (appId: string): AppMenus => {
    let found = apps.get(appId)
    if (!found) {
      found = { menu: undefined, conditional: [], tags: new Map() }
      apps.set(appId, found)
    }
    return found
  }
  controls.set(standIn, {
    tagUser(appId, openid, ...tagIds) {
      const tags = app(appId).tags
      tags.set(openid, [...(tags.get(openid) ?? []), ...tagIds])
    },
  })

  return [
    {
      method: 'POST',
      path: '/cgi-bin/menu/create',
      handle(request) {
        const body = request.json<Json>()
        const state = app(request.appId)
        state.menu = { button: checkButtons(body.button), menuid: nextMenuId++ }
        return {}
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/menu/get',
      handle(request) {
        const state = app(request.appId)
        if (!state.menu) throw new StandInError(46003, 'menu no exist')
        const menu: Json = { button: structuredClone(state.menu.button) }
        if (state.conditional.length === 0) return { menu }
        menu.menuid = state.menu.menuid
        return {
          menu,
          conditionalmenu: state.conditional.map((c) => ({
            button: structuredClone(c.button),
            matchrule: { ...c.matchrule },
            menuid: c.menuid,
          })),
        }
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/menu/delete',
      handle(request) {
        const state = app(request.appId)
        state.menu = undefined
        state.conditional = []
        return {}
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/get_current_selfmenu_info',
      handle(request) {
        const state = app(request.appId)
        if (!state.menu) return { is_menu_open: 0, selfmenu_info: { button: [] } }
        return { is_menu_open: 1, selfmenu_info: { button: state.menu.button.map(selfMenuButton) } }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/menu/addconditional',
      quota: 2000,
      handle(request) {
        const body = request.json<Json>()
        const state = app(request.appId)
        if (!state.menu) throw new StandInError(65303, 'there is no selfmenu, please create selfmenu first')
        const button = checkButtons(body.button)
        const rule = body.matchrule
        const fields = isObject(rule)
          ? Object.entries(rule).filter(([, v]) => v !== undefined && v !== null && v !== '')
          : []
        if (fields.length === 0) throw new StandInError(65304, 'match rule empty')
        if (fields.some(([k]) => PRIVACY_RULES.includes(k))) {
          throw new StandInError(65320, 'privacy match rule is not supported')
        }
        const allDomains = new Set([
          ...state.conditional.flatMap((c) => domains(c.button)),
          ...domains(button),
        ])
        if (allDomains.size > 3) throw new StandInError(65316, 'too many url domains in menu')
        const entry: ConditionalEntry = {
          button,
          matchrule: Object.fromEntries(fields.map(([k, v]) => [k, String(v)])),
          menuid: nextMenuId++,
        }
        state.conditional.push(entry)
        return { menuid: String(entry.menuid) }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/menu/delconditional',
      quota: 2000,
      handle(request) {
        const body = request.json<{ menuid?: unknown }>()
        const state = app(request.appId)
        const index = state.conditional.findIndex((c) => String(c.menuid) === String(body.menuid))
        if (index < 0) throw new StandInError(65301, 'menuid not exist')
        state.conditional.splice(index, 1)
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/menu/trymatch',
      quota: 20_000,
      handle(request) {
        const body = request.json<{ user_id?: unknown }>()
        const user = body.user_id
        if (typeof user !== 'string' || !/^[A-Za-z0-9_-]{6,64}$/.test(user)) {
          throw new StandInError(65302, 'no such user')
        }
        const state = app(request.appId)
        if (!state.menu) throw new StandInError(46003, 'menu no exist')
        // The follower's tags as the user routes keep them (set through api.tag), else tagUser's.
        const lastTag =
          followerOf(standIn, request.appId, user)?.tagid_list.at(-1) ?? state.tags.get(user)?.at(-1)
        const match = [...state.conditional]
          .reverse()
          .find((c) => c.matchrule.tag_id !== undefined && Number(c.matchrule.tag_id) === lastTag)
        return { button: structuredClone((match ?? state.menu).button) }
      },
    },
  ]
}
