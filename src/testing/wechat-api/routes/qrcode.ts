import { randomBytes } from 'node:crypto'
import { type Route, StandInError, type WechatApiStandIn } from '../server.js'

/**
 * Parametric QR codes. `qrcode/create` checks the action as WeChat does: an unknown
 * `action_name` is 40052; a scene out of range (temporary numeric: a non-zero 32-bit integer;
 * permanent numeric: 1–100 000; strings: 1–64 characters) is 40053 "invalid action info"; an
 * account's 100 001st permanent code is 45029. A temporary code without `expire_seconds` lives 60 s,
 * one beyond 30 days is cut to 30 days (an `expire_seconds` that is not a positive whole number is
 * 40097). Creating the same permanent scene again gives the same ticket.
 * `GET /cgi-bin/showqrcode?ticket=` (on mp.weixin.qq.com in reality) answers a small JPEG for a
 * live ticket and 404 otherwise.
 */

/** A QR code the stand-in issued, to simulate the scan of it in tests. */
export interface StandInQrCode {
  appId: string
  ticket: string
  action_name: string
  /** `scene_id` or `scene_str`. */
  scene: number | string
  /** ms since the epoch; undefined for permanent codes. */
  expiresAt: number | undefined
  url: string
}

const issued = new WeakMap<WechatApiStandIn, Map<string, StandInQrCode>>()

/** The QR code a ticket stands for (live or not), or undefined. */
export function qrCodeOf(standIn: WechatApiStandIn, ticket: string): StandInQrCode | undefined {
  const code = issued.get(standIn)?.get(ticket)
  return code && { ...code }
}

export const QRCODE_STAND_IN_LIMITS = {
  maxExpireSeconds: 2_592_000,
  defaultExpireSeconds: 60,
  maxTemporarySceneId: 4_294_967_295,
  maxPermanentSceneId: 100_000,
  maxSceneStr: 64,
  permanentCodes: 100_000,
} as const

/** The stand-in's QR code "image": a JPEG header (SOI + JFIF APP0), enough for a content check. */
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex')

export function qrcodeRoutes(standIn: WechatApiStandIn): Route[] {
  const tickets = new Map<string, StandInQrCode>()
  issued.set(standIn, tickets)
  /** Permanent codes per app: scene key → ticket. */
  const permanent = new Map<string, Map<string, string>>()
  const L = QRCODE_STAND_IN_LIMITS

  return [
    {
      method: 'POST',
      path: '/cgi-bin/qrcode/create',
      handle(request) {
        const body = request.json()
        const action = body.action_name
        if (
          action !== 'QR_SCENE' &&
          action !== 'QR_STR_SCENE' &&
          action !== 'QR_LIMIT_SCENE' &&
          action !== 'QR_LIMIT_STR_SCENE'
        ) {
          throw new StandInError(40052, 'invalid action name')
        }
        const temporary = action === 'QR_SCENE' || action === 'QR_STR_SCENE'
        const scene = ((body.action_info as { scene?: Record<string, unknown> } | undefined)?.scene ??
          {}) as Record<string, unknown>
        let value: number | string
        if (action === 'QR_STR_SCENE' || action === 'QR_LIMIT_STR_SCENE') {
          const str = scene.scene_str
          if (typeof str !== 'string' || [...str].length < 1 || [...str].length > L.maxSceneStr) {
            throw new StandInError(40053, 'invalid action info, please check document')
          }
          value = str
        } else {
          const id = scene.scene_id
          const max = temporary ? L.maxTemporarySceneId : L.maxPermanentSceneId
          if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > max) {
            throw new StandInError(40053, 'invalid action info, please check document')
          }
          value = id
        }
        const now = standIn.now()
        if (temporary) {
          let seconds: number = L.defaultExpireSeconds
          if (body.expire_seconds !== undefined) {
            const given = body.expire_seconds
            if (typeof given !== 'number' || !Number.isInteger(given) || given < 1) {
              throw new StandInError(40097, 'invalid args')
            }
            seconds = Math.min(given, L.maxExpireSeconds)
          }
          const code = issue(request.appId, action, value, now + seconds * 1000)
          return { ticket: code.ticket, expire_seconds: seconds, url: code.url }
        }
        let codes = permanent.get(request.appId)
        if (!codes) {
          codes = new Map()
          permanent.set(request.appId, codes)
        }
        const key = `${typeof value}:${value}`
        const existing = codes.get(key)
        const known = existing === undefined ? undefined : tickets.get(existing)
        if (known) return { ticket: known.ticket, url: known.url }
        if (codes.size >= L.permanentCodes) throw new StandInError(45029, 'qrcode count out of limit')
        const code = issue(request.appId, action, value, undefined)
        codes.set(key, code.ticket)
        return { ticket: code.ticket, url: code.url }
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/showqrcode',
      auth: 'none',
      handle(request) {
        const code = tickets.get(request.query.get('ticket') ?? '')
        if (!code || (code.expiresAt !== undefined && code.expiresAt <= standIn.now())) {
          return { raw: { status: 404, headers: { 'content-type': 'text/html' }, body: 'not found' } }
        }
        return { raw: { headers: { 'content-type': 'image/jpeg' }, body: new Uint8Array(JPEG) } }
      },
    },
  ]

  function issue(appId: string, action: string, scene: number | string, expiresAt: number | undefined) {
    // Real tickets are standard base64 (with `+`, `/`, `=`), which is why imageUrl must encode them.
    const ticket = `gQ${randomBytes(25).toString('base64')}`
    const code: StandInQrCode = {
      appId,
      ticket,
      action_name: action,
      scene,
      expiresAt,
      url: `http://weixin.qq.com/q/${standIn.newId().slice(0, 22)}`,
    }
    tickets.set(ticket, code)
    return code
  }
}
