#!/usr/bin/env node
// Builds dist/: JavaScript with esbuild, one ESM file per public entry point (package.json
// "exports") with the code they share split into dist/chunks/, and the type declarations with tsc.
// Why bundle: a cold start pays for every module file Node loads; one file per entry point loads
// the core in about 10 ms where tsc's one-file-per-source-file output took over 20 ms (see
// bench/cold-start.js). Optional drivers (ioredis, pg, …) stay external and load only when used.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(new URL('package.json', `file://${root}`), 'utf8'))
const entryPoints = Object.values(pkg.exports)
  .filter((entry) => typeof entry === 'object')
  .map((entry) => entry.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))

rmSync(new URL('dist', `file://${root}`), { recursive: true, force: true })
await build({
  absWorkingDir: root,
  entryPoints,
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
})
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' })
process.exit(tsc.status ?? 1)
