import type { IncomingMessage } from 'node:http'
import type { Bot } from '../bot/bot.js'
import { exceedsLimit } from '../bot/request.js'
import type { DecodedBody } from './event.js'

/**
 * Finding a request's body under Node frameworks (Express, Koa), whatever ran before wemp: the
 * raw stream when nothing read it, the text or bytes a raw/text body parser left, and a clear
 * refusal when a JSON or form parser consumed an XML body and left an object behind.
 */

/** Where a framework's body parsers leave what they read. */
export interface ParsedBody {
  /** `req.body` (Express) or `ctx.request.body` (Koa). */
  body?: unknown
  /** `req.rawBody` / `ctx.request.rawBody`, kept by some parsers and platforms. */
  rawBody?: unknown
}

/** Whether something already read the request's body stream. */
export function bodyConsumed(req: IncomingMessage): boolean {
  return req.readableEnded || (req.complete && !req.readable)
}

/**
 * Reads a request's body, stopping as soon as it is larger than `limit` bytes.
 * @returns the bytes, or `undefined` when the limit was exceeded (the rest is discarded)
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        chunks.length = 0
        req.resume()
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
    }
    const onError = (error: Error) => {
      cleanup()
      reject(error)
    }
    const onAborted = () => onError(new Error('the client aborted the request'))
    const cleanup = () => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('aborted', onAborted)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('aborted', onAborted)
  })
}

const FORM_OR_JSON = /json|x-www-form-urlencoded|multipart\//i

/**
 * The body of a request under a Node framework, for the core.
 *
 * @param hint what to do instead, in the framework's terms, when a parser consumed the body
 */
export async function nodeRequestBody(
  bot: Bot,
  req: IncomingMessage,
  parsed: ParsedBody,
  hint: string,
): Promise<DecodedBody> {
  const method = (req.method ?? 'GET').toUpperCase()
  if (method !== 'POST') {
    if (!bodyConsumed(req)) req.resume()
    return { body: null }
  }
  for (const candidate of [parsed.rawBody, parsed.body]) {
    if (typeof candidate === 'string' || candidate instanceof Uint8Array) {
      return exceedsLimit(candidate, bot.maxBodySize)
        ? { refused: bot.tooLarge(method) }
        : { body: candidate }
    }
  }
  if (!bodyConsumed(req)) {
    if (Number(req.headers['content-length'] ?? '0') > bot.maxBodySize) {
      req.resume()
      return { refused: bot.tooLarge(method) }
    }
    try {
      const bytes = await readBody(req, bot.maxBodySize)
      return bytes === undefined ? { refused: bot.tooLarge(method) } : { body: bytes }
    } catch (error) {
      return {
        refused: bot.refuse(
          400,
          'invalid_body',
          `the body could not be read (${(error as Error).message})`,
          method,
        ),
      }
    }
  }
  const type = String(req.headers['content-type'] ?? '')
  if (typeof parsed.body === 'object' && parsed.body !== null) {
    if (FORM_OR_JSON.test(type)) {
      return {
        refused: bot.refuse(
          400,
          'invalid_body',
          `WeChat sends XML (text/xml), not ${type.split(';')[0]}`,
          method,
        ),
      }
    }
    return {
      refused: bot.refuse(
        500,
        'body_parsed',
        `a body parser read this XML body before wemp and left an object: ${hint}`,
        method,
      ),
    }
  }
  return {
    refused: bot.refuse(500, 'body_consumed', `something read the request body before wemp: ${hint}`, method),
  }
}
