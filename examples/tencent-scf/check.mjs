#!/usr/bin/env node
// Plays WeChat against a deployed URL before the MP console does: the URL handshake, then a text
// message in each mode, each reply verified, decrypted and checked against WeChat's rules.
// Usage: WECHAT_TOKEN=… WECHAT_APP_ID=… WECHAT_ENCODING_AES_KEY=… node check.mjs <url>
import { createTestKit } from 'wemp/testing'

const url = process.argv[2]
const { WECHAT_TOKEN: token, WECHAT_APP_ID: appId, WECHAT_ENCODING_AES_KEY: encodingAESKey } = process.env
if (!url || !token) {
  console.error('usage: WECHAT_TOKEN=… [WECHAT_APP_ID=… WECHAT_ENCODING_AES_KEY=…] node check.mjs <url>')
  process.exit(2)
}
const kit = createTestKit({ token, appId, encodingAESKey })
let failed = false
const handshake = await kit.verifyUrl(url)
const ok = handshake.status === 200 && handshake.body === handshake.echostr
failed ||= !ok
console.log(`handshake   ${ok ? 'ok' : `FAILED: ${handshake.status} ${handshake.body.slice(0, 200)}`}`)
for (const mode of encodingAESKey ? ['plaintext', 'compatible', 'safe'] : ['plaintext']) {
  const res = await kit.send(url, kit.text('hello from check.mjs'), { mode })
  const good = res.violations.length === 0
  failed ||= !good
  console.log(
    `${mode.padEnd(11)} ${good ? `ok: ${JSON.stringify(res.reply)}` : `FAILED: ${res.violations.join('; ')}`}`,
  )
}
process.exit(failed ? 1 : 0)
