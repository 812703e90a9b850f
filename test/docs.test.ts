import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { renderMessagesDoc } from '../scripts/messages-doc.js'

test('docs/messages.md is generated from the message table and up to date', () => {
  const onDisk = readFileSync(new URL('../docs/messages.md', import.meta.url), 'utf8')
  assert.equal(
    onDisk,
    renderMessagesDoc(),
    'run `npx tsx scripts/messages-doc.ts` to regenerate docs/messages.md',
  )
})

/** The checkout: the blocks are compiled from inside it, so that `wemp` resolves to this package's build. */
const root = fileURLToPath(new URL('..', import.meta.url))

/** The TypeScript blocks of a Markdown file. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '')
}

test('the migration guide: every code block type-checks against the built package', () => {
  const english = readFileSync(new URL('../docs/migrating.md', import.meta.url), 'utf8')
  const blocks = tsBlocks(english)
  assert.ok(blocks.length >= 2, 'the guide has its examples')

  const dir = mkdtempSync(join(root, '.docs-check-'))
  try {
    const files = blocks.map((block, i) => {
      const file = join(dir, `block${i}.ts`)
      writeFileSync(file, `${block}\nexport {}\n`)
      return file
    })
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    })
    const errors = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file
        ? `block${files.indexOf(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
        : ''
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
    })
    assert.deepEqual(errors, [])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/** What must match between a page and its translation: the outline, the code (comments aside) and the tables' sizes. */
function skeleton(markdown: string) {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```$/gm, '')
  return {
    headings: [...withoutCode.matchAll(/^(#+) /gm)].map((m) => m[1]),
    code: [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map(
      ([, lang, body]) =>
        `${lang}: ${(body ?? '')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/(^|\s)(\/\/|#).*$/gm, '$1')
          .replace(/\s+/g, ' ')
          .trim()}`,
    ),
    tableRows: withoutCode.split('\n').filter((line) => line.startsWith('|')).length,
  }
}

const translations: [english: string, chinese: string][] = [
  ['README.md', 'README.zh-CN.md'],
  ['docs/migrating.md', 'docs/migrating.zh-CN.md'],
  ['examples/ifttt-bridge/README.md', 'examples/ifttt-bridge/README.zh-CN.md'],
  ['examples/tencent-scf/README.md', 'examples/tencent-scf/README.zh-CN.md'],
  ['docs/adapters.md', 'docs/adapters.zh-CN.md'],
  ['src/storage/s3/README.md', 'src/storage/s3/README.zh-CN.md'],
]
for (const [english, chinese] of translations) {
  test(`${chinese} is in step with ${english}: same headings, same code (comments aside), same table rows`, () => {
    const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')
    assert.deepEqual(skeleton(read(chinese)), skeleton(read(english)))
  })
}
