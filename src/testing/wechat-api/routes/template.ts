import type { PrivateTemplate } from '../../../api/template.js'
import { type Route, StandInError, type WechatApiStandIn } from '../server.js'

type Json = Record<string, unknown>

/** A keyword of a library template: its name and its kind (the key prefix: `thing`, `time`, …). */
interface LibraryKeyword {
  name: string
  rule: string
  example: string
}

/** A template of WeChat's library, as far as the stand-in models it. */
interface LibraryTemplate {
  title: string
  primary_industry: string
  deputy_industry: string
  /** Category templates (numeric ids) are composed from keywords and check every value. */
  keywords?: LibraryKeyword[]
  /** Historical templates (TM…/OPENTM…) have a fixed content and fold long values instead. */
  content?: string
  example?: string
}

/**
 * The stand-in's template library. Category templates: `47123` 订单发货提醒 and `43216` 预约成功提醒
 * (keys: `${rule}${position}`); historical: `TM00015` 订单支付成功.
 */
export const TEMPLATE_LIBRARY: Readonly<Record<string, LibraryTemplate>> = {
  '47123': {
    title: '订单发货提醒',
    primary_industry: 'IT科技',
    deputy_industry: '互联网|电子商务',
    keywords: [
      { name: '商品名称', rule: 'thing', example: '咖啡豆' },
      { name: '快递公司', rule: 'thing', example: '顺丰速运' },
      { name: '快递单号', rule: 'character_string', example: 'SF1234567890' },
      { name: '发货时间', rule: 'time', example: '2024年5月1日 14:00' },
      { name: '订单金额', rule: 'amount', example: '¥39.80' },
    ],
  },
  '43216': {
    title: '预约成功提醒',
    primary_industry: 'IT科技',
    deputy_industry: '互联网|电子商务',
    keywords: [
      { name: '预约项目', rule: 'thing', example: '理发' },
      { name: '预约状态', rule: 'phrase', example: '已确认' },
      { name: '预约日期', rule: 'date', example: '2024年5月1日' },
      { name: '联系电话', rule: 'phone_number', example: '020-88888888' },
    ],
  },
  TM00015: {
    title: '订单支付成功',
    primary_industry: 'IT科技',
    deputy_industry: '互联网|电子商务',
    content:
      '{{first.DATA}}\n\n支付金额：{{orderMoneySum.DATA}}\n商品信息：{{orderProductName.DATA}}\n{{Remark.DATA}}',
    example:
      '我们已收到您的货款，开始为您打包商品，请耐心等待: )\n支付金额：30.00元\n商品信息：我是商品名字\n\n如有问题请致电400-828-1878或直接在微信留言，小易将第一时间为您服务！',
  },
}

/** The public subscribe-message templates (订阅通知) the stand-in offers. */
export const SUBSCRIBE_LIBRARY: Readonly<
  Record<string, { title: string; type: 2 | 3; category: number; keywords: Record<number, LibraryKeyword> }>
> = {
  '699': {
    title: '预约成功通知',
    type: 2,
    category: 307,
    keywords: {
      1: { name: '预约项目', rule: 'thing', example: '理发' },
      2: { name: '预约时间', rule: 'time', example: '2024年5月1日 14:00' },
      3: { name: '预约门店', rule: 'thing', example: '天河店' },
      4: { name: '预约状态', rule: 'phrase', example: '已确认' },
      5: { name: '备注', rule: 'thing', example: '请准时到店' },
      6: { name: '订单编号', rule: 'character_string', example: 'A20240501001' },
    },
  },
  '7108': {
    title: '账户余额变动提醒',
    type: 3,
    category: 307,
    keywords: {
      1: { name: '变动金额', rule: 'amount', example: '¥100.00' },
      2: { name: '变动时间', rule: 'time', example: '2024年5月1日 14:00' },
      3: { name: '变动原因', rule: 'thing', example: '充值' },
    },
  },
}

/** The account's categories the stand-in answers `getcategory` with. */
const CATEGORIES = [{ id: 307, name: '生活服务' }]

/** WeChat's industry table for template messages (api_set_industry ids 1–41). */
const INDUSTRIES: readonly [string, string][] = [
  ['IT科技', '互联网|电子商务'],
  ['IT科技', 'IT软件与服务'],
  ['IT科技', 'IT硬件与设备'],
  ['IT科技', '电子技术'],
  ['IT科技', '通信与运营商'],
  ['IT科技', '网络游戏'],
  ['金融业', '银行'],
  ['金融业', '基金理财信托'],
  ['金融业', '保险'],
  ['餐饮', '餐饮'],
  ['酒店旅游', '酒店'],
  ['酒店旅游', '旅游'],
  ['运输与仓储', '快递'],
  ['运输与仓储', '物流'],
  ['运输与仓储', '仓储'],
  ['教育', '培训'],
  ['教育', '院校'],
  ['政府与公共事业', '学术科研'],
  ['政府与公共事业', '交警'],
  ['政府与公共事业', '博物馆'],
  ['政府与公共事业', '公共事业非盈利机构'],
  ['医药护理', '医药医疗'],
  ['医药护理', '护理美容'],
  ['医药护理', '保健与卫生'],
  ['交通工具', '汽车相关'],
  ['交通工具', '摩托车相关'],
  ['交通工具', '火车相关'],
  ['交通工具', '飞机相关'],
  ['房地产', '建筑'],
  ['房地产', '物业'],
  ['消费品', '消费品'],
  ['商业服务', '法律'],
  ['商业服务', '会展'],
  ['商业服务', '中介服务'],
  ['商业服务', '认证'],
  ['商业服务', '审计'],
  ['文体娱乐', '传媒'],
  ['文体娱乐', '体育'],
  ['文体娱乐', '娱乐休闲'],
  ['印刷', '印刷'],
  ['其它', '其它'],
]

const chars = (value: string) => [...value].length
const CJK = /^[\u4e00-\u9fa5]+$/

/**
 * The rules of category-template values, from WeChat's 类目模板 parameter table: a value that
 * breaks its key's rule is refused with 47003.
 */
const RULES: Record<string, (value: string) => boolean> = {
  thing: (v) => chars(v) <= 20,
  number: (v) => /^\d+(\.\d+)?$/.test(v) && v.length <= 32,
  letter: (v) => /^[A-Za-z]{1,32}$/.test(v),
  symbol: (v) => /^[^\p{L}\p{N}\s]{1,5}$/u.test(v),
  character_string: (v) => /^[\x21-\x7e]{1,32}$/.test(v),
  time: (v) => /\d{1,2}:\d{2}/.test(v),
  date: (v) => /\d{4}\s*[年\-/.]\s*\d{1,2}\s*[月\-/.]\s*\d{1,2}/.test(v),
  amount: (v) => /^[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?$/.test(v),
  phone_number: (v) => /^[\d+\-()\s]{1,17}$/.test(v),
  car_number: (v) => chars(v) <= 8 && /^[\u4e00-\u9fa5A-Za-z0-9]+$/.test(v),
  name: (v) => (CJK.test(v) ? chars(v) <= 10 : chars(v) <= 20),
  phrase: (v) => CJK.test(v) && chars(v) <= 5,
  const: (v) => chars(v) <= 20,
}

/** The keys a template's content asks for, with their rule (`undefined`: not checked). */
interface Key {
  key: string
  rule: string | undefined
}

/** A template as the stand-in keeps it: what WeChat lists, and the keys its content names. */
interface StoredTemplate extends PrivateTemplate {
  keys: Key[]
}

interface SubscribeTemplate {
  priTmplId: string
  title: string
  content: string
  example: string
  type: 2 | 3
  keys: Key[]
}

interface AppTemplates {
  industry: { ids: [number, number]; setAt: number } | undefined
  templates: Map<string, StoredTemplate>
  sent: Map<string, { msgid: number; at: number }>
  subscribe: Map<string, SubscribeTemplate>
  /** `${openid} ${priTmplId}` → acceptances left (Infinity for long-term templates). */
  accepted: Map<string, number>
}

/** What tests can set on the stand-in's template routes (state WeChat keeps elsewhere). */
export interface TemplateStandInControls {
  /** The daily quota of `message/template/send` per account (WeChat's starts at 100 000). */
  dailyQuota: number
  /**
   * A follower accepts a subscribe-message template (the 订阅 button): one send for a one-time
   * template (per acceptance), any number for a long-term one.
   */
  acceptSubscription(appId: string, openid: string, priTmplId: string): void
}

const controls = new WeakMap<WechatApiStandIn, TemplateStandInControls>()

/** The test-side controls of a stand-in's template routes. */
export function templateStandIn(standIn: WechatApiStandIn): TemplateStandInControls {
  const found = controls.get(standIn)
  if (!found) throw new Error('this stand-in has no template routes')
  return found
}

const OPENID = /^[A-Za-z0-9_-]{6,64}$/
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const DEDUP_MS = 10 * 60 * 1000

/** The template a send names (40036 without one, 40037 when unknown), with its data checked against it. */
function templateOf<T extends { keys: Key[] }>(body: Json, templates: Map<string, T>): T {
  if (typeof body.template_id !== 'string' || body.template_id === '') {
    throw new StandInError(40036, 'invalid template_id size')
  }
  const template = templates.get(body.template_id)
  if (!template) throw new StandInError(40037, 'invalid template_id')
  checkData(body.data, template.keys)
  return template
}

/** Checks a message's `data` against its template's keys as WeChat does (47003). */
function checkData(data: unknown, keys: Key[]): void {
  if (!isObject(data)) throw new StandInError(47003, 'argument invalid! data is empty')
  for (const { key, rule } of keys) {
    const entry = data[key]
    const value = isObject(entry) ? entry.value : undefined
    if (rule === undefined) {
      if (value !== undefined && typeof value !== 'string') {
        throw new StandInError(47003, `argument invalid! data.${key}.value invalid`)
      }
      continue
    }
    if (typeof value !== 'string' || value === '') {
      throw new StandInError(47003, `argument invalid! data.${key}.value is empty`)
    }
    const check = RULES[rule]
    if (check && !check(value)) throw new StandInError(47003, `argument invalid! data.${key}.value invalid`)
  }
}

function checkOpenid(touser: unknown): string {
  if (typeof touser !== 'string' || !OPENID.test(touser)) throw new StandInError(40003, 'invalid openid')
  return touser
}

/**
 * Template messages and subscribe messages:
 * - `template/api_add_template`: the id must be in {@link TEMPLATE_LIBRARY} (40037); a category
 *   template needs `keyword_name_list` with names of the template (40246); 25 templates at most
 *   (45026). `del_private_template`: 40037 for an unknown id.
 * - `template/api_set_industry`: ids 1–41 (40102), one change within 30 days (43100);
 *   `get_industry` answers what was set.
 * - `message/template/send`: 40003 bad openid, 40036 no template_id, 40037 unknown template_id,
 *   47003 for a missing value or one breaking its key's rule (category templates), a daily quota
 *   (45009, {@link TemplateStandInControls.dailyQuota}); the same `client_msg_id` for the same
 *   follower within 10 minutes answers the first msgid again.
 * - `/wxaapi/newtmpl/addtemplate`: tid in {@link SUBSCRIBE_LIBRARY} (200014), 2–5 known distinct kids
 *   (200020), sceneDesc ≤15 characters (200021), 25 templates at most (200012); `deltemplate`
 *   20002 for an unknown id; `gettemplate`, `getcategory`.
 * - `message/subscribe/bizsend`: 40003, 40036/40037, 47003 as above, then 43101 unless the follower
 *   accepted the template ({@link TemplateStandInControls.acceptSubscription}).
 */
export function templateRoutes(standIn: WechatApiStandIn): Route[] {
  const apps = new Map<string, AppTemplates>()
  let nextMsgId = 2_000_000_001
  const app = (appId: string): AppTemplates => {
    let found = apps.get(appId)
    if (!found) {
      found = {
        industry: undefined,
        templates: new Map(),
        sent: new Map(),
        subscribe: new Map(),
        accepted: new Map(),
      }
      apps.set(appId, found)
    }
    return found
  }
  const control: TemplateStandInControls = {
    dailyQuota: 100_000,
    acceptSubscription(appId, openid, priTmplId) {
      const state = app(appId)
      const template = state.subscribe.get(priTmplId)
      if (!template) throw new Error(`the account ${appId} has no subscribe template ${priTmplId}`)
      const key = `${openid} ${priTmplId}`
      state.accepted.set(
        key,
        template.type === 3 ? Number.POSITIVE_INFINITY : (state.accepted.get(key) ?? 0) + 1,
      )
    },
  }
  controls.set(standIn, control)

  const send: Route = {
    method: 'POST',
    path: '/cgi-bin/message/template/send',
    // The server reads `quota` on each call, so tests can lower it.
    get quota() {
      return control.dailyQuota
    },
    handle(request) {
      const body = request.json<Json>()
      const touser = checkOpenid(body.touser)
      const state = app(request.appId)
      templateOf(body, state.templates)
      if (body.miniprogram !== undefined) {
        if (!isObject(body.miniprogram) || typeof body.miniprogram.appid !== 'string') {
          throw new StandInError(40166, 'invalid weapp appid')
        }
      }
      const now = standIn.now()
      if (typeof body.client_msg_id === 'string' && body.client_msg_id !== '') {
        const key = `${touser} ${body.client_msg_id}`
        const earlier = state.sent.get(key)
        if (earlier && now - earlier.at < DEDUP_MS) return { msgid: earlier.msgid }
        const msgid = nextMsgId++
        state.sent.set(key, { msgid, at: now })
        return { msgid }
      }
      return { msgid: nextMsgId++ }
    },
  }

  return [
    send,
    {
      method: 'GET',
      path: '/cgi-bin/template/get_all_private_template',
      handle(request) {
        const list = [...app(request.appId).templates.values()].map(
          ({ keys: _keys, ...template }) => template,
        )
        return { template_list: list }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/template/api_add_template',
      handle(request) {
        const body = request.json<{ template_id_short?: unknown; keyword_name_list?: unknown }>()
        const short = body.template_id_short
        const library = typeof short === 'string' ? TEMPLATE_LIBRARY[short] : undefined
        if (!library) throw new StandInError(40037, 'invalid template_id')
        const state = app(request.appId)
        if (state.templates.size >= 25) throw new StandInError(45026, 'template num exceeds limit')
        let content: string
        let example: string
        let keys: Key[]
        if (library.keywords) {
          const names = body.keyword_name_list
          const known = library.keywords
          if (
            !Array.isArray(names) ||
            names.length === 0 ||
            new Set(names).size !== names.length ||
            !names.every((n) => known.some((k) => k.name === n))
          ) {
            throw new StandInError(40246, 'keyword name invalid')
          }
          const chosen = names.map((n) => {
            const index = known.findIndex((k) => k.name === n)
            const keyword = known[index] as LibraryKeyword
            return { ...keyword, key: `${keyword.rule}${index + 1}` }
          })
          content = chosen.map((k) => `${k.name}:{{${k.key}.DATA}}`).join('\n')
          example = chosen.map((k) => `${k.name}:${k.example}`).join('\n')
          keys = chosen.map((k) => ({ key: k.key, rule: k.rule }))
        } else {
          content = library.content ?? ''
          example = library.example ?? ''
          keys = [...content.matchAll(/\{\{(\w+)\.DATA\}\}/g)].map((m) => ({
            key: m[1] as string,
            rule: undefined,
          }))
        }
        const template_id = standIn.newId().slice(0, 43)
        state.templates.set(template_id, {
          template_id,
          title: library.title,
          primary_industry: library.primary_industry,
          deputy_industry: library.deputy_industry,
          content,
          example,
          keys,
        })
        return { template_id }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/template/del_private_template',
      handle(request) {
        const body = request.json<{ template_id?: unknown }>()
        const templates = app(request.appId).templates
        if (typeof body.template_id !== 'string' || !templates.delete(body.template_id)) {
          throw new StandInError(40037, 'invalid template_id')
        }
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/template/api_set_industry',
      handle(request) {
        const body = request.json<{ industry_id1?: unknown; industry_id2?: unknown }>()
        const ids = [body.industry_id1, body.industry_id2].map((id) => Number(id))
        const [id1, id2] = ids as [number, number]
        if (!ids.every((id) => Number.isInteger(id) && id >= 1 && id <= INDUSTRIES.length)) {
          throw new StandInError(40102, 'invalid industry id')
        }
        const state = app(request.appId)
        const now = standIn.now()
        if (state.industry && now - state.industry.setAt < 30 * 86_400_000) {
          throw new StandInError(43100, 'change template too frequently')
        }
        state.industry = { ids: [id1, id2], setAt: now }
        return {}
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/template/get_industry',
      handle(request) {
        const industry = app(request.appId).industry
        const describe = (id: number | undefined) => {
          const [first_class, second_class] = INDUSTRIES[(id ?? 0) - 1] ?? ['', '']
          return { first_class, second_class }
        }
        return {
          primary_industry: describe(industry?.ids[0]),
          secondary_industry: describe(industry?.ids[1]),
        }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/message/subscribe/bizsend',
      handle(request) {
        const body = request.json<Json>()
        const touser = checkOpenid(body.touser)
        const state = app(request.appId)
        const template = templateOf(body, state.subscribe)
        const key = `${touser} ${template.priTmplId}`
        const left = state.accepted.get(key) ?? 0
        if (left <= 0) throw new StandInError(43101, 'user refuse to accept the msg')
        state.accepted.set(key, left - 1)
        return {}
      },
    },
    {
      method: 'GET',
      path: '/wxaapi/newtmpl/gettemplate',
      handle(request) {
        const data = [...app(request.appId).subscribe.values()].map(
          ({ keys: _keys, ...template }) => template,
        )
        return { data }
      },
    },
    {
      method: 'GET',
      path: '/wxaapi/newtmpl/getcategory',
      handle: () => ({ data: CATEGORIES }),
    },
    {
      method: 'POST',
      path: '/wxaapi/newtmpl/addtemplate',
      handle(request) {
        const body = request.json<{ tid?: unknown; kidList?: unknown; sceneDesc?: unknown }>()
        const library =
          typeof body.tid === 'string' || typeof body.tid === 'number'
            ? SUBSCRIBE_LIBRARY[String(body.tid)]
            : undefined
        if (!library) throw new StandInError(200014, 'invalid tid')
        const kids = body.kidList
        if (
          !Array.isArray(kids) ||
          kids.length < 2 ||
          kids.length > 5 ||
          new Set(kids).size !== kids.length ||
          !kids.every((kid) => typeof kid === 'number' && kid in library.keywords)
        ) {
          throw new StandInError(200020, 'invalid kidList')
        }
        if (
          body.sceneDesc !== undefined &&
          (typeof body.sceneDesc !== 'string' || chars(body.sceneDesc) > 15)
        ) {
          throw new StandInError(200021, 'invalid sceneDesc')
        }
        const state = app(request.appId)
        if (state.subscribe.size >= 25) throw new StandInError(200012, 'template count reach limit')
        const chosen = (kids as number[]).map((kid) => {
          const keyword = library.keywords[kid] as LibraryKeyword
          return { ...keyword, key: `${keyword.rule}${kid}` }
        })
        const priTmplId = standIn.newId().slice(0, 43)
        state.subscribe.set(priTmplId, {
          priTmplId,
          title: library.title,
          content: chosen.map((k) => `${k.name}:{{${k.key}.DATA}}`).join('\n'),
          example: chosen.map((k) => `${k.name}:${k.example}`).join('\n'),
          type: library.type,
          keys: chosen.map((k) => ({ key: k.key, rule: k.rule })),
        })
        return { priTmplId }
      },
    },
    {
      method: 'POST',
      path: '/wxaapi/newtmpl/deltemplate',
      handle(request) {
        const body = request.json<{ priTmplId?: unknown }>()
        const state = app(request.appId)
        if (typeof body.priTmplId !== 'string' || !state.subscribe.delete(body.priTmplId)) {
          throw new StandInError(20002, 'invalid parameter')
        }
        for (const key of state.accepted.keys()) {
          if (key.endsWith(` ${body.priTmplId}`)) state.accepted.delete(key)
        }
        return {}
      },
    },
  ]
}
