import { WempError } from '../protocol/errors.js'
import type { WechatApi } from './client.js'

/**
 * Custom menus (自定义菜单), conditional menus (个性化菜单) included. Bodies and results keep
 * WeChat's own field names, so WeChat's documentation applies as it is.
 */

/** The button types that push an event with the button's `key` (click, scan, photo, location). */
export type KeyButtonType =
  | 'click'
  | 'scancode_push'
  | 'scancode_waitmsg'
  | 'pic_sysphoto'
  | 'pic_photo_or_album'
  | 'pic_weixin'
  | 'location_select'

/** A button whose tap pushes an event carrying `key` (≤128 bytes) to the bot. */
export interface KeyButton {
  type: KeyButtonType
  name: string
  key: string
}

/** Opens a web page (`url`, ≤1024 bytes, http or https). */
export interface ViewButton {
  type: 'view'
  name: string
  url: string
}

/** Sends a permanent material (image, voice, video, news) to the follower. */
export interface MediaIdButton {
  type: 'media_id'
  name: string
  media_id: string
}

/** Opens a permanent news material. Deprecated by WeChat in favour of `article_view_limited`. */
export interface ViewLimitedButton {
  type: 'view_limited'
  name: string
  media_id: string
}

/** Sends (`article_id`) or opens (`article_view_limited`) a published article (发布能力). */
export interface ArticleButton {
  type: 'article_id' | 'article_view_limited'
  name: string
  article_id: string
}

/** Opens a mini program page; `url` is opened by clients too old for mini programs. */
export interface MiniProgramButton {
  type: 'miniprogram'
  name: string
  url: string
  appid: string
  pagepath: string
}

/** A button that does something when tapped. */
export type LeafButton =
  | KeyButton
  | ViewButton
  | MediaIdButton
  | ViewLimitedButton
  | ArticleButton
  | MiniProgramButton

/** A top-level button that opens a sub-menu of 1–5 buttons. It has no `type`. */
export interface ParentButton {
  type?: undefined
  name: string
  sub_button: LeafButton[]
}

/** A top-level button: one that acts, or one that opens a sub-menu. */
export type MenuButton = LeafButton | ParentButton

/** A menu: 1–3 top-level buttons. */
export interface Menu {
  button: MenuButton[]
}

/**
 * Who sees a conditional menu. At least one field must be set. WeChat no longer accepts the
 * privacy-related fields (`sex`, `country`, `province`, `city`, `language`: errcode 65320); they
 * are typed here because {@link MenuApi.get} still returns them on old menus.
 */
export interface MatchRule {
  /** A user tag id (标签). A follower with several tags is matched by the last one given. */
  tag_id?: string
  /** `'1'` iOS, `'2'` Android, `'3'` others. */
  client_platform_type?: string
  /** @deprecated rejected by WeChat since the privacy change (65320). */
  sex?: string
  /** @deprecated rejected by WeChat since the privacy change (65320). */
  country?: string
  /** @deprecated rejected by WeChat since the privacy change (65320). */
  province?: string
  /** @deprecated rejected by WeChat since the privacy change (65320). */
  city?: string
  /** @deprecated rejected by WeChat since the privacy change (65320). */
  language?: string
}

/** A conditional menu (个性化菜单): a menu shown to the followers its `matchrule` selects. */
export interface ConditionalMenu extends Menu {
  matchrule: MatchRule
}

/** What {@link MenuApi.get} returns: the default menu and the conditional menus. */
export interface MenuInfo {
  /** The default menu; `menuid` is present when conditional menus exist. */
  menu: Menu & { menuid?: number }
  /** The conditional menus, newest last. */
  conditionalmenu?: (ConditionalMenu & { menuid: number })[]
}

/** One button of {@link CurrentMenu} (the menu as configured, by API or on mp.weixin.qq.com). */
export interface CurrentMenuButton {
  /**
   * The API types, or for menus set on mp.weixin.qq.com: `text`, `img`, `photo`, `video`, `voice`,
   * `news`, `view`.
   */
  type?: string
  name: string
  key?: string
  url?: string
  /** Text, media id or video URL, for menus set on mp.weixin.qq.com. */
  value?: string
  media_id?: string
  article_id?: string
  appid?: string
  pagepath?: string
  news_info?: { list: CurrentMenuNews[] }
  sub_button?: { list: CurrentMenuButton[] }
}

/** An article of a `news` button set on mp.weixin.qq.com. */
export interface CurrentMenuNews {
  title: string
  author: string
  digest: string
  show_cover: number
  cover_url: string
  content_url: string
  source_url: string
}

/** What {@link MenuApi.current} returns. */
export interface CurrentMenu {
  /** 1 when the account's menu is on. */
  is_menu_open: number
  selfmenu_info: { button: CurrentMenuButton[] }
}

/** WeChat's limits on menus (UTF-8 bytes), from the createCustomMenu reference. */
export const MENU_LIMITS = {
  /** Top-level buttons. */
  buttons: 3,
  /** Buttons in one sub-menu. */
  subButtons: 5,
  /** A top-level button's name, in bytes (4 Chinese characters are shown, longer is cut with …). */
  nameBytes: 16,
  /** A sub-menu button's name, in bytes. */
  subNameBytes: 60,
  keyBytes: 128,
  urlBytes: 1024,
} as const

const KEY_TYPES: ReadonlySet<string> = new Set<KeyButtonType>([
  'click',
  'scancode_push',
  'scancode_waitmsg',
  'pic_sysphoto',
  'pic_photo_or_album',
  'pic_weixin',
  'location_select',
])

/** The fields each button type requires (besides `name`). */
const REQUIRED: Record<string, readonly string[]> = {
  ...Object.fromEntries([...KEY_TYPES].map((type) => [type, ['key']])),
  view: ['url'],
  media_id: ['media_id'],
  view_limited: ['media_id'],
  article_id: ['article_id'],
  article_view_limited: ['article_id'],
  miniprogram: ['url', 'appid', 'pagepath'],
}

const bytes = (value: string) => Buffer.byteLength(value, 'utf8')
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function invalid(message: string): never {
  throw new WempError('invalid_config', `invalid menu: ${message}`)
}

function checkName(at: string, name: unknown, max: number, what: string): void {
  if (typeof name !== 'string' || name === '') invalid(`${at}.name is required`)
  const size = bytes(name)
  if (size > max) {
    invalid(`${at}.name "${name}" is ${size} bytes; ${what} name holds at most ${max} bytes (UTF-8)`)
  }
}

function checkLeaf(at: string, button: Record<string, unknown>, sub: boolean): void {
  const type = button.type
  if (typeof type !== 'string' || !(type in REQUIRED)) {
    invalid(
      `${at}.type ${type === undefined ? 'is missing' : `"${String(type)}" is unknown`}; use one of ${Object.keys(REQUIRED).join(', ')}${sub ? '' : ', or give the button a sub_button list'}`,
    )
  }
  checkName(
    at,
    button.name,
    sub ? MENU_LIMITS.subNameBytes : MENU_LIMITS.nameBytes,
    sub ? 'a sub-menu button' : 'a top-level button',
  )
  for (const field of REQUIRED[type] ?? []) {
    const value = button[field]
    if (typeof value !== 'string' || value === '') invalid(`${at}.${field} is required for a ${type} button`)
  }
  if (typeof button.key === 'string' && bytes(button.key) > MENU_LIMITS.keyBytes) {
    invalid(`${at}.key is ${bytes(button.key)} bytes; a key holds at most ${MENU_LIMITS.keyBytes} bytes`)
  }
  if (typeof button.url === 'string') {
    if (bytes(button.url) > MENU_LIMITS.urlBytes) {
      invalid(`${at}.url is ${bytes(button.url)} bytes; a url holds at most ${MENU_LIMITS.urlBytes} bytes`)
    }
    if (!/^https?:\/\/[^\s/]+/i.test(button.url)) invalid(`${at}.url "${button.url}" is not an http(s) URL`)
  }
  const children = button.sub_button
  if (Array.isArray(children) && children.length > 0) {
    invalid(
      sub
        ? `${at} has a sub_button: menus have two levels only`
        : `${at} has both a type and a sub_button: a button either acts or opens a sub-menu`,
    )
  }
}

/**
 * Checks a menu (or a conditional menu's buttons) against the rules WeChat enforces, so that a
 * mistake is reported with its place instead of as a bare errcode: 1–3 top-level buttons; 1–5
 * buttons in a sub-menu; names of at most 16 bytes at the top level and 60 bytes in a sub-menu
 * (UTF-8: a Chinese character is 3 bytes); `key` ≤128 bytes; `url` ≤1024 bytes and http(s); the
 * fields each button type requires. {@link MenuApi.create} and {@link MenuApi.addConditional}
 * call it before sending.
 *
 * @throws WempError `invalid_config`, naming the faulty button (e.g. `menu.button[2].sub_button[0].key`)
 * @example
 * validateMenu({ button: [{ type: 'click', name: '今日', key: 'TODAY' }] })
 */
export function validateMenu(menu: Menu | ConditionalMenu): void {
  if (!isObject(menu)) invalid('a menu is an object with a button list')
  const buttons = menu.button
  if (!Array.isArray(buttons) || buttons.length === 0) invalid('menu.button must list 1 to 3 buttons')
  if (buttons.length > MENU_LIMITS.buttons) {
    invalid(`menu.button has ${buttons.length} buttons; a menu holds 1 to ${MENU_LIMITS.buttons}`)
  }
  buttons.forEach((button: unknown, i) => {
    const at = `menu.button[${i}]`
    if (!isObject(button)) invalid(`${at} is not a button object`)
    const children = button.sub_button
    const isParent = button.type === undefined && Array.isArray(children)
    if (!isParent) {
      checkLeaf(at, button, false)
      return
    }
    checkName(at, button.name, MENU_LIMITS.nameBytes, 'a top-level button')
    if (children.length === 0 || children.length > MENU_LIMITS.subButtons) {
      invalid(
        `${at}.sub_button has ${children.length} buttons; a sub-menu holds 1 to ${MENU_LIMITS.subButtons} (or give the button a type instead)`,
      )
    }
    children.forEach((child: unknown, j) => {
      const childAt = `${at}.sub_button[${j}]`
      if (!isObject(child)) invalid(`${childAt} is not a button object`)
      checkLeaf(childAt, child, true)
    })
  })
  if ('matchrule' in menu) {
    const rule: unknown = menu.matchrule
    if (!isObject(rule) || !Object.values(rule).some((v) => v !== undefined && v !== null && v !== '')) {
      invalid('matchrule needs at least one field (tag_id or client_platform_type)')
    }
  }
}

/** Drops the empty `sub_button: []` WeChat adds to every acting button in what it returns. */
function tidyButton<T extends Record<string, unknown>>(button: T): T {
  const { sub_button, ...rest } = button
  if (Array.isArray(sub_button) && sub_button.length > 0) {
    return {
      ...rest,
      sub_button: sub_button.map((b: Record<string, unknown>) => tidyButton(b)),
    } as unknown as T
  }
  if (Array.isArray(sub_button) && button.type === undefined)
    return { ...rest, sub_button: [] } as unknown as T
  return rest as unknown as T
}

function tidyButtons(buttons: unknown): MenuButton[] {
  return Array.isArray(buttons)
    ? buttons.map((b: Record<string, unknown>) => tidyButton(b) as unknown as MenuButton)
    : []
}

/** Custom menus (`/cgi-bin/menu/*`). */
export class MenuApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Creates (replaces) the default menu. The menu is checked with {@link validateMenu} first.
   * Followers see it the next time they open the chat (clients refetch at most every 5 minutes).
   *
   * @example
   * await api.menu.create({
   *   button: [
   *     { type: 'click', name: '今日', key: 'TODAY' },
   *     { name: '更多', sub_button: [{ type: 'view', name: '官网', url: 'https://example.com/' }] },
   *   ],
   * })
   */
  async create(menu: Menu): Promise<void> {
    validateMenu(menu)
    await this.api.call('/cgi-bin/menu/create', { json: { button: menu.button } })
  }

  /**
   * The menu set through the API, and the conditional menus. WeChat answers 46003 when there is
   * none. The empty `sub_button: []` WeChat adds to acting buttons is dropped, so a menu reads back
   * as it was created.
   *
   * @example
   * const { menu, conditionalmenu } = await api.menu.get()
   */
  async get(): Promise<MenuInfo> {
    const answer = await this.api.call<{
      menu?: { button?: unknown; menuid?: number }
      conditionalmenu?: { button?: unknown; matchrule: MatchRule; menuid: number }[]
    }>('/cgi-bin/menu/get')
    const menu: MenuInfo['menu'] = { button: tidyButtons(answer.menu?.button) }
    if (answer.menu?.menuid !== undefined) menu.menuid = answer.menu.menuid
    const info: MenuInfo = { menu }
    if (Array.isArray(answer.conditionalmenu)) {
      info.conditionalmenu = answer.conditionalmenu.map((c) => ({
        button: tidyButtons(c.button),
        matchrule: c.matchrule,
        menuid: c.menuid,
      }))
    }
    return info
  }

  /**
   * Deletes every menu: the default menu and all conditional menus.
   *
   * @example
   * await api.menu.delete()
   */
  async delete(): Promise<void> {
    await this.api.call('/cgi-bin/menu/delete')
  }

  /**
   * The menu in use, whether it was set through the API or on mp.weixin.qq.com
   * (`/cgi-bin/get_current_selfmenu_info`). Its shape differs from {@link get}: sub-menus are
   * `sub_button.list`.
   *
   * @example
   * const { is_menu_open, selfmenu_info } = await api.menu.current()
   */
  async current(): Promise<CurrentMenu> {
    const answer = await this.api.call<Partial<CurrentMenu>>('/cgi-bin/get_current_selfmenu_info')
    return {
      is_menu_open: answer.is_menu_open ?? 0,
      selfmenu_info: { button: answer.selfmenu_info?.button ?? [] },
    }
  }

  /**
   * Adds a conditional menu (个性化菜单) and returns its menuid. A default menu must exist first
   * (65303 otherwise). Only `tag_id` and `client_platform_type` rules are accepted nowadays.
   *
   * @example
   * const menuid = await api.menu.addConditional({
   *   button: [{ type: 'click', name: '会员', key: 'VIP' }],
   *   matchrule: { tag_id: '2' },
   * })
   */
  async addConditional(menu: ConditionalMenu): Promise<string> {
    validateMenu(menu)
    const answer = await this.api.call<{ menuid: string | number }>('/cgi-bin/menu/addconditional', {
      json: { button: menu.button, matchrule: menu.matchrule },
      // A repeated add would create a second conditional menu.
      idempotent: false,
    })
    return String(answer.menuid)
  }

  /**
   * Deletes one conditional menu (65301 when there is no such menuid).
   *
   * @example
   * await api.menu.deleteConditional(menuid)
   */
  async deleteConditional(menuid: string | number): Promise<void> {
    await this.api.call('/cgi-bin/menu/delconditional', { json: { menuid: String(menuid) } })
  }

  /**
   * The menu a given follower sees (OpenID or WeChat ID), to test conditional menus.
   *
   * @example
   * const { button } = await api.menu.tryMatch(openid)
   */
  async tryMatch(userId: string): Promise<Menu> {
    const answer = await this.api.call<{ button?: unknown }>('/cgi-bin/menu/trymatch', {
      json: { user_id: userId },
    })
    return { button: tidyButtons(answer.button) }
  }
}
