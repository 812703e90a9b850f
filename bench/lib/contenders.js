// The contenders, in table order. `file` is bench/servers/<name>.js.
import { settings } from './settings.js'

export const CONTENDERS = [
  {
    name: 'raw',
    ceiling: true,
    what: 'node:http answering a precomputed reply; no verification, no crypto (ceiling)',
  },
  { name: 'bare', what: 'hand-written correct echo bot on node:http + node:crypto (bench/lib/bare-bot.js)' },
  { name: 'wechat-npm', what: 'npm `wechat` 2.1.0 (node-webot) connect middleware on node:http' },
  {
    name: 'co-wechat',
    what: 'npm `co-wechat` 2.4.0 (node-webot, Koa 2 flavour) via a minimal Koa-context shim',
  },
  { name: 'wemp', what: 'this package: createBot() + adapters/node createServer() from dist/' },
]

export const BASELINES = ['raw', 'bare', 'wechat-npm']

export function selectedContenders() {
  const only = settings.only
  return only ? CONTENDERS.filter((c) => only.includes(c.name)) : CONTENDERS
}
