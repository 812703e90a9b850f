import { WempError } from './errors.js'
import {
  codecs,
  derived,
  type Field,
  id,
  list,
  num,
  obj,
  optNum,
  optObj,
  optStr,
  readShape,
  repeated,
  type Shape,
  type ShapeValue,
  type Simplify,
  str,
  textOf,
  writeShape,
} from './fields.js'
import { cdata, type XmlObject } from './xml.js'

/**
 * THE table of WeChat's inbound messages and events. Everything else derives from it: the parser
 * ({@link parseMessage}), the discriminated-union types ({@link Message}), the test kit's message
 * builder ({@link buildMessageXml}) and the documented list in docs/messages.md
 * ({@link describeMessageTable}). To support a new type, add one entry here.
 *
 * Property names are WeChat's element names in camelCase; the docs list both. Sources:
 * ../shared/reference/protocol.md §4 (official docs and SDK test suites).
 */

const msgId = id('MsgId')
const fromArticle = {
  msgDataId: optStr('MsgDataId', 'only when the message comes from an article'),
  idx: optStr('Idx', 'only when the message comes from an article'),
}

/** Normal messages, by MsgType. */
export const messageTable = {
  text: {
    content: str('Content'),
    msgId,
    ...fromArticle,
    bizMsgMenuId: optStr('bizmsgmenuid', 'the option tapped in a customer-service msgmenu'),
  },
  image: { picUrl: str('PicUrl'), mediaId: str('MediaId'), msgId, ...fromArticle },
  voice: {
    mediaId: str('MediaId'),
    format: str('Format', 'amr or speex'),
    mediaId16K: optStr('MediaId16K', '16K sample-rate copy'),
    recognition: optStr('Recognition', 'legacy speech recognition; often empty'),
    msgId,
    ...fromArticle,
  },
  video: { mediaId: str('MediaId'), thumbMediaId: str('ThumbMediaId'), msgId, ...fromArticle },
  shortvideo: { mediaId: str('MediaId'), thumbMediaId: str('ThumbMediaId'), msgId, ...fromArticle },
  location: {
    latitude: num('Location_X', 'latitude'),
    longitude: num('Location_Y', 'longitude'),
    scale: num('Scale'),
    label: str('Label'),
    msgId,
    ...fromArticle,
  },
  link: { title: str('Title'), description: str('Description'), url: str('Url'), msgId, ...fromArticle },
  file: {
    title: str('Title'),
    description: str('Description'),
    fileKey: str('FileKey'),
    fileMd5: str('FileMd5'),
    fileTotalLen: num('FileTotalLen'),
    msgId,
  },
  miniprogrampage: {
    title: str('Title'),
    appId: str('AppId'),
    pagePath: str('PagePath'),
    thumbUrl: optStr('ThumbUrl'),
    thumbMediaId: optStr('ThumbMediaId'),
    msgId,
  },
} as const satisfies Record<string, Shape>

const eventKey = str('EventKey')
const scanCodeInfo = obj('ScanCodeInfo', { scanType: str('ScanType'), scanResult: str('ScanResult') })
const sendPicsInfo = obj('SendPicsInfo', {
  count: num('Count'),
  picList: list('PicList', 'item', { picMd5Sum: str('PicMd5Sum') }),
})
const expired = { expiredTime: num('ExpiredTime', 'unix seconds') }
const failed = { failTime: num('FailTime', 'unix seconds'), failReason: str('FailReason') }
const kfAccount = { kfAccount: str('KfAccount') }
const card = { cardId: str('CardId'), userCardCode: str('UserCardCode') }
const resultList = list('ResultList', 'item', {
  articleIdx: num('ArticleIdx'),
  userDeclareState: num('UserDeclareState'),
  auditState: num('AuditState'),
  originalArticleUrl: str('OriginalArticleUrl'),
  originalArticleType: num('OriginalArticleType'),
  canReprint: num('CanReprint'),
  needReplaceContent: num('NeedReplaceContent'),
  needShowReprintSource: num('NeedShowReprintSource'),
})
const userInfoChange = {
  openId: str('OpenID'),
  appId: str('AppID'),
  revokeInfo: optStr('RevokeInfo', 'which authorised fields changed or were revoked'),
}

const qrScene = derived(
  'EventKey',
  'string',
  (parent) => {
    const key = textOf(parent.EventKey)
    return key.startsWith('qrscene_') ? key.slice(8) : undefined
  },
  'the QR code scene: EventKey without its qrscene_ prefix; absent when not subscribed by a parametric QR code',
)
const scanScene = derived(
  'EventKey',
  'string',
  (parent) => textOf(parent.EventKey),
  'the QR code scene (EventKey)',
)

/** Events (MsgType `event`), by the Event element. Names are matched case-insensitively. */
export const eventTable = {
  subscribe: {
    eventKey: optStr('EventKey', 'qrscene_<scene> when subscribed by a parametric QR code'),
    ticket: optStr('Ticket'),
    scene: qrScene,
  },
  unsubscribe: {},
  SCAN: { eventKey, ticket: optStr('Ticket'), scene: scanScene },
  LOCATION: { latitude: num('Latitude'), longitude: num('Longitude'), precision: num('Precision') },
  CLICK: { eventKey },
  VIEW: { eventKey: str('EventKey', 'the URL'), menuId: optStr('MenuId') },
  view_miniprogram: { eventKey: str('EventKey', 'the page path'), menuId: optStr('MenuId') },
  scancode_push: { eventKey, scanCodeInfo },
  scancode_waitmsg: { eventKey, scanCodeInfo },
  pic_sysphoto: { eventKey, sendPicsInfo },
  pic_photo_or_album: { eventKey, sendPicsInfo },
  pic_weixin: { eventKey, sendPicsInfo },
  location_select: {
    eventKey,
    sendLocationInfo: obj('SendLocationInfo', {
      latitude: num('Location_X', 'latitude'),
      longitude: num('Location_Y', 'longitude'),
      scale: num('Scale'),
      label: str('Label'),
      poiname: optStr('Poiname'),
    }),
  },
  TEMPLATESENDJOBFINISH: {
    msgId: id('MsgID'),
    status: str('Status', "'success', 'failed:user block' or 'failed: system failed'"),
  },
  MASSSENDJOBFINISH: {
    msgId: id('MsgID'),
    status: str('Status', "'send success', 'send fail' or 'err(<code>)'"),
    totalCount: num('TotalCount'),
    filterCount: num('FilterCount'),
    sentCount: num('SentCount'),
    errorCount: num('ErrorCount'),
    copyrightCheckResult: optObj('CopyrightCheckResult', {
      count: num('Count'),
      resultList,
      checkState: num('CheckState'),
    }),
    articleUrlResult: optObj('ArticleUrlResult', {
      count: num('Count'),
      resultList: list('ResultList', 'item', {
        articleIdx: num('ArticleIdx'),
        articleUrl: str('ArticleUrl'),
      }),
    }),
  },
  PUBLISHJOBFINISH: {
    publishEventInfo: obj('PublishEventInfo', {
      publishId: id('publish_id'),
      publishStatus: num(
        'publish_status',
        '0 success, 1 publishing, 2 originality check failed, 3 failed, 4 rejected, 5 deleted by user, 6 banned',
      ),
      articleId: optStr('article_id'),
      articleDetail: optObj('article_detail', {
        count: num('count'),
        item: repeated('item', { idx: num('idx'), articleUrl: str('article_url') }),
      }),
      failIdx: repeated('fail_idx', codecs.number),
    }),
  },
  subscribe_msg_popup_event: {
    subscribeMsgPopupEvent: list('SubscribeMsgPopupEvent', 'List', {
      templateId: str('TemplateId'),
      subscribeStatusString: str('SubscribeStatusString', 'accept or reject'),
      popupScene: optStr('PopupScene'),
    }),
  },
  subscribe_msg_change_event: {
    subscribeMsgChangeEvent: list('SubscribeMsgChangeEvent', 'List', {
      templateId: str('TemplateId'),
      subscribeStatusString: str('SubscribeStatusString'),
    }),
  },
  subscribe_msg_sent_event: {
    subscribeMsgSentEvent: list('SubscribeMsgSentEvent', 'List', {
      templateId: str('TemplateId'),
      msgId: id('MsgID'),
      errorCode: num('ErrorCode'),
      errorStatus: str('ErrorStatus'),
    }),
  },
  user_enter_tempsession: { sessionFrom: optStr('SessionFrom') },
  kf_create_session: kfAccount,
  kf_close_session: kfAccount,
  kf_switch_session: { fromKfAccount: str('FromKfAccount'), toKfAccount: str('ToKfAccount') },
  qualification_verify_success: expired,
  qualification_verify_fail: failed,
  naming_verify_success: expired,
  naming_verify_fail: failed,
  annual_renew: expired,
  verify_expired: expired,
  user_info_modified: userInfoChange,
  user_authorization_revoke: userInfoChange,
  user_authorize_invoice: {
    succOrderId: optStr('SuccOrderId'),
    failOrderId: optStr('FailOrderId'),
    authorizeAppId: optStr('AuthorizeAppId'),
    appId: optStr('AppId', 'older name of AuthorizeAppId'),
    source: str('Source', 'web, app, wxa or wap'),
  },
  update_invoice_status: { status: str('Status'), cardId: str('CardId'), code: str('Code') },
  submit_invoice_title: {
    title: str('title'),
    phone: optStr('phone'),
    taxNo: optStr('tax_no'),
    addr: optStr('addr'),
    bankType: optStr('bank_type'),
    bankNo: optStr('bank_no'),
    attach: optStr('attach'),
    titleType: str('title_type'),
  },
  card_pass_check: { cardId: str('CardId'), refuseReason: optStr('RefuseReason') },
  card_not_pass_check: { cardId: str('CardId'), refuseReason: optStr('RefuseReason') },
  user_get_card: {
    cardId: str('CardId'),
    isGiveByFriend: num('IsGiveByFriend'),
    userCardCode: str('UserCardCode'),
    friendUserName: optStr('FriendUserName'),
    outerId: optNum('OuterId'),
    oldUserCardCode: optStr('OldUserCardCode'),
    outerStr: optStr('OuterStr'),
    isRestoreMemberCard: optNum('IsRestoreMemberCard'),
    isRecommendByFriend: optNum('IsRecommendByFriend'),
    unionId: optStr('UnionId'),
  },
  user_gifting_card: {
    ...card,
    isReturnBack: num('IsReturnBack'),
    friendUserName: str('FriendUserName'),
    isChatRoom: num('IsChatRoom'),
  },
  user_del_card: card,
  user_enter_session_from_card: card,
  user_consume_card: {
    ...card,
    consumeSource: str('ConsumeSource'),
    locationName: optStr('LocationName'),
    staffOpenId: optStr('StaffOpenId'),
    verifyCode: optStr('VerifyCode'),
    remarkAmount: optStr('RemarkAmount'),
    outerStr: optStr('OuterStr'),
  },
  user_pay_from_pay_cell: {
    ...card,
    transId: str('TransId'),
    locationId: optStr('LocationId'),
    fee: num('Fee'),
    originalFee: num('OriginalFee'),
  },
  user_view_card: { ...card, outerStr: optStr('OuterStr') },
  update_member_card: { ...card, modifyBonus: num('ModifyBonus'), modifyBalance: num('ModifyBalance') },
  card_sku_remind: { cardId: str('CardId'), detail: str('Detail') },
  card_pay_order: {
    orderId: str('OrderId'),
    status: str('Status'),
    createOrderTime: num('CreateOrderTime'),
    payFinishTime: num('PayFinishTime'),
    desc: str('Desc'),
    freeCoinCount: str('FreeCoinCount'),
    payCoinCount: str('PayCoinCount'),
    refundFreeCoinCount: str('RefundFreeCoinCount'),
    refundPayCoinCount: str('RefundPayCoinCount'),
    orderType: str('OrderType'),
    memo: str('Memo'),
    receiptInfo: str('ReceiptInfo'),
  },
  submit_membercard_user_info: card,
} as const satisfies Record<string, Shape>

/** The MsgType of every normal message wemp knows. */
export type MessageType = keyof typeof messageTable
/** The Event of every event wemp knows (WeChat's own spelling). */
export type EventType = keyof typeof eventTable

/** The fields every push carries. */
export interface MessageHeader {
  /** The account's original id (`gh_…`). */
  toUserName: string
  /** The follower's OpenID. */
  fromUserName: string
  /** Unix seconds. */
  createTime: number
  /** Every element of the push as parsed, including ones wemp does not know. */
  raw: XmlObject
}

/** A normal message of one type, e.g. `MessageOf<'text'>`. */
export type MessageOf<T extends MessageType> = Simplify<
  MessageHeader & { type: T } & ShapeValue<(typeof messageTable)[T]>
>
/** An event of one type, e.g. `EventOf<'subscribe'>`. */
export type EventOf<E extends EventType> = Simplify<
  MessageHeader & { type: 'event'; event: E } & ShapeValue<(typeof eventTable)[E]>
>
/** Any normal (non-event) message wemp knows. */
export type NormalMessage = { [T in MessageType]: MessageOf<T> }[MessageType]
/** Any event wemp knows. */
export type EventMessage = { [E in EventType]: EventOf<E> }[EventType]
/** A push whose MsgType (or Event) wemp does not know: its fields are in `raw`. */
export interface UnknownMessage extends MessageHeader {
  type: 'unknown'
  /** WeChat's MsgType as sent. */
  msgType: string
  /** WeChat's Event as sent, for an unknown event. */
  event?: string
}
/** Every push, discriminated by `type` (and `event` for events). */
export type Message = NormalMessage | EventMessage | UnknownMessage

export type TextMessage = MessageOf<'text'>
export type ImageMessage = MessageOf<'image'>
export type VoiceMessage = MessageOf<'voice'>
export type VideoMessage = MessageOf<'video'>
export type ShortVideoMessage = MessageOf<'shortvideo'>
export type LocationMessage = MessageOf<'location'>
export type LinkMessage = MessageOf<'link'>
export type FileMessage = MessageOf<'file'>
export type MiniProgramPageMessage = MessageOf<'miniprogrampage'>
export type SubscribeEvent = EventOf<'subscribe'>
export type UnsubscribeEvent = EventOf<'unsubscribe'>
export type ScanEvent = EventOf<'SCAN'>
export type LocationEvent = EventOf<'LOCATION'>
export type ClickEvent = EventOf<'CLICK'>
export type ViewEvent = EventOf<'VIEW'>

type Entries = ReadonlyArray<readonly [string, Field<unknown, boolean>]>
const messageEntries = new Map<string, Entries>(
  Object.entries(messageTable).map(([type, shape]) => [type, Object.entries(shape as Shape)]),
)
const eventEntries = new Map<string, Entries>(
  Object.entries(eventTable).map(([event, shape]) => [event, Object.entries(shape as Shape)]),
)
const eventByLowerName = new Map<string, EventType>(
  (Object.keys(eventTable) as EventType[]).map((event) => [event.toLowerCase(), event]),
)

/** Whether WeChat allows only one article in a news reply to this message (a message the follower sent). */
export function isUserMessage(message: Message): boolean {
  return message.type !== 'event' && message.type !== 'unknown'
}

/**
 * Turns a parsed push into a typed message. Never throws on unknown types: they become
 * {@link UnknownMessage}.
 */
export function parseMessage(xml: XmlObject): Message {
  const msgType = textOf(xml.MsgType)
  const header = {
    toUserName: textOf(xml.ToUserName),
    fromUserName: textOf(xml.FromUserName),
    createTime: Number(textOf(xml.CreateTime).trim()) || 0,
    raw: xml,
  }
  if (msgType === 'event') {
    const sent = textOf(xml.Event)
    const event = eventByLowerName.get(sent.toLowerCase())
    if (event === undefined) return { ...header, type: 'unknown', msgType, event: sent }
    return readShape<Message>(eventEntries.get(event)!, xml, { type: 'event', event, ...header })
  }
  const entries = messageEntries.get(msgType)
  if (entries === undefined) return { ...header, type: 'unknown', msgType }
  return readShape<Message>(entries, xml, { type: msgType, ...header })
}

/** A message as the test kit takes it: the header's times and raw fields may be left out. */
export type MessageInput = DistributiveOmit<Message, 'raw'> | DistributiveOmit<UnknownMessage, 'raw'>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/**
 * Writes a message back as WeChat would send it (the test kit's builder; the inverse of
 * {@link parseMessage} for every field in the table).
 */
export function buildMessageXml(message: MessageInput): string {
  let out = `<xml><ToUserName>${cdata(message.toUserName)}</ToUserName><FromUserName>${cdata(message.fromUserName)}</FromUserName><CreateTime>${message.createTime}</CreateTime>`
  const fields = message as unknown as Record<string, unknown>
  if (message.type === 'event') {
    out += `<MsgType><![CDATA[event]]></MsgType><Event>${cdata(message.event)}</Event>`
    out += writeShape(eventEntries.get(message.event)!, fields)
  } else if (message.type === 'unknown') {
    out += `<MsgType>${cdata(message.msgType)}</MsgType>`
    if (message.event !== undefined) out += `<Event>${cdata(message.event)}</Event>`
  } else {
    const entries = messageEntries.get(message.type)
    if (entries === undefined)
      throw new WempError('invalid_message', `unknown message type ${String(message.type)}`)
    out += `<MsgType>${cdata(message.type)}</MsgType>${writeShape(entries, fields)}`
  }
  return `${out}</xml>`
}

/** One row of the documented list of messages and events. */
export interface MessageTableRow {
  /** `text`, `event:subscribe`, … */
  kind: string
  /** The property on the typed message, with nesting (`sendPicsInfo.picList[].picMd5Sum`). */
  property: string
  /** The XML element path (`SendPicsInfo/PicList/item/PicMd5Sum`). */
  xml: string
  type: string
  optional: boolean
  note: string
}

/** The documented list, derived from the table (docs/messages.md is generated from it). */
export function describeMessageTable(): MessageTableRow[] {
  const rows: MessageTableRow[] = []
  const walk = (kind: string, shape: Shape, prefix: string, xmlPrefix: string) => {
    for (const [property, field] of Object.entries(shape)) {
      const xml = field.xml === '' ? '—' : `${xmlPrefix}${field.xml}`
      rows.push({
        kind,
        property: `${prefix}${property}`,
        xml,
        type: field.type,
        optional: field.optional,
        note: field.note ?? '',
      })
      if (field.shape) {
        const isArray = field.type.endsWith('[]')
        walk(
          kind,
          field.shape,
          `${prefix}${property}${isArray ? '[]' : ''}.`,
          `${xml}/${field.itemXml ? `${field.itemXml}/` : ''}`,
        )
      }
    }
  }
  for (const [type, shape] of Object.entries(messageTable)) walk(type, shape as Shape, '', '')
  for (const [event, shape] of Object.entries(eventTable)) walk(`event:${event}`, shape as Shape, '', '')
  return rows
}
