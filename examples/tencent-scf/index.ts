import { scf } from 'wemp/adapters/tencent-scf'
import { createScfBot } from './bot.js'
import { storeFromEnv } from './store.js'

/**
 * The event function's entry: execution method (执行方法) `index.main_handler`.
 * `node examples/tencent-scf/build.mjs` bundles it into one CommonJS file, dist/event/index.js,
 * the form SCF's Node.js runtimes load (see README.md).
 */
export const main_handler = scf(createScfBot(process.env, storeFromEnv(process.env.WECHAT_STORE)))
