// Writes docs/messages.md from the message table (src/protocol/messages.ts).
// `npx tsx scripts/messages-doc.ts` regenerates it; a test fails when it is out of date.
import { writeFileSync } from 'node:fs'
import { describeMessageTable, eventTable, messageTable } from '../src/protocol/messages.js'

export function renderMessagesDoc(): string {
  const rows = describeMessageTable()
  const allKinds = [...Object.keys(messageTable), ...Object.keys(eventTable).map((e) => `event:${e}`)]
  let out = `# Messages and events\n\n`
  out += `Generated from the message table in \`src/protocol/messages.ts\` by \`npx tsx scripts/messages-doc.ts\`; do not edit by hand.\n\n`
  out += `Every push has \`type\`, \`toUserName\`, \`fromUserName\`, \`createTime\` (unix seconds) and \`raw\` (every element as parsed). `
  out += `Events have \`type: 'event'\` and \`event\` (WeChat's spelling, matched case-insensitively). `
  out += `A push whose MsgType or Event is not listed here arrives as \`type: 'unknown'\` with \`msgType\`, \`event\` and \`raw\`. `
  out += `A required field WeChat left out reads as \`''\`, \`0\` or \`[]\`; lists are always arrays.\n\n`
  out += `Index: ${allKinds.map((k) => `[${k}](#${k.toLowerCase().replace(/[^a-z0-9_-]/g, '')})`).join(' · ')}\n`
  for (const kind of allKinds) {
    const own = rows.filter((r) => r.kind === kind)
    out += `\n## ${kind}\n\n`
    if (own.length === 0) {
      out += 'No fields beyond the header.\n'
      continue
    }
    out += '| property | XML element | type | optional | note |\n|---|---|---|---|---|\n'
    for (const r of own) {
      out += `| \`${r.property}\` | ${r.xml === '—' ? '—' : `\`${r.xml}\``} | ${r.type} | ${r.optional ? 'yes' : ''} | ${r.note.replaceAll('|', '\\|')} |\n`
    }
  }
  return out
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  writeFileSync(new URL('../docs/messages.md', import.meta.url), renderMessagesDoc())
  console.log('wrote docs/messages.md')
}
