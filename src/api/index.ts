/**
 * WeChat's HTTP API client (`ctx.api` in handlers, or standalone with `createApi`).
 * @module
 */
export {
  type AccessTokenSource,
  type ApiOptions,
  type CallOptions,
  createApi,
  DEFAULT_API_BASE,
  type DownloadedFile,
  WechatApi,
} from './client.js'
export { type FetchedCredential, SharedCredential, type SharedCredentialOptions } from './credential.js'
export {
  type CustomMessage,
  type CustomMessageValue,
  CustomServiceApi,
  customMessageBody,
  type SendOptions,
  toCustomMessage,
} from './custom-service.js'
export { ApiErrorCode, ApiUnreachableError, TOKEN_ERRORS, WechatApiError } from './errors.js'
