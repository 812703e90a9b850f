/**
 * Typed errors. Every error wemp raises has a stable `code` a caller can branch on, and, where
 * WeChat's official WXBizMsgCrypt samples define one, the numeric `errcode` (-40001 … -40011).
 */

/** Stable string codes of the errors wemp raises while handling a request. */
export type WempErrorCode =
  | 'invalid_config'
  | 'missing_signature'
  | 'invalid_signature'
  | 'stale_timestamp'
  | 'encryption_required'
  | 'encryption_not_configured'
  | 'appid_mismatch'
  | 'invalid_xml'
  | 'invalid_message'
  | 'decrypt_failed'
  | 'invalid_buffer'
  | 'body_too_large'
  | 'method_not_allowed'
  | 'invalid_reply'
  | 'handler_error'
  | 'session_conflict'
  | 'api_error'
  | 'api_unreachable'
  | 'api_not_configured'
  | 'token_unavailable'

/** The base class of every error wemp throws on purpose. */
export class WempError extends Error {
  /** A stable code; branch on this, not on the message. */
  readonly code: WempErrorCode
  /** The official WXBizMsgCrypt error code, where one applies (e.g. -40001 for a bad signature). */
  readonly errcode: number | undefined

  constructor(code: WempErrorCode, message: string, options?: { errcode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'WempError'
    this.code = code
    this.errcode = options?.errcode
  }
}

/** A request that did not come from WeChat, or that WeChat's rules forbid: answered with a 4xx status. */
export class RequestRejectedError extends WempError {
  /** The HTTP status the request is answered with. */
  readonly status: number

  constructor(
    code: WempErrorCode,
    status: number,
    message: string,
    options?: { errcode?: number; cause?: unknown },
  ) {
    super(code, message, options)
    this.name = 'RequestRejectedError'
    this.status = status
  }
}

/** The official WXBizMsgCrypt error codes (from the official samples' ierror.py). */
export const CryptErrorCode = {
  ValidateSignature: -40001,
  ParseXml: -40002,
  ComputeSignature: -40003,
  IllegalAesKey: -40004,
  ValidateAppid: -40005,
  EncryptAES: -40006,
  DecryptAES: -40007,
  IllegalBuffer: -40008,
  EncodeBase64: -40009,
  DecodeBase64: -40010,
  GenReturnXml: -40011,
} as const
