import type { Route, WechatApiStandIn } from '../server.js'

// TODO(issue 5): filled in by the API-modules work.
export function mediaRoutes(_standIn: WechatApiStandIn): Route[] {
  return []
}
