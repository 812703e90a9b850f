import { WempError } from '../protocol/errors.js'
import type { WechatApi } from './client.js'

/**
 * Parametric QR codes (生成带参数的二维码). Scanning one pushes a `subscribe` (not yet following,
 * EventKey `qrscene_<scene>`) or `SCAN` (already following, EventKey `<scene>`) event carrying the
 * scene to the bot.
 */

/** The limits WeChat documents; {@link QrCodeApi.create} refuses values outside them before calling. */
export const QRCODE_LIMITS = {
  /** A temporary code lives at most 30 days. */
  maxExpireSeconds: 2_592_000,
  /** A temporary numeric scene is a non-zero 32-bit integer. */
  maxTemporarySceneId: 4_294_967_295,
  /** Permanent numeric scenes are 1–100 000 (and an account has at most 100 000 permanent codes). */
  maxPermanentSceneId: 100_000,
  /** A scene string is 1–64 characters. */
  maxSceneStrLength: 64,
} as const

/** What {@link QrCodeApi.create} makes. */
export interface QrCodeOptions {
  /** The scene the scan event carries: a number (`scene_id`) or a string (`scene_str`). */
  scene: number | string
  /**
   * Makes a temporary code valid for this many seconds (1–2 592 000, i.e. 30 days). Without it the
   * code is permanent (at most 100 000 per account, numeric scenes 1–100 000).
   */
  expireSeconds?: number
}

/** WeChat's action names: temporary/permanent × numeric/string scene. */
export type QrCodeActionName = 'QR_SCENE' | 'QR_STR_SCENE' | 'QR_LIMIT_SCENE' | 'QR_LIMIT_STR_SCENE'

/** The body of `/cgi-bin/qrcode/create`. */
export interface QrCodeRequest {
  expire_seconds?: number
  action_name: QrCodeActionName
  action_info: { scene: { scene_id: number } | { scene_str: string } }
}

/** A created QR code. */
export interface QrCode {
  /** Exchange it for the image with {@link QrCodeApi.imageUrl}. */
  ticket: string
  /** Temporary codes only: seconds until it expires. */
  expire_seconds?: number
  /** The content of the QR code (`http://weixin.qq.com/q/…`), to render the image yourself. */
  url: string
}

/** Where WeChat serves QR code images (not the API host). */
export const QRCODE_IMAGE_BASE = 'https://mp.weixin.qq.com'

function invalid(message: string): never {
  throw new WempError('invalid_config', `invalid QR code: ${message}`)
}

/** Checks the options as WeChat would and builds the request body. */
export function qrCodeRequest(options: QrCodeOptions): QrCodeRequest {
  const { scene, expireSeconds } = options ?? ({} as QrCodeOptions)
  const temporary = expireSeconds !== undefined
  if (temporary) {
    if (
      !Number.isInteger(expireSeconds) ||
      expireSeconds < 1 ||
      expireSeconds > QRCODE_LIMITS.maxExpireSeconds
    ) {
      invalid(
        `expireSeconds must be a whole number of seconds from 1 to ${QRCODE_LIMITS.maxExpireSeconds} (30 days); got ${String(expireSeconds)}`,
      )
    }
  }
  if (typeof scene === 'number') {
    const max = temporary ? QRCODE_LIMITS.maxTemporarySceneId : QRCODE_LIMITS.maxPermanentSceneId
    if (!Number.isInteger(scene) || scene < 1 || scene > max) {
      invalid(
        `a ${temporary ? 'temporary' : 'permanent'} numeric scene must be an integer from 1 to ${max}; got ${scene}` +
          (temporary ? '' : ' (use a string scene, or a temporary code, for other values)'),
      )
    }
    return temporary
      ? {
          expire_seconds: expireSeconds,
          action_name: 'QR_SCENE',
          action_info: { scene: { scene_id: scene } },
        }
      : { action_name: 'QR_LIMIT_SCENE', action_info: { scene: { scene_id: scene } } }
  }
  if (typeof scene === 'string') {
    const length = [...scene].length
    if (length < 1 || length > QRCODE_LIMITS.maxSceneStrLength) {
      invalid(`a string scene must be 1 to ${QRCODE_LIMITS.maxSceneStrLength} characters; got ${length}`)
    }
    return temporary
      ? {
          expire_seconds: expireSeconds,
          action_name: 'QR_STR_SCENE',
          action_info: { scene: { scene_str: scene } },
        }
      : { action_name: 'QR_LIMIT_STR_SCENE', action_info: { scene: { scene_str: scene } } }
  }
  return invalid(`the scene must be a number or a string; got ${typeof scene}`)
}

/** Parametric QR codes (`/cgi-bin/qrcode/create`). */
export class QrCodeApi {
  constructor(protected readonly api: WechatApi) {}

  /**
   * Creates a QR code: temporary when `expireSeconds` is given (`QR_SCENE`/`QR_STR_SCENE`),
   * permanent otherwise (`QR_LIMIT_SCENE`/`QR_LIMIT_STR_SCENE`). Values outside WeChat's limits are
   * refused before calling.
   *
   * @example
   * const { ticket } = await api.qrcode.create({ scene: 'invite:42', expireSeconds: 7 * 86400 })
   * const img = api.qrcode.imageUrl(ticket)
   */
  async create(options: QrCodeOptions): Promise<QrCode> {
    const answer = await this.api.call<QrCode>('/cgi-bin/qrcode/create', { json: qrCodeRequest(options) })
    const code: QrCode = { ticket: answer.ticket, url: answer.url }
    if (typeof answer.expire_seconds === 'number') code.expire_seconds = answer.expire_seconds
    return code
  }

  /**
   * The image URL of a ticket (`https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=…`; no call is
   * made). `base` replaces the host, for tests against the stand-in.
   *
   * @example
   * const src = api.qrcode.imageUrl(ticket)
   */
  imageUrl(ticket: string, base: string = QRCODE_IMAGE_BASE): string {
    if (typeof ticket !== 'string' || ticket === '') invalid('imageUrl needs a ticket')
    return `${base.replace(/\/+$/, '')}/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`
  }
}
