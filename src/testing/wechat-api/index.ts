/**
 * The local stand-in for WeChat's HTTP API, and the controls tests use to play WeChat's side
 * (followers, OAuth approval, subscriptions accepted, QR codes scanned…).
 * @module
 */

export { checkJssdkSignature, liveTickets } from './routes/jssdk.js'
export { type MenuStandInControls, menuStandIn } from './routes/menu.js'
export {
  approveAuthorization,
  mintOAuthCode,
  type OAuthGrant,
  type StandInOAuthScope,
} from './routes/oauth.js'
export { qrCodeOf, type StandInQrCode } from './routes/qrcode.js'
export { type TemplateStandInControls, templateStandIn } from './routes/template.js'
export {
  addFollower,
  type FollowerSeed,
  followerOf,
  removeFollower,
  type StandInFollower,
} from './routes/users.js'
export * from './server.js'
