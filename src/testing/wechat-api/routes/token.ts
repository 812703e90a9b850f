import { type Route, StandInError, type WechatApiStandIn } from '../server.js'

/**
 * Access tokens, as WeChat issues them:
 * - `GET /cgi-bin/token` issues a new token on every call; the app's earlier classic tokens stay
 *   valid for 5 more minutes, then die. Daily quota 2000 (configurable).
 * - `POST /cgi-bin/stable_token` returns the same token while it has more than 5 minutes to live,
 *   then a new one (the old one lives out its time). `force_refresh: true` issues a new one and
 *   ends the old at once, at most 20 times a day and not within 30 s of the last forced refresh
 *   (then the current token is returned). The two kinds never affect each other.
 * - A wrong AppSecret gets 40001 (classic) / 40125 (stable); an unknown AppID 40013;
 *   `rejectIp` gives 40164.
 */
export function tokenRoutes(standIn: WechatApiStandIn): Route[] {
  const OVERLAP = 5 * 60 * 1000
  const stable = new Map<
    string,
    { token: string; expiresAt: number; lastForced: number; forcedToday: number; day: number }
  >()
  const ttl = () => (standIn.options.tokenTtl ?? 7200) * 1000

  const checkApp = (appId: string | null, secret: string | null, wrongSecret: number): string => {
    if (standIn.options.rejectIp) throw new StandInError(40164, 'invalid ip 127.0.0.1, not in whitelist')
    if (!appId || !(appId in standIn.options.apps)) throw new StandInError(40013, 'invalid appid')
    if (!secret || standIn.options.apps[appId] !== secret) {
      throw new StandInError(
        wrongSecret,
        wrongSecret === 40125
          ? 'invalid appsecret'
          : 'invalid credential, access_token is invalid or not latest',
      )
    }
    return appId
  }

  const issue = (appId: string, kind: 'classic' | 'stable'): { token: string; expiresAt: number } => {
    const token = standIn.newId(`${kind === 'stable' ? 'S' : 'C'}_`)
    const expiresAt = standIn.now() + ttl()
    standIn.tokens.set(token, { appId, expiresAt, kind })
    return { token, expiresAt }
  }

  return [
    {
      method: 'GET',
      path: '/cgi-bin/token',
      auth: 'none',
      handle(request) {
        if (request.query.get('grant_type') !== 'client_credential')
          throw new StandInError(40002, 'invalid grant_type')
        const appId = checkApp(request.query.get('appid'), request.query.get('secret'), 40001)
        standIn.useQuota(appId, '/cgi-bin/token', standIn.options.tokenQuota ?? 2000)
        const now = standIn.now()
        for (const [token, info] of standIn.tokens) {
          if (info.appId === appId && info.kind === 'classic')
            info.expiresAt = Math.min(info.expiresAt, now + OVERLAP)
          if (info.expiresAt <= now) standIn.tokens.delete(token)
        }
        const { token } = issue(appId, 'classic')
        return {
          raw: {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ access_token: token, expires_in: ttl() / 1000 }),
          },
        }
      },
    },
    {
      method: 'POST',
      path: '/cgi-bin/stable_token',
      auth: 'none',
      handle(request) {
        const body = request.json<{
          grant_type?: string
          appid?: string
          secret?: string
          force_refresh?: boolean
        }>()
        if (body.grant_type !== 'client_credential') throw new StandInError(40002, 'invalid grant_type')
        const appId = checkApp(body.appid ?? null, body.secret ?? null, 40125)
        standIn.useQuota(appId, '/cgi-bin/stable_token', 500_000)
        const now = standIn.now()
        const day = Math.floor(now / 86_400_000)
        let current = stable.get(appId)
        if (current && current.day !== day) current = { ...current, forcedToday: 0, day }
        if (body.force_refresh === true && current && now - current.lastForced >= 30_000) {
          if (current.forcedToday >= 20) throw new StandInError(45009, 'reach max api daily quota limit')
          standIn.tokens.delete(current.token)
          const fresh = issue(appId, 'stable')
          current = { ...fresh, lastForced: now, forcedToday: current.forcedToday + 1, day }
        } else if (!current || current.expiresAt - now <= OVERLAP || !standIn.tokens.has(current.token)) {
          const fresh = issue(appId, 'stable')
          current = {
            ...fresh,
            lastForced: current?.lastForced ?? 0,
            forcedToday: current?.forcedToday ?? 0,
            day,
          }
        }
        stable.set(appId, current)
        const expiresIn = Math.max(0, Math.floor((current.expiresAt - now) / 1000))
        return {
          raw: {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ access_token: current.token, expires_in: expiresIn }),
          },
        }
      },
    },
    {
      method: 'GET',
      path: '/cgi-bin/get_api_domain_ip',
      handle: () => ({ ip_list: ['127.0.0.1'] }),
    },
  ]
}
