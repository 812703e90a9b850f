/**
 * wemp: WeChat Official Account (微信公众号) bots in TypeScript, built to run serverless.
 *
 * @example
 * import { createBot } from 'wemp'
 * const bot = createBot({ token, appId, encodingAESKey })
 * bot.text(/^hi/i, () => 'hello!')
 * export default { fetch: bot.fetch }
 */

export * from './api/index.js'
export { Bot, type BotOptions, createBot, type ErrorHook } from './bot/bot.js'
export type { Context, MatchedContext } from './bot/context.js'
export { createConsoleLogger, type Logger, type LogLevel, silentLogger } from './bot/logger.js'
export { compose, type Middleware } from './bot/middleware.js'
export { DEFAULT_MAX_BODY_SIZE, type WempRequest, type WempResponse } from './bot/request.js'
export type { AnyHandler, Handler, Pattern } from './bot/router.js'
export { type DeliveryOptions, dedupeKey, type Lifetime } from './delivery/delivery.js'
export { type DecryptedMessage, MessageCrypto } from './protocol/crypto.js'
export { CryptErrorCode, RequestRejectedError, WempError, type WempErrorCode } from './protocol/errors.js'
export {
  buildMessageXml,
  type ClickEvent,
  describeMessageTable,
  type EventMessage,
  type EventOf,
  type EventType,
  eventTable,
  type FileMessage,
  type ImageMessage,
  type LinkMessage,
  type LocationEvent,
  type LocationMessage,
  type Message,
  type MessageHeader,
  type MessageInput,
  type MessageOf,
  type MessageTableRow,
  type MessageType,
  type MiniProgramPageMessage,
  messageTable,
  type NormalMessage,
  parseMessage,
  type ScanEvent,
  type ShortVideoMessage,
  type SubscribeEvent,
  type TextMessage,
  type UnknownMessage,
  type UnsubscribeEvent,
  type VideoMessage,
  type ViewEvent,
  type VoiceMessage,
} from './protocol/messages.js'
export { type Mode, type OpenedPush, PushProtocol, type Query, queryParam } from './protocol/push.js'
export {
  type Article,
  buildEncryptedEnvelope,
  buildReplyXml,
  isReply,
  MAX_ARTICLES,
  MAX_ARTICLES_FOR_MESSAGES,
  type Reply,
  type ReplyAddress,
  type ReplyType,
  type ReplyValue,
  reply,
  toReply,
  validateReply,
} from './protocol/replies.js'
export {
  computeSignature,
  signaturesEqual,
  verifyMsgSignature,
  verifySignature,
} from './protocol/signature.js'
export { cdata, escapeXml, parseXml, type XmlObject, type XmlValue } from './protocol/xml.js'
export { type Session, type SessionData, SessionManager, type SessionOptions } from './session/session.js'
export { createMemoryStore, MemoryStore, type MemoryStoreOptions } from './storage/memory/index.js'
export { type OpenStoreOptions, openStore } from './storage/open.js'
export {
  checkKey,
  DEFAULT_PREFIX,
  type Entry,
  type Json,
  type Store,
  StoreError,
  type StoreErrorCode,
  type StoreOptions,
  type WriteOptions,
} from './storage/store.js'
