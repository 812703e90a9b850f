import { WempError } from '../protocol/errors.js'
import type { WechatApi } from './client.js'

/**
 * Followers (用户管理), follower tags (用户标签管理) and the blacklist (黑名单管理). Bodies and
 * results keep WeChat's own field names, so WeChat's documentation applies as it is.
 */

/** The language of the answer's `country`/`province`/`city` fields: simplified, traditional, English. */
export type UserLang = 'zh_CN' | 'zh_TW' | 'en'

/** The per-call limits WeChat sets; wemp refuses larger calls before sending them. */
export const USER_LIMITS = {
  /** Users per `user/info/batchget` (40032 beyond). */
  batchInfo: 100,
  /** Openids per `tags/members/batchtagging` / `batchuntagging` (40032 beyond). */
  tagMembers: 50,
  /** Openids per `tags/members/batchblacklist` / `batchunblacklist` (40032 beyond). */
  blacklist: 20,
  /** Bytes (UTF-8) of a tag name (45158 beyond). */
  tagName: 30,
  /** Tags an account can create (45056 beyond). */
  tags: 100,
  /** Tags one follower can carry (45059 beyond). */
  tagsPerUser: 20,
  /** Openids per page of `user/get`, `user/tag/get` and `tags/members/getblacklist`. */
  page: 10_000,
} as const

/** How a follower came to follow (`subscribe_scene`). */
export type SubscribeScene =
  | 'ADD_SCENE_SEARCH'
  | 'ADD_SCENE_ACCOUNT_MIGRATION'
  | 'ADD_SCENE_PROFILE_CARD'
  | 'ADD_SCENE_QR_CODE'
  | 'ADD_SCENE_PROFILE_LINK'
  | 'ADD_SCENE_PROFILE_ITEM'
  | 'ADD_SCENE_PAID'
  | 'ADD_SCENE_WECHAT_ADVERTISEMENT'
  | 'ADD_SCENE_REPRINT'
  | 'ADD_SCENE_LIVESTREAM'
  | 'ADD_SCENE_CHANNELS'
  | 'ADD_SCENE_WXA'
  | 'ADD_SCENE_OTHERS'
  | (string & Record<never, never>)

/**
 * A follower's basic information (`/cgi-bin/user/info`). When `subscribe` is 0 the user does not
 * follow the account (any more) and only `openid` (and `unionid`) come with it.
 *
 * Since 2021-12-27 WeChat no longer returns `nickname` and `headimgurl` here, and since 2021-10-20
 * no real `sex`, `city`, `province`, `country`: they are typed as optional for old answers only.
 * A follower's nickname and avatar now come from OAuth2 `snsapi_userinfo` (`api.oauth`) or from
 * the follower.
 */
export interface UserInfo {
  /** 1: follows the account; 0: does not (the other fields are absent). */
  subscribe: 0 | 1
  openid: string
  language?: string
  /** When the follower last followed (seconds since the epoch). */
  subscribe_time?: number
  /** Present when the account is bound to an Open Platform account. */
  unionid?: string
  /** The remark the account set (≤30 characters). */
  remark?: string
  /** Old group id (kept for compatibility; tags replaced groups). */
  groupid?: number
  tagid_list?: number[]
  subscribe_scene?: SubscribeScene
  /** The scene id of the QR code scanned to follow (ADD_SCENE_QR_CODE). */
  qr_scene?: number
  /** The scene string of the QR code scanned to follow. */
  qr_scene_str?: string
  /** @deprecated no longer returned since 2021-12-27. */
  nickname?: string
  /** @deprecated no longer returned since 2021-12-27. */
  headimgurl?: string
  /** @deprecated always 0 since 2021-10-20. */
  sex?: number
  /** @deprecated always empty since 2021-10-20. */
  city?: string
  /** @deprecated always empty since 2021-10-20. */
  province?: string
  /** @deprecated always empty since 2021-10-20. */
  country?: string
}

/** One user of a {@link UserApi.batchInfo} call. */
export interface BatchInfoUser {
  openid: string
  lang?: UserLang
}

/** One page of openids (`user/tag/get`): `next_openid` is where the next page starts. */
export interface OpenidPage {
  /** How many openids this page holds. */
  count: number
  data: { openid: string[] }
  /** The last openid of this page: pass it to get the next page. Empty when there is no more. */
  next_openid: string
}

/** One page of the followers or of the blacklist, with the total count. */
export interface FollowerPage extends OpenidPage {
  /** How many followers (or blacklisted users) there are in all. */
  total: number
}

/** A tag (`tags/create`). */
export interface Tag {
  id: number
  name: string
}

/** A tag as `tags/get` lists it, with its follower count. */
export interface TagWithCount extends Tag {
  count: number
}

type RawPage = {
  total?: number
  count?: number
  data?: { openid?: string[] }
  next_openid?: string
}

function toPage(raw: RawPage): OpenidPage {
  const openid = Array.isArray(raw.data?.openid) ? raw.data.openid : []
  return { count: raw.count ?? openid.length, data: { openid }, next_openid: raw.next_openid ?? '' }
}

function toFollowerPage(raw: RawPage): FollowerPage {
  const page = toPage(raw)
  return { total: raw.total ?? page.count, ...page }
}

/** Follows `next_openid` from page to page, yielding every openid once. */
async function* everyOpenid(
  page: (next: string | undefined) => Promise<OpenidPage & { total?: number }>,
): AsyncGenerator<string, void, undefined> {
  let next: string | undefined
  let seen = 0
  for (;;) {
    const current = await page(next)
    yield* current.data.openid
    seen += current.data.openid.length
    const done =
      current.count === 0 ||
      current.data.openid.length === 0 ||
      current.next_openid === '' ||
      current.next_openid === next ||
      (current.total !== undefined && seen >= current.total)
    if (done) return
    next = current.next_openid
  }
}

function invalid(message: string): never {
  throw new WempError('invalid_config', message)
}

function checkOpenid(openid: unknown, what = 'openid'): string {
  if (typeof openid !== 'string' || openid === '') invalid(`${what} must be a non-empty string`)
  return openid
}

/** Checks a list of openids against a per-call limit; WeChat would answer 40032 beyond it. */
function checkOpenids(openids: readonly string[], limit: number, what: string): string[] {
  if (!Array.isArray(openids)) invalid(`${what} takes an array of openids`)
  if (openids.length > limit) {
    invalid(`${what} takes at most ${limit} openids per call (got ${openids.length}); split the list`)
  }
  return openids.map((openid) => checkOpenid(openid))
}

function checkTagId(tagId: number): number {
  if (!Number.isSafeInteger(tagId) || tagId < 0) invalid(`invalid tag id ${String(tagId)}`)
  return tagId
}

function checkTagName(name: string): string {
  if (typeof name !== 'string' || name.trim() === '') invalid('a tag name must be a non-empty string')
  const bytes = Buffer.byteLength(name, 'utf8')
  if (bytes > USER_LIMITS.tagName) {
    invalid(
      `a tag name is at most ${USER_LIMITS.tagName} bytes (UTF-8); ${JSON.stringify(name)} has ${bytes}`,
    )
  }
  return name
}

/** Followers: basic information, the follower list, remarks (`/cgi-bin/user/*`). */
export class UserApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * A follower's basic information. 40003 when the openid is not a follower of this account.
   *
   * @example
   * const { subscribe, subscribe_time, tagid_list } = await api.user.info(openid)
   */
  async info(openid: string, lang?: UserLang): Promise<UserInfo> {
    const answer = await this.api.call<UserInfo & { errcode?: number; errmsg?: string }>(
      '/cgi-bin/user/info',
      {
        query: { openid: checkOpenid(openid), lang },
      },
    )
    const { errcode: _errcode, errmsg: _errmsg, ...info } = answer
    return info
  }

  /**
   * The basic information of up to 100 followers in one call (larger lists are refused before any
   * call: split them). An empty list answers `[]` without a call.
   *
   * @example
   * const infos = await api.user.batchInfo(['oAbc…', 'oDef…'])
   * const english = await api.user.batchInfo([{ openid: 'oAbc…', lang: 'en' }])
   */
  async batchInfo(users: readonly (string | BatchInfoUser)[], lang?: UserLang): Promise<UserInfo[]> {
    if (!Array.isArray(users)) invalid('batchInfo takes an array of openids or { openid, lang }')
    if (users.length > USER_LIMITS.batchInfo) {
      invalid(
        `batchInfo takes at most ${USER_LIMITS.batchInfo} users per call (got ${users.length}); split the list`,
      )
    }
    if (users.length === 0) return []
    const user_list = users.map((user) => {
      const item = typeof user === 'string' ? { openid: user } : { openid: user?.openid, lang: user?.lang }
      const entry: BatchInfoUser = { openid: checkOpenid(item.openid) }
      const chosen = item.lang ?? lang
      if (chosen !== undefined) entry.lang = chosen
      return entry
    })
    const answer = await this.api.call<{ user_info_list?: UserInfo[] }>('/cgi-bin/user/info/batchget', {
      json: { user_list },
    })
    return answer.user_info_list ?? []
  }

  /**
   * One page of the follower list (up to 10 000 openids, in the order they followed), starting
   * after `nextOpenid` (from the start when omitted). See {@link all} to go through every page.
   *
   * @example
   * const { total, data, next_openid } = await api.user.list()
   * const more = await api.user.list(next_openid)
   */
  async list(nextOpenid?: string): Promise<FollowerPage> {
    const answer = await this.api.call<RawPage>('/cgi-bin/user/get', {
      query: { next_openid: nextOpenid || undefined },
    })
    return toFollowerPage(answer)
  }

  /**
   * Every follower's openid, page after page (one call per 10 000 followers).
   *
   * @example
   * for await (const openid of api.user.all()) console.log(openid)
   */
  all(): AsyncGenerator<string, void, undefined> {
    return everyOpenid((next) => this.list(next))
  }

  /**
   * Sets the remark (备注名, under 30 characters) the account shows for a follower; `''` clears it.
   * Verified service accounts only.
   *
   * @example
   * await api.user.updateRemark(openid, 'VIP: Zhang')
   */
  async updateRemark(openid: string, remark: string): Promise<void> {
    if (typeof remark !== 'string') invalid('a remark must be a string')
    await this.api.call('/cgi-bin/user/info/updateremark', { json: { openid: checkOpenid(openid), remark } })
  }
}

/** Follower tags (`/cgi-bin/tags/*`): up to 100 per account, 20 per follower. */
export class TagApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Creates a tag (name ≤30 bytes, unique: 45157 for a duplicate; 45056 beyond 100 tags).
   *
   * @example
   * const { id } = await api.tag.create('广东')
   */
  async create(name: string): Promise<Tag> {
    const answer = await this.api.call<{ tag: Tag }>('/cgi-bin/tags/create', {
      json: { tag: { name: checkTagName(name) } },
    })
    return { id: answer.tag.id, name: answer.tag.name }
  }

  /**
   * The account's tags, with their follower counts.
   *
   * @example
   * const tags = await api.tag.list()
   * const vip = tags.find((t) => t.name === 'VIP')
   */
  async list(): Promise<TagWithCount[]> {
    const answer = await this.api.call<{ tags?: TagWithCount[] }>('/cgi-bin/tags/get')
    return answer.tags ?? []
  }

  /**
   * Renames a tag. The system tags (0, 1, 2) cannot be changed (45058).
   *
   * @example
   * await api.tag.update(134, '广东人')
   */
  async update(id: number, name: string): Promise<void> {
    await this.api.call('/cgi-bin/tags/update', {
      json: { tag: { id: checkTagId(id), name: checkTagName(name) } },
    })
  }

  /**
   * Deletes a tag (untagging its followers). WeChat refuses a tag with more than 100 000
   * followers (45057): untag them first.
   *
   * @example
   * await api.tag.delete(134)
   */
  async delete(id: number): Promise<void> {
    await this.api.call('/cgi-bin/tags/delete', { json: { tag: { id: checkTagId(id) } } })
  }

  /**
   * One page of the followers carrying a tag, starting after `nextOpenid`.
   *
   * @example
   * const { data, next_openid } = await api.tag.users(134)
   */
  async users(tagId: number, nextOpenid?: string): Promise<OpenidPage> {
    const json: { tagid: number; next_openid?: string } = { tagid: checkTagId(tagId) }
    if (nextOpenid) json.next_openid = nextOpenid
    return toPage(await this.api.call<RawPage>('/cgi-bin/user/tag/get', { json }))
  }

  /**
   * Every follower carrying a tag, page after page.
   *
   * @example
   * for await (const openid of api.tag.allUsers(134)) console.log(openid)
   */
  allUsers(tagId: number): AsyncGenerator<string, void, undefined> {
    checkTagId(tagId)
    return everyOpenid((next) => this.users(tagId, next))
  }

  /**
   * Tags up to 50 followers (larger lists are refused before any call). A follower carries at most
   * 20 tags (45059). An empty list is a no-op.
   *
   * @example
   * await api.tag.tag(134, [openid1, openid2])
   */
  async tag(tagId: number, openids: readonly string[]): Promise<void> {
    const openid_list = checkOpenids(openids, USER_LIMITS.tagMembers, 'tag')
    checkTagId(tagId)
    if (openid_list.length === 0) return
    await this.api.call('/cgi-bin/tags/members/batchtagging', { json: { openid_list, tagid: tagId } })
  }

  /**
   * Removes a tag from up to 50 followers. An empty list is a no-op.
   *
   * @example
   * await api.tag.untag(134, [openid1])
   */
  async untag(tagId: number, openids: readonly string[]): Promise<void> {
    const openid_list = checkOpenids(openids, USER_LIMITS.tagMembers, 'untag')
    checkTagId(tagId)
    if (openid_list.length === 0) return
    await this.api.call('/cgi-bin/tags/members/batchuntagging', { json: { openid_list, tagid: tagId } })
  }

  /**
   * The ids of the tags a follower carries (`tags/getidlist`).
   *
   * @example
   * const ids = await api.tag.ofUser(openid) // [134, 2]
   */
  async ofUser(openid: string): Promise<number[]> {
    const answer = await this.api.call<{ tagid_list?: number[] }>('/cgi-bin/tags/getidlist', {
      json: { openid: checkOpenid(openid) },
    })
    return answer.tagid_list ?? []
  }
}

/** The blacklist (`/cgi-bin/tags/members/*blacklist`): blocked followers cannot message the account. */
export class BlacklistApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * One page of the blacklist (up to 10 000 openids), starting after `beginOpenid`.
   *
   * @example
   * const { total, data, next_openid } = await api.blacklist.list()
   */
  async list(beginOpenid?: string): Promise<FollowerPage> {
    const answer = await this.api.call<RawPage>('/cgi-bin/tags/members/getblacklist', {
      json: { begin_openid: beginOpenid ?? '' },
    })
    return toFollowerPage(answer)
  }

  /**
   * Every blacklisted openid, page after page.
   *
   * @example
   * for await (const openid of api.blacklist.all()) console.log(openid)
   */
  all(): AsyncGenerator<string, void, undefined> {
    return everyOpenid((next) => this.list(next))
  }

  /**
   * Blocks up to 20 followers (larger lists are refused before any call). An empty list is a no-op.
   *
   * @example
   * await api.blacklist.block([openid])
   */
  async block(openids: readonly string[]): Promise<void> {
    const openid_list = checkOpenids(openids, USER_LIMITS.blacklist, 'block')
    if (openid_list.length === 0) return
    await this.api.call('/cgi-bin/tags/members/batchblacklist', { json: { openid_list } })
  }

  /**
   * Unblocks up to 20 users. An empty list is a no-op.
   *
   * @example
   * await api.blacklist.unblock([openid])
   */
  async unblock(openids: readonly string[]): Promise<void> {
    const openid_list = checkOpenids(openids, USER_LIMITS.blacklist, 'unblock')
    if (openid_list.length === 0) return
    await this.api.call('/cgi-bin/tags/members/batchunblacklist', { json: { openid_list } })
  }
}
