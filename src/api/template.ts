import type { WechatApi } from './client.js'

/**
 * Template messages (模板消息, verified service accounts) and subscribe messages (订阅通知).
 * Bodies and results keep WeChat's own field names.
 */

/**
 * The values of a message, by the template's keys (`thing1`, `time4`, … as in the template's
 * `content`: `{{thing1.DATA}}`). Category templates check each value against its key's kind
 * (e.g. `thing` ≤20 characters, `character_string` ≤32 letters/digits/symbols, `phrase` ≤5
 * Chinese characters) and refuse the message with 47003 otherwise. `color` is ignored by WeChat
 * since 2023.
 */
export type TemplateData = Record<string, { value: string; color?: string }>

/** A mini program page a message opens. */
export interface TemplateMiniProgram {
  appid: string
  pagepath?: string
}

/** A template message. */
export interface TemplateMessage {
  /** The follower's OpenID. */
  touser: string
  template_id: string
  /** The page a tap opens (the mini program wins when both are given). */
  url?: string
  miniprogram?: TemplateMiniProgram
  /** Deduplication key: one message per openid + client_msg_id within about 10 minutes. */
  client_msg_id?: string
  data: TemplateData
}

/** A template of the account (get_all_private_template). */
export interface PrivateTemplate {
  template_id: string
  title: string
  primary_industry: string
  deputy_industry: string
  /** The body, with `{{key.DATA}}` placeholders. */
  content: string
  example: string
}

/** One of the account's two industries. */
export interface Industry {
  first_class: string
  second_class: string
}

/** What {@link TemplateApi.getIndustry} returns. */
export interface IndustryInfo {
  primary_industry: Industry
  secondary_industry: Industry
}

/** Template messages (`/cgi-bin/message/template/send`, `/cgi-bin/template/*`). */
export class TemplateApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Sends a template message; returns its msgid (the delivery result arrives later as the
   * `TEMPLATESENDJOBFINISH` event). Not retried on WeChat's "busy" (-1): the follower might get it
   * twice — pass `client_msg_id` to make a deliberate resend safe.
   *
   * @example
   * const msgid = await api.template.send({
   *   touser: openid,
   *   template_id: templateId,
   *   url: 'https://example.com/orders/42',
   *   data: { thing1: { value: '咖啡豆' }, amount2: { value: '¥39.80' } },
   * })
   */
  async send(message: TemplateMessage): Promise<number> {
    const answer = await this.api.call<{ msgid: number }>('/cgi-bin/message/template/send', {
      json: message,
      idempotent: false,
    })
    return answer.msgid
  }

  /**
   * The account's templates (at most 25).
   *
   * @example
   * const templates = await api.template.list()
   * const ids = templates.map((t) => t.template_id)
   */
  async list(): Promise<PrivateTemplate[]> {
    const answer = await this.api.call<{ template_list?: PrivateTemplate[] }>(
      '/cgi-bin/template/get_all_private_template',
    )
    return answer.template_list ?? []
  }

  /**
   * Adds a template from WeChat's library and returns its template_id. A category template (a
   * numeric id) needs the keyword names to use, in order (40246 when one is not in the template);
   * the account holds at most 25 templates (45026).
   *
   * @example
   * const templateId = await api.template.add('47123', ['商品名称', '订单金额'])
   */
  async add(templateIdShort: string, keywordNameList?: string[]): Promise<string> {
    const json: Record<string, unknown> = { template_id_short: templateIdShort }
    if (keywordNameList !== undefined) json.keyword_name_list = keywordNameList
    const answer = await this.api.call<{ template_id: string }>('/cgi-bin/template/api_add_template', {
      json,
      idempotent: false,
    })
    return answer.template_id
  }

  /**
   * Deletes one of the account's templates.
   *
   * @example
   * await api.template.delete(templateId)
   */
  async delete(templateId: string): Promise<void> {
    await this.api.call('/cgi-bin/template/del_private_template', { json: { template_id: templateId } })
  }

  /**
   * Sets the account's two industries (ids 1–41 of WeChat's industry table, e.g. 1 互联网/电子商务,
   * 2 IT软件与服务). WeChat allows one change a month (43100 otherwise).
   *
   * @example
   * await api.template.setIndustry(1, 2)
   */
  async setIndustry(industryId1: string | number, industryId2: string | number): Promise<void> {
    await this.api.call('/cgi-bin/template/api_set_industry', {
      json: { industry_id1: String(industryId1), industry_id2: String(industryId2) },
    })
  }

  /**
   * The account's industries.
   *
   * @example
   * const { primary_industry } = await api.template.getIndustry()
   */
  async getIndustry(): Promise<IndustryInfo> {
    const answer = await this.api.call<IndustryInfo>('/cgi-bin/template/get_industry')
    return { primary_industry: answer.primary_industry, secondary_industry: answer.secondary_industry }
  }
}

/** A subscribe message (订阅通知): sent to a follower who accepted the template. */
export interface SubscribeMessage {
  /** The follower's OpenID. */
  touser: string
  /** The account's template id (`priTmplId`). */
  template_id: string
  /** A web page a tap opens (the mini program wins when both are given). */
  page?: string
  miniprogram?: TemplateMiniProgram
  data: TemplateData
}

/** A subscribe-message template of the account. */
export interface SubscribeTemplate {
  priTmplId: string
  title: string
  /** The body, with `{{key.DATA}}` placeholders. */
  content: string
  example: string
  /** 2: one-time (一次性订阅), 3: long-term (长期订阅). */
  type: number
}

/** A category of the account (类目). */
export interface SubscribeCategory {
  id: number
  name: string
}

/** Subscribe messages (`/cgi-bin/message/subscribe/bizsend`, `/wxaapi/newtmpl/*`). */
export class SubscribeMessageApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Sends a subscribe message. WeChat answers 43101 when the follower has not accepted the
   * template (or has used up a one-time acceptance). Not retried on WeChat's "busy" (-1).
   *
   * @example
   * await api.subscribeMessage.send({
   *   touser: openid,
   *   template_id: priTmplId,
   *   page: 'https://example.com/booking/7',
   *   data: { thing1: { value: '理发' }, time2: { value: '2024年5月1日 14:00' } },
   * })
   */
  async send(message: SubscribeMessage): Promise<void> {
    await this.api.call('/cgi-bin/message/subscribe/bizsend', { json: message, idempotent: false })
  }

  /**
   * The account's subscribe-message templates.
   *
   * @example
   * const templates = await api.subscribeMessage.templates()
   */
  async templates(): Promise<SubscribeTemplate[]> {
    const answer = await this.api.call<{ data?: SubscribeTemplate[] }>('/wxaapi/newtmpl/gettemplate')
    return answer.data ?? []
  }

  /**
   * The account's categories (which public templates it may use).
   *
   * @example
   * const categories = await api.subscribeMessage.categories()
   */
  async categories(): Promise<SubscribeCategory[]> {
    const answer = await this.api.call<{ data?: SubscribeCategory[] }>('/wxaapi/newtmpl/getcategory')
    return answer.data ?? []
  }

  /**
   * Adds a public template to the account, with 2–5 of its keywords (by kid, in the order to
   * show), and returns its priTmplId. `sceneDesc` describes the use (≤15 characters).
   *
   * @example
   * const priTmplId = await api.subscribeMessage.add('699', [1, 2], '预约提醒')
   */
  async add(tid: string | number, kidList: number[], sceneDesc?: string): Promise<string> {
    const json: Record<string, unknown> = { tid: String(tid), kidList }
    if (sceneDesc !== undefined) json.sceneDesc = sceneDesc
    const answer = await this.api.call<{ priTmplId: string }>('/wxaapi/newtmpl/addtemplate', {
      json,
      idempotent: false,
    })
    return answer.priTmplId
  }

  /**
   * Deletes one of the account's subscribe-message templates.
   *
   * @example
   * await api.subscribeMessage.delete(priTmplId)
   */
  async delete(priTmplId: string): Promise<void> {
    await this.api.call('/wxaapi/newtmpl/deltemplate', { json: { priTmplId } })
  }
}
