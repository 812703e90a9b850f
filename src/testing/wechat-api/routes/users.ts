import { type Route, StandInError, type WechatApiStandIn } from '../server.js'

/**
 * Followers, tags and the blacklist, as WeChat keeps them per account. Tests give the stand-in
 * followers with {@link addFollower} (what a follow does on WeChat); the routes then answer as
 * WeChat documents:
 * - `user/info`, `user/info/batchget` (1–100 users, else 40032), `user/get` (10 000 openids a
 *   page, `next_openid` = the page's last openid; an empty last page), `user/info/updateremark`;
 *   an openid that never followed this account is 40003, one of another account 49003 in the
 *   tag/blacklist calls (40003 elsewhere).
 * - tags: names 1–30 bytes (45158), unique (45157), at most 100 (45056); the system tags 0/1/2
 *   cannot be changed (45058); an unknown tag id is 45159; a tag with more than 100 000 followers
 *   cannot be deleted (45057); `batchtagging`/`batchuntagging` take 1–50 openids (40032) and a
 *   follower carries at most 20 tags (45059).
 * - the blacklist: `batchblacklist`/`batchunblacklist` take 1–20 openids (40032); `getblacklist`
 *   pages like `user/get`.
 */

/** What a test may set on a follower (WeChat's own field names). */
export interface FollowerSeed {
  /** Seconds since the epoch. Default: the stand-in's now. */
  subscribe_time?: number
  language?: string
  unionid?: string
  remark?: string
  tagid_list?: number[]
  subscribe_scene?: string
  qr_scene?: number
  qr_scene_str?: string
  /** For OAuth2 `sns/userinfo` (`user/info` no longer returns it). */
  nickname?: string
  /** For OAuth2 `sns/userinfo` (`user/info` no longer returns it). */
  headimgurl?: string
}

/** A follower as the stand-in holds it. */
export interface StandInFollower {
  openid: string
  /** 1 while following. */
  subscribe: 0 | 1
  subscribe_time: number
  language: string
  unionid: string | undefined
  remark: string
  /** Tag ids, in the order they were given. */
  tagid_list: number[]
  subscribe_scene: string
  qr_scene: number
  qr_scene_str: string
  nickname: string | undefined
  headimgurl: string | undefined
  blacklisted: boolean
}

interface AppUsers {
  /** In follow order. */
  followers: Map<string, StandInFollower>
  tags: Map<number, { id: number; name: string }>
  nextTagId: number
  /** Blacklisted openids, in the order they were blocked. */
  blacklist: string[]
}

/** The limits WeChat documents for these APIs. */
export const USER_STAND_IN_LIMITS = {
  page: 10_000,
  batchInfo: 100,
  tagMembers: 50,
  blacklist: 20,
  tags: 100,
  tagsPerUser: 20,
  tagNameBytes: 30,
  /** A tag with more followers than this cannot be deleted (45057). */
  deletableTagFollowers: 100_000,
} as const

const SYSTEM_TAGS = new Set([0, 1, 2])
const states = new WeakMap<WechatApiStandIn, Map<string, AppUsers>>()

function appState(standIn: WechatApiStandIn, appId: string): AppUsers {
  let apps = states.get(standIn)
  if (!apps) {
    apps = new Map()
    states.set(standIn, apps)
  }
  let app = apps.get(appId)
  if (!app) {
    app = { followers: new Map(), tags: new Map(), nextTagId: 100, blacklist: [] }
    apps.set(appId, app)
  }
  return app
}

/**
 * Makes `openid` follow `appId` on the stand-in (what a follow does on WeChat). Following again
 * updates the fields given and moves the follower to the end of the list, as a re-follow does.
 *
 * @example
 * addFollower(wechat, appId, 'oFollower0001', { unionid: 'uAbc' })
 */
export function addFollower(
  standIn: WechatApiStandIn,
  appId: string,
  openid: string,
  info: FollowerSeed = {},
): StandInFollower {
  if (!(appId in standIn.options.apps)) throw new Error(`the stand-in has no app ${appId}`)
  if (typeof openid !== 'string' || openid === '') throw new Error('a follower needs an openid')
  const app = appState(standIn, appId)
  const previous = app.followers.get(openid)
  const follower: StandInFollower = {
    openid,
    subscribe: 1,
    subscribe_time: info.subscribe_time ?? Math.floor(standIn.now() / 1000),
    language: info.language ?? previous?.language ?? 'zh_CN',
    unionid: info.unionid ?? previous?.unionid,
    remark: info.remark ?? previous?.remark ?? '',
    tagid_list: [...(info.tagid_list ?? previous?.tagid_list ?? [])],
    subscribe_scene: info.subscribe_scene ?? 'ADD_SCENE_SEARCH',
    qr_scene: info.qr_scene ?? 0,
    qr_scene_str: info.qr_scene_str ?? '',
    nickname: info.nickname ?? previous?.nickname,
    headimgurl: info.headimgurl ?? previous?.headimgurl,
    blacklisted: previous?.blacklisted ?? false,
  }
  for (const id of follower.tagid_list) {
    if (!app.tags.has(id)) app.tags.set(id, { id, name: `tag${id}` })
    app.nextTagId = Math.max(app.nextTagId, id + 1)
  }
  app.followers.delete(openid)
  app.followers.set(openid, follower)
  return follower
}

/** Makes a follower unfollow (WeChat then answers `subscribe: 0` and leaves them out of lists). */
export function removeFollower(standIn: WechatApiStandIn, appId: string, openid: string): void {
  const follower = appState(standIn, appId).followers.get(openid)
  if (follower) follower.subscribe = 0
}

/** A follower as the stand-in holds it (a copy), or undefined when `openid` never followed `appId`. */
export function followerOf(
  standIn: WechatApiStandIn,
  appId: string,
  openid: string,
): StandInFollower | undefined {
  const follower = states.get(standIn)?.get(appId)?.followers.get(openid)
  return follower && { ...follower, tagid_list: [...follower.tagid_list] }
}

type Json = Record<string, unknown>

/** One page of `list`, after `after` (40003 when `after` is not in it), as `user/get` answers. */
function page(list: string[], after: string | null | undefined): Json {
  let start = 0
  if (after) {
    const index = list.indexOf(after)
    if (index < 0) throw new StandInError(40003, 'invalid openid')
    start = index + 1
  }
  const openids = list.slice(start, start + USER_STAND_IN_LIMITS.page)
  if (openids.length === 0) return { count: 0, next_openid: '' }
  return { count: openids.length, data: { openid: openids }, next_openid: openids.at(-1) }
}

export function userRoutes(standIn: WechatApiStandIn): Route[] {
  const app = (request: { appId: string }) => appState(standIn, request.appId)

  /** The follower, or 40003 (49003 with `foreign` when the openid belongs to another account). */
  const known = (appId: string, openid: unknown, foreign = 40003): StandInFollower => {
    const follower = typeof openid === 'string' ? appState(standIn, appId).followers.get(openid) : undefined
    if (follower) return follower
    if (typeof openid === 'string') {
      for (const [other, users] of states.get(standIn) ?? []) {
        if (other !== appId && users.followers.has(openid)) {
          throw new StandInError(foreign, foreign === 49003 ? 'openid not belong to appid' : 'invalid openid')
        }
      }
    }
    throw new StandInError(40003, 'invalid openid')
  }

  const info = (follower: StandInFollower): Json => {
    if (follower.subscribe === 0) {
      return follower.unionid
        ? { subscribe: 0, openid: follower.openid, unionid: follower.unionid }
        : { subscribe: 0, openid: follower.openid }
    }
    const out: Json = {
      subscribe: 1,
      openid: follower.openid,
      language: follower.language,
      subscribe_time: follower.subscribe_time,
    }
    if (follower.unionid) out.unionid = follower.unionid
    Object.assign(out, {
      remark: follower.remark,
      groupid: follower.tagid_list[0] ?? 0,
      tagid_list: [...follower.tagid_list],
      subscribe_scene: follower.subscribe_scene,
      qr_scene: follower.qr_scene,
      qr_scene_str: follower.qr_scene_str,
    })
    return out
  }

  const openidList = (body: Json, limit: number): string[] => {
    const list = body.openid_list
    if (!Array.isArray(list) || list.length === 0 || list.length > limit) {
      throw new StandInError(40032, 'invalid openid list size')
    }
    return list.map((openid) => (typeof openid === 'string' ? openid : ''))
  }

  const tagId = (appId: string, value: unknown): number => {
    const id = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
    if (typeof id !== 'number' || !appState(standIn, appId).tags.has(id)) {
      throw new StandInError(45159, 'invalid tag id')
    }
    return id
  }

  const tagName = (appId: string, value: unknown, except?: number): string => {
    if (typeof value !== 'string' || value.trim() === '') throw new StandInError(45157, 'invalid tag name')
    if (Buffer.byteLength(value, 'utf8') > USER_STAND_IN_LIMITS.tagNameBytes) {
      throw new StandInError(45158, 'tag name too long')
    }
    for (const tag of appState(standIn, appId).tags.values()) {
      if (tag.name === value && tag.id !== except) throw new StandInError(45157, 'invalid tag name')
    }
    return value
  }

  const subscribed = (users: AppUsers) =>
    [...users.followers.values()].filter((f) => f.subscribe === 1).map((f) => f.openid)

  const tagCount = (users: AppUsers, id: number) =>
    [...users.followers.values()].filter((f) => f.subscribe === 1 && f.tagid_list.includes(id)).length

  return [
    {
      method: 'GET',
      path: '/cgi-bin/user/info',
      handle(request) {
        return info(known(request.appId, request.query.get('openid')))
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/user/info/batchget',
      handle(request) {
        const list = request.json().user_list
        if (!Array.isArray(list) || list.length === 0 || list.length > USER_STAND_IN_LIMITS.batchInfo) {
          throw new StandInError(40032, 'invalid openid list size')
        }
        const users = list.map((item: unknown) =>
          known(request.appId, (item as { openid?: unknown } | null)?.openid),
        )
        return { user_info_list: users.map(info) }
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/user/get',
      handle(request) {
        const list = subscribed(app(request))
        return { total: list.length, ...page(list, request.query.get('next_openid')) }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/user/info/updateremark',
      handle(request) {
        const body = request.json()
        const follower = known(request.appId, body.openid)
        if (typeof body.remark !== 'string') throw new StandInError(40097, 'invalid args')
        follower.remark = body.remark
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/create',
      handle(request) {
        const users = app(request)
        const name = tagName(request.appId, (request.json().tag as Json | undefined)?.name)
        if (users.tags.size >= USER_STAND_IN_LIMITS.tags) throw new StandInError(45056, 'too many tags')
        const tag = { id: users.nextTagId++, name }
        users.tags.set(tag.id, tag)
        return { tag: { ...tag } }
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/tags/get',
      handle(request) {
        const users = app(request)
        return { tags: [...users.tags.values()].map((tag) => ({ ...tag, count: tagCount(users, tag.id) })) }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/update',
      handle(request) {
        const tag = (request.json().tag ?? {}) as Json
        if (SYSTEM_TAGS.has(Number(tag.id))) throw new StandInError(45058, 'can not modify sys tag')
        const id = tagId(request.appId, tag.id)
        const name = tagName(request.appId, tag.name, id)
        app(request).tags.set(id, { id, name })
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/delete',
      handle(request) {
        const users = app(request)
        const tag = (request.json().tag ?? {}) as Json
        if (SYSTEM_TAGS.has(Number(tag.id))) throw new StandInError(45058, 'can not modify sys tag')
        const id = tagId(request.appId, tag.id)
        if (tagCount(users, id) > USER_STAND_IN_LIMITS.deletableTagFollowers) {
          throw new StandInError(45057, 'can not delete the tag that has too many fans')
        }
        users.tags.delete(id)
        for (const follower of users.followers.values()) {
          follower.tagid_list = follower.tagid_list.filter((t) => t !== id)
        }
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/user/tag/get',
      handle(request) {
        const body = request.json()
        const id = tagId(request.appId, body.tagid)
        const list = [...app(request).followers.values()]
          .filter((f) => f.subscribe === 1 && f.tagid_list.includes(id))
          .map((f) => f.openid)
        return page(list, typeof body.next_openid === 'string' ? body.next_openid : undefined)
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/members/batchtagging',
      handle(request) {
        const body = request.json()
        const openids = openidList(body, USER_STAND_IN_LIMITS.tagMembers)
        const id = tagId(request.appId, body.tagid)
        const followers = openids.map((openid) => known(request.appId, openid, 49003))
        for (const follower of followers) {
          if (
            !follower.tagid_list.includes(id) &&
            follower.tagid_list.length >= USER_STAND_IN_LIMITS.tagsPerUser
          ) {
            throw new StandInError(45059, 'fans tag count exceeded')
          }
        }
        for (const follower of followers) {
          if (!follower.tagid_list.includes(id)) follower.tagid_list.push(id)
        }
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/members/batchuntagging',
      handle(request) {
        const body = request.json()
        const openids = openidList(body, USER_STAND_IN_LIMITS.tagMembers)
        const id = tagId(request.appId, body.tagid)
        const followers = openids.map((openid) => known(request.appId, openid, 49003))
        for (const follower of followers) follower.tagid_list = follower.tagid_list.filter((t) => t !== id)
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/getidlist',
      handle(request) {
        return { tagid_list: [...known(request.appId, request.json().openid, 49003).tagid_list] }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/members/getblacklist',
      handle(request) {
        const users = app(request)
        const begin = request.body.length > 0 ? request.json().begin_openid : undefined
        return {
          total: users.blacklist.length,
          ...page(users.blacklist, typeof begin === 'string' ? begin : undefined),
        }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/members/batchblacklist',
      handle(request) {
        const users = app(request)
        const followers = openidList(request.json(), USER_STAND_IN_LIMITS.blacklist).map((openid) =>
          known(request.appId, openid, 49003),
        )
        for (const follower of followers) {
          if (follower.blacklisted) continue
          follower.blacklisted = true
          users.blacklist.push(follower.openid)
        }
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/tags/members/batchunblacklist',
      handle(request) {
        const users = app(request)
        const followers = openidList(request.json(), USER_STAND_IN_LIMITS.blacklist).map((openid) =>
          known(request.appId, openid, 49003),
        )
        for (const follower of followers) follower.blacklisted = false
        users.blacklist = users.blacklist.filter((openid) => users.followers.get(openid)?.blacklisted)
        return {}
      },
    },
  ]
}
