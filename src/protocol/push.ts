import { MessageCrypto } from './crypto.js'
import { CryptErrorCode, RequestRejectedError, WempError } from './errors.js'
import { textOf } from './fields.js'
import { type Message, parseMessage } from './messages.js'
import { buildEncryptedEnvelope, buildReplyXml, type Reply } from './replies.js'
import { computeSignature, signaturesEqual } from './signature.js'
import { parseXml, type XmlObject } from './xml.js'

/**
 * One push from WeChat, opened: signature checked, decrypted where it was encrypted, parsed.
 * This is the protocol alone, with no HTTP and no bot: {@link PushProtocol}.
 */

/** How the push reached us: 明文 plaintext, 兼容 compatible (both copies), or 安全 safe (ciphertext only). */
export type Mode = 'plaintext' | 'compatible' | 'safe'

/** A query string as adapters pass it: a repeated parameter may arrive as an array. */
export type Query = Readonly<Record<string, string | readonly string[] | undefined>>

/** What {@link PushProtocol.open} returns. */
export interface OpenedPush {
  message: Message
  mode: Mode
  /** The request's nonce (reused in an encrypted reply). */
  nonce: string
  timestamp: string
}

/** The settings the protocol needs; see `BotOptions` for what each means. */
export interface ProtocolOptions {
  token: string
  appId?: string | undefined
  encodingAESKey?: string | undefined
  requireEncryption?: boolean | undefined
  maxTimestampSkew?: number | undefined
  now?: (() => number) | undefined
}

const TOKEN_PATTERN = /^[A-Za-z0-9]{3,32}$/

/** Reads one query parameter (the first, if repeated). */
export function queryParam(query: Query, name: string): string | undefined {
  const value = query[name]
  if (value === undefined || typeof value === 'string') return value
  return value[0]
}

function reject(
  code: ConstructorParameters<typeof RequestRejectedError>[0],
  status: number,
  message: string,
  errcode?: number,
) {
  return new RequestRejectedError(code, status, message, errcode === undefined ? undefined : { errcode })
}

/**
 * WeChat's server protocol: the URL handshake, verifying and opening pushes in all three modes, and
 * sealing replies (encrypted and signed when the push was encrypted).
 */
export class PushProtocol {
  readonly #token: string
  readonly #crypto: MessageCrypto | undefined
  readonly #requireEncryption: boolean
  readonly #maxSkew: number | undefined
  readonly #now: () => number

  constructor(options: ProtocolOptions) {
    if (typeof options.token !== 'string' || !TOKEN_PATTERN.test(options.token)) {
      throw new WempError(
        'invalid_config',
        'token must be the 3-32 letters and digits entered as "Token" in the MP console (设置与开发 → 基本配置)',
      )
    }
    this.#token = options.token
    if (options.encodingAESKey) {
      if (!options.appId) {
        throw new WempError(
          'invalid_config',
          'appId is required with encodingAESKey: encrypted messages name the AppID they are for',
        )
      }
      this.#crypto = new MessageCrypto(options.encodingAESKey, options.appId)
    }
    this.#requireEncryption = options.requireEncryption === true
    if (this.#requireEncryption && !this.#crypto) {
      throw new WempError('invalid_config', 'requireEncryption needs encodingAESKey and appId')
    }
    this.#maxSkew = options.maxTimestampSkew
    this.#now = options.now ?? Date.now
  }

  /** The message crypto, when an EncodingAESKey is configured. */
  get crypto(): MessageCrypto | undefined {
    return this.#crypto
  }

  /**
   * Checks a URL-verification GET and returns the `echostr` to answer with.
   * @throws RequestRejectedError 401 for a missing or wrong signature
   */
  handshake(query: Query): string {
    const { timestamp, nonce } = this.#verifyPlain(query)
    this.#checkFreshness(timestamp)
    void nonce
    const echostr = queryParam(query, 'echostr')
    if (echostr === undefined) throw reject('invalid_message', 400, 'echostr is missing from the handshake')
    return echostr
  }

  /**
   * Verifies and opens a push.
   * @throws RequestRejectedError 401 (signature), 403 (AppID, encryption required), 400 (XML)
   */
  open(query: Query, body: string): OpenedPush {
    const encrypted = queryParam(query, 'encrypt_type') === 'aes'
    if (!encrypted) {
      const { timestamp, nonce } = this.#verifyPlain(query)
      this.#checkFreshness(timestamp)
      if (this.#requireEncryption) {
        throw reject(
          'encryption_required',
          403,
          'a plaintext push was refused: requireEncryption is on (set the MP console to 安全模式)',
        )
      }
      return { message: parseMessage(parseBody(body)), mode: 'plaintext', nonce, timestamp }
    }

    const timestamp = queryParam(query, 'timestamp')
    const nonce = queryParam(query, 'nonce')
    const msgSignature = queryParam(query, 'msg_signature')
    if (!timestamp || !nonce || !msgSignature) {
      throw reject(
        'missing_signature',
        401,
        'msg_signature, timestamp or nonce is missing',
        CryptErrorCode.ValidateSignature,
      )
    }
    const outer = parseBody(body)
    const encrypt = textOf(outer.Encrypt)
    if (encrypt === '')
      throw reject(
        'invalid_message',
        400,
        'encrypt_type=aes but the body has no <Encrypt>',
        CryptErrorCode.ParseXml,
      )
    if (!signaturesEqual(computeSignature([this.#token, timestamp, nonce, encrypt]), msgSignature)) {
      throw reject(
        'invalid_signature',
        401,
        'msg_signature does not match (errcode -40001)',
        CryptErrorCode.ValidateSignature,
      )
    }
    this.#checkFreshness(timestamp)
    const compatible = outer.MsgType !== undefined
    if (!this.#crypto) {
      if (compatible) {
        // Without the key the ciphertext cannot be read, but compatible mode carries the plaintext too:
        // with the plain signature checked, this is exactly as trustworthy as plaintext mode.
        this.#verifyPlain(query)
        delete outer.Encrypt
        // The mode is how it arrived; seal() answers in plaintext, which compatible mode accepts.
        return { message: parseMessage(outer), mode: 'compatible', nonce, timestamp }
      }
      throw new WempError(
        'encryption_not_configured',
        'an encrypted (safe-mode) push arrived but no encodingAESKey is configured: set encodingAESKey and appId',
      )
    }
    let inner: string
    try {
      inner = this.#crypto.decryptFor(encrypt).message
    } catch (error) {
      if (error instanceof WempError) {
        throw new RequestRejectedError(
          error.code,
          error.code === 'appid_mismatch' ? 403 : 400,
          error.message,
          {
            errcode: error.errcode,
          },
        )
      }
      throw error
    }
    return {
      message: parseMessage(parseBody(inner)),
      mode: compatible ? 'compatible' : 'safe',
      nonce,
      timestamp,
    }
  }

  /**
   * The body to answer a push with: the reply's XML, encrypted and signed when the push was
   * encrypted (except `success`, which WeChat wants in the clear).
   */
  seal(value: Reply, push: OpenedPush): string {
    const message = push.message
    const xml = buildReplyXml(value, {
      toUserName: message.fromUserName,
      fromUserName: message.toUserName,
      createTime: Math.floor(this.#now() / 1000),
    })
    if (value.type === 'success' || push.mode === 'plaintext' || !this.#crypto) return xml
    return this.encryptReply(xml, push.nonce)
  }

  /** Encrypts and signs a reply XML into the safe-mode envelope. */
  encryptReply(xml: string, nonce: string, timestamp = String(Math.floor(this.#now() / 1000))): string {
    if (!this.#crypto) throw new WempError('invalid_config', 'encodingAESKey is not configured')
    const encrypt = this.#crypto.encrypt(xml)
    const signature = computeSignature([this.#token, timestamp, nonce, encrypt])
    return buildEncryptedEnvelope(encrypt, signature, timestamp, nonce)
  }

  #verifyPlain(query: Query): { timestamp: string; nonce: string } {
    const signature = queryParam(query, 'signature')
    const timestamp = queryParam(query, 'timestamp')
    const nonce = queryParam(query, 'nonce')
    if (!signature || !timestamp || !nonce) {
      throw reject(
        'missing_signature',
        401,
        'signature, timestamp or nonce is missing: this endpoint only answers WeChat',
        CryptErrorCode.ValidateSignature,
      )
    }
    if (!signaturesEqual(computeSignature([this.#token, timestamp, nonce]), signature)) {
      throw reject(
        'invalid_signature',
        401,
        'signature does not match the token (errcode -40001)',
        CryptErrorCode.ValidateSignature,
      )
    }
    return { timestamp, nonce }
  }

  #checkFreshness(timestamp: string): void {
    if (this.#maxSkew === undefined) return
    const skew = Math.abs(Math.floor(this.#now() / 1000) - Number(timestamp))
    if (!(skew <= this.#maxSkew)) {
      throw reject(
        'stale_timestamp',
        401,
        `timestamp ${timestamp} is outside the accepted window of ${this.#maxSkew} s (a replayed request?)`,
      )
    }
  }
}

function parseBody(body: string): XmlObject {
  try {
    return parseXml(body)
  } catch (error) {
    if (error instanceof WempError)
      throw new RequestRejectedError('invalid_xml', 400, error.message, { errcode: CryptErrorCode.ParseXml })
    throw error
  }
}
