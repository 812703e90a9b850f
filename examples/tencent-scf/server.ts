import { createServer } from 'wemp/adapters/node'
import { createScfBot } from './bot.js'
import { storeFromEnv } from './store.js'

/**
 * The web function's server (函数类型: Web 函数): SCF forwards raw HTTP to port 9000, and
 * scf_bootstrap starts this file. It answers every path, so the function URL's root works.
 */
const port = Number(process.env.PORT ?? 9000)
const server = createServer(createScfBot(process.env, storeFromEnv(process.env.WECHAT_STORE)))
server.listen(port, process.env.HOST ?? '0.0.0.0', () => {
  const address = server.address()
  console.log(
    `wemp web function listening on ${typeof address === 'object' && address ? address.port : port}`,
  )
})
