import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { renderMessagesDoc } from '../scripts/messages-doc.js'

test('docs/messages.md is generated from the message table and up to date', () => {
  const onDisk = readFileSync(new URL('../docs/messages.md', import.meta.url), 'utf8')
  assert.equal(
    onDisk,
    renderMessagesDoc(),
    'run `npx tsx scripts/messages-doc.ts` to regenerate docs/messages.md',
  )
})
