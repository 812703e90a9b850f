import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

// The benchmark's figures are only as good as its harness: its own crypto against the official
// known-answer vectors and wechat-crypto, the `bare` baseline bot, the request streams, and how
// HTTP rounds become one row. `node bench/selftest.js` checks them; the suite keeps it passing.
test('the benchmark harness passes its self-test (bench/selftest.js)', () => {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const run = spawnSync(process.execPath, ['bench/selftest.js'], { cwd: root, encoding: 'utf8' })
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`)
  assert.match(run.stdout, /selftest: \d+ passed, 0 failed/)
})
