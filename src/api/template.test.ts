import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { templateStandIn } from '../testing/wechat-api/routes/template.js'
import { startWechatApiStandIn, type WechatApiStandIn } from '../testing/wechat-api/server.js'
import { createApi, type WechatApi } from './client.js'
import { WechatApiError } from './errors.js'
import type { SubscribeMessage, TemplateMessage } from './template.js'

const appId = 'wx1234567890abcdef'
const quotaAppId = 'wx00000000000quota'
const openid = 'oWempTemplateUser00000001'
const DAY = 86_400_000

let clock = 1_700_000_000_000
const now = () => clock
let wechat: WechatApiStandIn
let api: WechatApi

before(async () => {
  wechat = await startWechatApiStandIn({ apps: { [appId]: 'secret', [quotaAppId]: 'secret' }, now })
  api = createApi({ appId, appSecret: 'secret', baseUrl: wechat.url, logger: false, now })
})
after(() => wechat.close())

const errcode = (code: number, message?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof WechatApiError, `expected a WechatApiError, got ${String(error)}`)
  assert.equal(error.errcode, code, error.message)
  if (message) assert.match(error.errmsg, message)
  return true
}
const lastBody = (path: string) => wechat.calls.filter((c) => c.path === path).at(-1)?.body

describe('template messages: templates', () => {
  test('add a category template by keyword names; list shows it with its keys', async () => {
    const templateId = await api.template.add('47123', ['商品名称', '快递单号', '订单金额'])
    assert.deepEqual(lastBody('/cgi-bin/template/api_add_template'), {
      template_id_short: '47123',
      keyword_name_list: ['商品名称', '快递单号', '订单金额'],
    })
    const listed = (await api.template.list()).find((t) => t.template_id === templateId)
    assert.deepEqual(listed, {
      template_id: templateId,
      title: '订单发货提醒',
      primary_industry: 'IT科技',
      deputy_industry: '互联网|电子商务',
      content: '商品名称:{{thing1.DATA}}\n快递单号:{{character_string3.DATA}}\n订单金额:{{amount5.DATA}}',
      example: '商品名称:咖啡豆\n快递单号:SF1234567890\n订单金额:¥39.80',
    })
    await api.template.delete(templateId)
  })

  test('a historical template is added by its short id alone', async () => {
    const templateId = await api.template.add('TM00015')
    assert.deepEqual(lastBody('/cgi-bin/template/api_add_template'), { template_id_short: 'TM00015' })
    const listed = (await api.template.list()).find((t) => t.template_id === templateId)
    assert.match(listed?.content ?? '', /\{\{orderMoneySum\.DATA\}\}/)
    await api.template.delete(templateId)
  })

  test('add: 40037 for an id not in the library, 40246 for keyword names not in the template', async () => {
    await assert.rejects(api.template.add('99999', ['时间']), errcode(40037))
    await assert.rejects(api.template.add('47123'), errcode(40246))
    await assert.rejects(api.template.add('47123', []), errcode(40246))
    await assert.rejects(api.template.add('47123', ['商品名称', '地点']), errcode(40246))
  })

  test('an account holds 25 templates (45026)', async () => {
    const ids: string[] = []
    for (let i = 0; i < 25; i++) ids.push(await api.template.add('47123', ['商品名称']))
    assert.equal((await api.template.list()).length, 25)
    await assert.rejects(api.template.add('47123', ['商品名称']), errcode(45026))
    for (const id of ids) await api.template.delete(id)
    assert.deepEqual(await api.template.list(), [])
  })

  test('delete: the body WeChat expects; 40037 for an unknown template', async () => {
    const templateId = await api.template.add('47123', ['商品名称'])
    await api.template.delete(templateId)
    assert.deepEqual(lastBody('/cgi-bin/template/del_private_template'), { template_id: templateId })
    await assert.rejects(api.template.delete(templateId), errcode(40037))
  })
})

describe('template messages: industry', () => {
  test('set sends string ids; get answers the industry names', async () => {
    await api.template.setIndustry(1, '2')
    assert.deepEqual(lastBody('/cgi-bin/template/api_set_industry'), { industry_id1: '1', industry_id2: '2' })
    assert.deepEqual(await api.template.getIndustry(), {
      primary_industry: { first_class: 'IT科技', second_class: '互联网|电子商务' },
      secondary_industry: { first_class: 'IT科技', second_class: 'IT软件与服务' },
    })
  })

  test('one change a month (43100); unknown ids are refused (40102)', async () => {
    await assert.rejects(api.template.setIndustry(13, 14), errcode(43100))
    clock += 31 * DAY
    await assert.rejects(api.template.setIndustry(0, 42), errcode(40102))
    await api.template.setIndustry(13, 41)
    assert.deepEqual(await api.template.getIndustry(), {
      primary_industry: { first_class: '运输与仓储', second_class: '快递' },
      secondary_industry: { first_class: '其它', second_class: '其它' },
    })
  })
})

describe('template messages: send', () => {
  let templateId: string
  let historical: string
  before(async () => {
    templateId = await api.template.add('47123', ['商品名称', '快递单号', '发货时间', '订单金额'])
    historical = await api.template.add('TM00015')
  })
  const message = (data: TemplateMessage['data'], extra: Partial<TemplateMessage> = {}): TemplateMessage => ({
    touser: openid,
    template_id: templateId,
    data,
    ...extra,
  })
  const good = {
    thing1: { value: '咖啡豆' },
    character_string3: { value: 'SF1234567890' },
    time4: { value: '2024年5月1日 14:00' },
    amount5: { value: '¥39.80' },
  }

  test('sends the message as it is and returns the msgid', async () => {
    const sent = message(good, {
      url: 'https://example.com/orders/42',
      miniprogram: { appid: 'wx286b93c14bbf93aa', pagepath: 'pages/order?id=42' },
      client_msg_id: 'order-42-shipped',
    })
    const msgid = await api.template.send(sent)
    assert.equal(typeof msgid, 'number')
    assert.deepEqual(lastBody('/cgi-bin/message/template/send'), sent)
  })

  test('the values are checked against their keys (47003, naming the key)', async () => {
    await api.template.send(message({ ...good, thing1: { value: '二'.repeat(20) } }))
    await assert.rejects(
      api.template.send(message({ ...good, thing1: { value: '二'.repeat(21) } })),
      errcode(47003, /data\.thing1\.value invalid/),
    )
    const { time4: _time, ...missing } = good
    await assert.rejects(api.template.send(message(missing)), errcode(47003, /data\.time4\.value is empty/))
    await assert.rejects(
      api.template.send(message({ ...good, character_string3: { value: '顺丰1234' } })),
      errcode(47003, /data\.character_string3\.value invalid/),
    )
    await assert.rejects(
      api.template.send(message({ ...good, amount5: { value: '三十九元' } })),
      errcode(47003, /data\.amount5\.value invalid/),
    )
  })

  test('a historical template folds long values instead of refusing them', async () => {
    const msgid = await api.template.send({
      touser: openid,
      template_id: historical,
      data: { orderMoneySum: { value: '30.00元' }, orderProductName: { value: '很长'.repeat(30) } },
    })
    assert.equal(typeof msgid, 'number')
  })

  test('40003 for a bad openid, 40036 without template_id, 40037 for an unknown one', async () => {
    await assert.rejects(api.template.send(message(good, { touser: 'x' })), errcode(40003))
    await assert.rejects(api.template.send(message(good, { template_id: '' })), errcode(40036))
    await assert.rejects(
      api.template.send(message(good, { template_id: 'no-such-template' })),
      errcode(40037),
    )
  })

  test('a deleted template can no longer be sent (40037)', async () => {
    const id = await api.template.add('47123', ['商品名称'])
    await api.template.send({ touser: openid, template_id: id, data: { thing1: { value: '咖啡豆' } } })
    await api.template.delete(id)
    await assert.rejects(
      api.template.send({ touser: openid, template_id: id, data: { thing1: { value: '咖啡豆' } } }),
      errcode(40037),
    )
  })

  test('client_msg_id: the same follower and id within 10 minutes get the first msgid', async () => {
    const first = await api.template.send(message(good, { client_msg_id: 'dedup-1' }))
    assert.equal(await api.template.send(message(good, { client_msg_id: 'dedup-1' })), first)
    const otherId = await api.template.send(message(good, { client_msg_id: 'dedup-2' }))
    assert.notEqual(otherId, first)
    const plain = await api.template.send(message(good))
    assert.notEqual(await api.template.send(message(good)), plain)
    clock += 11 * 60 * 1000
    assert.notEqual(await api.template.send(message(good, { client_msg_id: 'dedup-1' })), first)
  })

  test('is not retried on -1 (the follower might get it twice)', async () => {
    const before = wechat.count('/cgi-bin/message/template/send')
    wechat.failNext('/cgi-bin/message/template/send', -1, 'system error')
    await assert.rejects(api.template.send(message(good)), errcode(-1))
    assert.equal(wechat.count('/cgi-bin/message/template/send'), before + 1)
  })

  test('counts against a daily quota (45009), renewed the next day', async () => {
    const quotaApi = createApi({
      appId: quotaAppId,
      appSecret: 'secret',
      baseUrl: wechat.url,
      logger: false,
      now,
    })
    const id = await quotaApi.template.add('47123', ['商品名称'])
    const send = () =>
      quotaApi.template.send({ touser: openid, template_id: id, data: { thing1: { value: '咖啡豆' } } })
    const controls = templateStandIn(wechat)
    controls.dailyQuota = 2
    try {
      await send()
      await send()
      await assert.rejects(send(), errcode(45009))
      clock += DAY
      await send()
    } finally {
      controls.dailyQuota = 100_000
    }
  })
})

describe('subscribe messages', () => {
  test('categories and templates', async () => {
    assert.deepEqual(await api.subscribeMessage.categories(), [{ id: 307, name: '生活服务' }])
    const id = await api.subscribeMessage.add('699', [1, 2, 4], '预约提醒')
    assert.deepEqual(lastBody('/wxaapi/newtmpl/addtemplate'), {
      tid: '699',
      kidList: [1, 2, 4],
      sceneDesc: '预约提醒',
    })
    const listed = (await api.subscribeMessage.templates()).find((t) => t.priTmplId === id)
    assert.deepEqual(listed, {
      priTmplId: id,
      title: '预约成功通知',
      content: '预约项目:{{thing1.DATA}}\n预约时间:{{time2.DATA}}\n预约状态:{{phrase4.DATA}}',
      example: '预约项目:理发\n预约时间:2024年5月1日 14:00\n预约状态:已确认',
      type: 2,
    })
    await api.subscribeMessage.delete(id)
    assert.deepEqual(lastBody('/wxaapi/newtmpl/deltemplate'), { priTmplId: id })
    assert.equal(
      (await api.subscribeMessage.templates()).find((t) => t.priTmplId === id),
      undefined,
    )
    await assert.rejects(api.subscribeMessage.delete(id), errcode(20002))
  })

  test('add checks tid (200014), kidList (200020) and sceneDesc (200021)', async () => {
    await assert.rejects(api.subscribeMessage.add('1', [1, 2]), errcode(200014))
    await assert.rejects(api.subscribeMessage.add('699', [1]), errcode(200020))
    await assert.rejects(api.subscribeMessage.add('699', [1, 2, 3, 4, 5, 6]), errcode(200020))
    await assert.rejects(api.subscribeMessage.add('699', [1, 1]), errcode(200020))
    await assert.rejects(api.subscribeMessage.add('699', [1, 9]), errcode(200020))
    await assert.rejects(
      api.subscribeMessage.add('699', [1, 2], '一二三四五六七八九十一二三四五六'),
      errcode(200021),
    )
    const id = await api.subscribeMessage.add(699, [5, 1])
    assert.deepEqual(lastBody('/wxaapi/newtmpl/addtemplate'), { tid: '699', kidList: [5, 1] })
    await api.subscribeMessage.delete(id)
  })

  test('a one-time template: one send per acceptance, 43101 otherwise', async () => {
    const id = await api.subscribeMessage.add('699', [1, 2])
    const message: SubscribeMessage = {
      touser: openid,
      template_id: id,
      page: 'https://example.com/booking/7',
      data: { thing1: { value: '理发' }, time2: { value: '2024年5月1日 14:00' } },
    }
    await assert.rejects(api.subscribeMessage.send(message), errcode(43101))
    templateStandIn(wechat).acceptSubscription(appId, openid, id)
    await api.subscribeMessage.send(message)
    assert.deepEqual(lastBody('/cgi-bin/message/subscribe/bizsend'), message)
    await assert.rejects(api.subscribeMessage.send(message), errcode(43101))
  })

  test('a long-term template: any number of sends after one acceptance', async () => {
    const id = await api.subscribeMessage.add('7108', [1, 3])
    templateStandIn(wechat).acceptSubscription(appId, openid, id)
    const message: SubscribeMessage = {
      touser: openid,
      template_id: id,
      miniprogram: { appid: 'wx286b93c14bbf93aa', pagepath: 'pages/account' },
      data: { amount1: { value: '¥100.00' }, thing3: { value: '充值' } },
    }
    await api.subscribeMessage.send(message)
    await api.subscribeMessage.send(message)
    assert.deepEqual(lastBody('/cgi-bin/message/subscribe/bizsend'), message)
  })

  test('send checks openid, template and values before spending an acceptance', async () => {
    const id = await api.subscribeMessage.add('699', [1, 4])
    templateStandIn(wechat).acceptSubscription(appId, openid, id)
    const data = { thing1: { value: '理发' }, phrase4: { value: '已确认' } }
    await assert.rejects(api.subscribeMessage.send({ touser: '?', template_id: id, data }), errcode(40003))
    await assert.rejects(
      api.subscribeMessage.send({ touser: openid, template_id: 'nope', data }),
      errcode(40037),
    )
    await assert.rejects(
      api.subscribeMessage.send({
        touser: openid,
        template_id: id,
        data: { ...data, phrase4: { value: 'done' } },
      }),
      errcode(47003, /data\.phrase4\.value invalid/),
    )
    await api.subscribeMessage.send({ touser: openid, template_id: id, data })
  })

  test('send is not retried on -1', async () => {
    const before = wechat.count('/cgi-bin/message/subscribe/bizsend')
    wechat.failNext('/cgi-bin/message/subscribe/bizsend', -1, 'system error')
    await assert.rejects(
      api.subscribeMessage.send({ touser: openid, template_id: 'x', data: {} }),
      errcode(-1),
    )
    assert.equal(wechat.count('/cgi-bin/message/subscribe/bizsend'), before + 1)
  })
})
