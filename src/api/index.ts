/**
 * WeChat's HTTP API client (`ctx.api` in handlers, or standalone with `createApi`).
 * @module
 */
export * from './client.js'
export * from './credential.js'
export * from './custom-service.js'
export * from './errors.js'
export * from './jssdk.js'
export * from './media.js'
export * from './menu.js'
export * from './oauth.js'
export * from './publishing.js'
export * from './qrcode.js'
export * from './template.js'
export * from './users.js'
