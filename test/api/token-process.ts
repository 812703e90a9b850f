/** One cold "instance" for the token-sharing test: fetch the access token through Redis, print it. */
import { createApi } from '../../src/api/client.js'
import { createRedisStore } from '../../src/storage/redis/index.js'

const store = createRedisStore({ url: process.env.WEMP_TEST_REDIS_URL, prefix: process.env.STORE_PREFIX })
const api = createApi({
  appId: process.env.APP_ID ?? '',
  appSecret: process.env.APP_SECRET,
  baseUrl: process.env.WECHAT_API_BASE,
  store,
  logger: false,
})
// Start together: wait for the go signal on stdin.
process.stdin.once('data', async () => {
  const token = await api.accessToken()
  console.log(`token ${token}`)
  await store.close()
})
console.log('ready')
