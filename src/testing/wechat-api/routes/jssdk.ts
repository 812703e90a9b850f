import { createHash } from 'node:crypto'
import { type Route, StandInError, type WechatApiStandIn } from '../server.js'

/**
 * JS-SDK tickets: `GET /cgi-bin/ticket/getticket?type=jsapi|wx_card` issues a ticket valid 7200 s
 * (each call a new one; earlier ones live out their time), counted against a daily quota (45009
 * beyond it). An unknown `type` is 40097. {@link checkJssdkSignature} does what WeChat's client does
 * on `wx.config`: it checks a signature against the app's live jsapi tickets.
 */

/** The ticket lifetime WeChat announces. */
export const TICKET_TTL_SECONDS = 7200
/** The daily quota of `getticket` the stand-in enforces (per app; WeChat does not publish it). */
export const TICKET_DAILY_QUOTA = 100_000

interface IssuedTicket {
  appId: string
  type: string
  expiresAt: number
}

const issued = new WeakMap<WechatApiStandIn, Map<string, IssuedTicket>>()

/** The tickets of an app still valid now, newest first. */
export function liveTickets(standIn: WechatApiStandIn, appId: string, type = 'jsapi'): string[] {
  const now = standIn.now()
  return [...(issued.get(standIn) ?? [])]
    .filter(([, t]) => t.appId === appId && t.type === type && t.expiresAt > now)
    .map(([ticket]) => ticket)
    .reverse()
}

/**
 * Whether a `wx.config` signature is good for a page URL: made with one of the app's live jsapi
 * tickets over `jsapi_ticket`, `noncestr`, `timestamp` and the URL without its `#…` part.
 */
export function checkJssdkSignature(
  standIn: WechatApiStandIn,
  config: { appId: string; timestamp: number | string; nonceStr: string; signature: string },
  url: string,
): boolean {
  const page = url.split('#')[0] ?? url
  return liveTickets(standIn, config.appId).some((ticket) => {
    const text = `jsapi_ticket=${ticket}&noncestr=${config.nonceStr}&timestamp=${config.timestamp}&url=${page}`
    return createHash('sha1').update(text, 'utf8').digest('hex') === config.signature
  })
}

export function jssdkRoutes(standIn: WechatApiStandIn): Route[] {
  const tickets = new Map<string, IssuedTicket>()
  issued.set(standIn, tickets)
  return [
    {
      method: 'GET',
      path: '/cgi-bin/ticket/getticket',
      quota: TICKET_DAILY_QUOTA,
      handle(request) {
        const type = request.query.get('type')
        if (type !== 'jsapi' && type !== 'wx_card') throw new StandInError(40097, 'invalid args')
        const now = standIn.now()
        for (const [ticket, info] of tickets) if (info.expiresAt <= now) tickets.delete(ticket)
        const ticket = standIn.newId(type === 'jsapi' ? 'kgt8ON7yVITDhtdwci0qe' : 'bxLdikRXVbTPdHSM05e5u')
        tickets.set(ticket, { appId: request.appId, type, expiresAt: now + TICKET_TTL_SECONDS * 1000 })
        return { ticket, expires_in: TICKET_TTL_SECONDS }
      },
    },
  ]
}
