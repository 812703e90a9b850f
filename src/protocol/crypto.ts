import { createCipheriv, createDecipheriv, type Decipher, randomFillSync } from 'node:crypto'
import { CryptErrorCode, WempError } from './errors.js'

const BLOCK = 32

// randomBytes(16) costs about 3 µs a call; filling a pool and handing out slices costs a tenth of that.
const POOL_SIZE = 4096
const pool = Buffer.allocUnsafe(POOL_SIZE)
let poolOffset = POOL_SIZE

function randomPrefix(target: Buffer): void {
  if (poolOffset + 16 > POOL_SIZE) {
    randomFillSync(pool)
    poolOffset = 0
  }
  pool.copy(target, 0, poolOffset, poolOffset + 16)
  poolOffset += 16
}
const AES_KEY_PATTERN = /^[A-Za-z0-9]{43}$/

/** What one decrypted `Encrypt` field holds. */
export interface DecryptedMessage {
  /** The inner message (XML for pushes), decoded as UTF-8. */
  message: string
  /** The receive id at the end of the plaintext: the AppID for an Official Account. */
  receiveId: string
  /** The 16 random bytes WeChat put in front. */
  random: Uint8Array
}

/**
 * WeChat's message encryption (the official WXBizMsgCrypt): AES-256-CBC with the key from the
 * 43-character EncodingAESKey, IV = the key's first 16 bytes, PKCS#7 padding to 32 bytes, and a
 * plaintext of `random(16) ‖ uint32_be(len) ‖ message ‖ receiveId`.
 *
 * @example
 * const crypto = new MessageCrypto('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', 'wxb11529c136998cb6')
 * const encrypt = crypto.encrypt('<xml>…</xml>')
 * crypto.decrypt(encrypt).message // '<xml>…</xml>'
 */
export class MessageCrypto {
  readonly #key: Buffer
  readonly #iv: Buffer
  readonly #receiveId: string
  readonly #receiveIdBytes: Buffer
  // CBC decryption is ECB decryption XORed with the previous ciphertext block. An ECB decipher keeps
  // no state between whole blocks, so one is reused for every message instead of paying for
  // createDecipheriv (about 2 µs) each time; CBC encryption is sequential and gets a fresh cipher.
  #ecb: Decipher | undefined

  /**
   * @param encodingAESKey the 43-character EncodingAESKey from the MP console
   * @param receiveId the AppID (公众号), or the component AppID on a third-party platform
   */
  constructor(encodingAESKey: string, receiveId: string) {
    if (!AES_KEY_PATTERN.test(encodingAESKey)) {
      throw new WempError(
        'invalid_config',
        'encodingAESKey must be the 43 letters and digits shown in the MP console (errcode -40004)',
        { errcode: CryptErrorCode.IllegalAesKey },
      )
    }
    const key = Buffer.from(`${encodingAESKey}=`, 'base64')
    if (key.length !== 32) {
      throw new WempError('invalid_config', 'encodingAESKey does not decode to 32 bytes (errcode -40004)', {
        errcode: CryptErrorCode.IllegalAesKey,
      })
    }
    this.#key = key
    this.#iv = key.subarray(0, 16)
    this.#receiveId = receiveId
    this.#receiveIdBytes = Buffer.from(receiveId, 'utf8')
  }

  /** The receive id (AppID) this instance encrypts for and expects when decrypting. */
  get receiveId(): string {
    return this.#receiveId
  }

  /**
   * Encrypts a message and returns the base64 `Encrypt` text.
   * @param random the 16-byte random prefix; fresh random bytes when omitted (pass one only for known-answer tests)
   */
  encrypt(message: string, random?: Uint8Array): string {
    if (random !== undefined && random.length !== 16) {
      throw new WempError('invalid_config', 'the random prefix must be 16 bytes')
    }
    const bodyLength = Buffer.byteLength(message, 'utf8')
    const plainLength = 20 + bodyLength + this.#receiveIdBytes.length
    const pad = BLOCK - (plainLength % BLOCK)
    const plain = Buffer.allocUnsafe(plainLength + pad)
    if (random === undefined) randomPrefix(plain)
    else plain.set(random, 0)
    plain.writeUInt32BE(bodyLength, 16)
    plain.write(message, 20, 'utf8')
    this.#receiveIdBytes.copy(plain, 20 + bodyLength)
    plain.fill(pad, plainLength)
    const cipher = createCipheriv('aes-256-cbc', this.#key, this.#iv)
    cipher.setAutoPadding(false)
    // Whole blocks with padding off: update() returns everything and final() nothing.
    const out = cipher.update(plain)
    cipher.final()
    return out.toString('base64')
  }

  /**
   * Decrypts a base64 `Encrypt` text. Does not check the receive id: see {@link decryptFor}.
   * @throws WempError `decrypt_failed` (-40007, -40010) or `invalid_buffer` (-40008)
   */
  decrypt(encrypt: string): DecryptedMessage {
    const data = Buffer.from(encrypt, 'base64')
    if (data.length === 0 || data.length % 16 !== 0) {
      throw new WempError('decrypt_failed', 'Encrypt is not base64 of whole AES blocks (errcode -40010)', {
        errcode: CryptErrorCode.DecodeBase64,
      })
    }
    let plain: Buffer
    try {
      if (this.#ecb === undefined) {
        this.#ecb = createDecipheriv('aes-256-ecb', this.#key, null)
        this.#ecb.setAutoPadding(false)
      }
      plain = this.#ecb.update(data)
      if (plain.length !== data.length) throw new Error('short ECB output')
      for (let i = plain.length - 1; i >= 16; i--) plain[i]! ^= data[i - 16]!
      for (let i = 0; i < 16; i++) plain[i]! ^= this.#iv[i]!
    } catch (cause) {
      this.#ecb = undefined
      throw new WempError('decrypt_failed', 'AES decryption failed (errcode -40007)', {
        errcode: CryptErrorCode.DecryptAES,
        cause,
      })
    }
    const pad = plain[plain.length - 1]!
    if (pad < 1 || pad > BLOCK || pad > plain.length) throw illegalBuffer('bad PKCS#7 padding')
    for (let i = plain.length - pad; i < plain.length; i++) {
      if (plain[i] !== pad) throw illegalBuffer('bad PKCS#7 padding')
    }
    const end = plain.length - pad
    if (end < 20) throw illegalBuffer('too short')
    const length = plain.readUInt32BE(16)
    if (20 + length > end) throw illegalBuffer('message length exceeds the buffer')
    return {
      message: plain.toString('utf8', 20, 20 + length),
      receiveId: plain.toString('utf8', 20 + length, end),
      random: plain.subarray(0, 16),
    }
  }

  /**
   * Decrypts and checks that the receive id is this instance's AppID.
   * @throws WempError `appid_mismatch` (-40005) when it is not
   */
  decryptFor(encrypt: string): DecryptedMessage {
    const result = this.decrypt(encrypt)
    if (result.receiveId !== this.#receiveId) {
      throw new WempError(
        'appid_mismatch',
        `the message was encrypted for another AppID (${JSON.stringify(result.receiveId)}) (errcode -40005)`,
        { errcode: CryptErrorCode.ValidateAppid },
      )
    }
    return result
  }
}

function illegalBuffer(reason: string): WempError {
  return new WempError('invalid_buffer', `decrypted buffer is malformed: ${reason} (errcode -40008)`, {
    errcode: CryptErrorCode.IllegalBuffer,
  })
}
