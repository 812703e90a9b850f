import { type Route, StandInError, type WechatApiStandIn } from '../server.js'

const MSG_TYPES: Record<string, string[]> = {
  text: ['content'],
  image: ['media_id'],
  voice: ['media_id'],
  video: ['media_id'],
  music: ['thumb_media_id'],
  news: ['articles'],
  mpnews: ['media_id'],
  mpnewsarticle: ['article_id'],
  msgmenu: ['list'],
  wxcard: ['card_id'],
  miniprogrampage: ['appid', 'pagepath', 'thumb_media_id'],
}

/**
 * Customer-service messages: `message/custom/send` checks the message's shape (40008 unknown
 * msgtype, 44003/41xxx for missing fields, 45008 for news with more than one article), then the
 * follower's window (45015 outside it, 45047 over its quota), and records what was sent;
 * `message/custom/typing` checks `touser` (40003) and `command` (40097). WeChat's own typing rules
 * (45080 without an exchange with the follower in the last 30 s, 45081 when already typing) are
 * not modelled.
 */
export function customServiceRoutes(standIn: WechatApiStandIn): Route[] {
  return [
    {
      method: 'POST',
      path: '/cgi-bin/message/custom/send',
      handle(request) {
        const body = request.json<Record<string, unknown>>()
        const touser = body.touser
        if (typeof touser !== 'string' || !/^[A-Za-z0-9_-]{6,64}$/.test(touser)) {
          throw new StandInError(40003, 'invalid openid')
        }
        const msgtype = String(body.msgtype)
        const required = MSG_TYPES[msgtype]
        if (!required) throw new StandInError(40008, 'invalid message type')
        const payload = body[msgtype]
        if (typeof payload !== 'object' || payload === null) throw new StandInError(44003, 'empty news data')
        for (const field of required) {
          const value = (payload as Record<string, unknown>)[field]
          if (value === undefined || value === null || value === '') {
            throw new StandInError(41006, `missing ${field}`)
          }
        }
        if (msgtype === 'news') {
          const articles = (payload as { articles: unknown[] }).articles
          if (!Array.isArray(articles) || articles.length !== 1)
            throw new StandInError(45008, 'article size out of limit')
        }
        if (
          msgtype === 'text' &&
          Buffer.byteLength(String((payload as { content: unknown }).content)) > 2048
        ) {
          throw new StandInError(45002, 'content size out of limit')
        }
        standIn.spendWindow(request.appId, touser)
        standIn.sent.push({ ...body, touser, msgtype, appId: request.appId, at: standIn.now() })
        return {}
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/message/custom/typing',
      handle(request) {
        const body = request.json<{ touser?: string; command?: string }>()
        if (typeof body.touser !== 'string' || body.touser === '')
          throw new StandInError(40003, 'invalid openid')
        if (body.command !== 'Typing' && body.command !== 'CancelTyping')
          throw new StandInError(40097, 'invalid args')
        return {}
      },
    },
  ]
}
