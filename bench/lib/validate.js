// Full correctness check of a running contender, done once before it is measured.
import { send } from './client.js'
import {
  BENCH_CONFIG,
  buildForgedRequest,
  buildHandshake,
  buildTextRequest,
  checkHandshake,
  checkReply,
} from './requests.js'

/**
 * - GET handshake answers echostr,
 * - the signed text message gets a correct echo reply (decrypted + msg_signature checked in safe mode),
 * - a forged signature does not get a valid reply (skipped for the `raw` ceiling, which verifies nothing).
 * `req` is the fixture message (FIXTURE.msgId); the load sends the same message with MsgIds of its own.
 * Returns { ok, errors, quirks }.
 */
export async function validateServer(port, mode, req, { ceiling = false, cfg = BENCH_CONFIG } = {}) {
  const errors = []
  const quirks = []
  try {
    const hs = buildHandshake(cfg)
    const h = checkHandshake(hs, await send(port, hs))
    errors.push(...h.errors)

    const r = checkReply(req, await send(port, req), cfg)
    errors.push(...r.errors)
    quirks.push(...r.quirks)

    if (!ceiling) {
      const forged = buildForgedRequest(mode, cfg)
      const res = await send(port, forged)
      if (checkReply({ ...forged, expect: buildTextRequest(mode, cfg).expect }, res, cfg).ok) {
        errors.push('accepted a forged signature')
      } else if (res.status >= 200 && res.status < 300) {
        quirks.push(`forged signature answered with status ${res.status}`)
      }
    }
  } catch (err) {
    errors.push(`request failed: ${err.message}`)
  }
  return { ok: errors.length === 0, errors, quirks }
}
