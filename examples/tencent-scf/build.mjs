#!/usr/bin/env node
// Bundles the SCF example into single minified CommonJS files, and zips them for upload:
//   dist/event/index.js        event function, execution method index.main_handler
//   dist/event-function.zip    → 函数代码 → 本地上传 zip 包
//   dist/web/server.js + scf_bootstrap, dist/web-function.zip   (web function, port 9000)
// Usage: node examples/tencent-scf/build.mjs   (needs esbuild, and wemp built or installed)
import { chmodSync, copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import * as zlib from 'node:zlib'
import { deflateRawSync } from 'node:zlib'
import { build } from 'esbuild'

const here = path.dirname(fileURLToPath(import.meta.url))

/** esbuild settings shared by both bundles: one file, CommonJS, minified, for SCF's Node.js runtimes. */
export const bundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  // SCF offers Node.js 16.13 and 18.15 (and newer where listed): syntax for the oldest of them.
  target: 'node16',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
}

/** Builds both bundles and their zips into `outDir`; returns the paths. */
export async function buildScfExample(outDir = path.join(here, 'dist')) {
  rmSync(outDir, { recursive: true, force: true })
  const event = path.join(outDir, 'event', 'index.js')
  const web = path.join(outDir, 'web', 'server.js')
  await build({ ...bundleOptions, entryPoints: [path.join(here, 'index.ts')], outfile: event })
  await build({ ...bundleOptions, entryPoints: [path.join(here, 'server.ts')], outfile: web })
  const bootstrap = path.join(outDir, 'web', 'scf_bootstrap')
  copyFileSync(path.join(here, 'scf_bootstrap'), bootstrap)
  chmodSync(bootstrap, 0o755)
  // The bundles are CommonJS; this keeps Node from reading them as ES modules when they are
  // required from inside this repository (whose package.json says "type": "module").
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "commonjs" }\n')
  const eventZip = path.join(outDir, 'event-function.zip')
  const webZip = path.join(outDir, 'web-function.zip')
  writeZip(eventZip, [{ name: 'index.js', file: event }])
  writeZip(webZip, [
    { name: 'scf_bootstrap', file: bootstrap },
    { name: 'server.js', file: web },
  ])
  return { event, web, bootstrap, eventZip, webZip }
}

// ── a minimal zip writer (deflate, Unix permissions kept: scf_bootstrap must stay executable) ──

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(data) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data)
  let c = 0xffffffff
  for (const byte of data) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function writeZip(out, entries) {
  const locals = []
  const centrals = []
  let offset = 0
  for (const { name, file } of entries) {
    const data = readFileSync(file)
    const packed = deflateRawSync(data, { level: 9 })
    const mode = statSync(file).mode & 0o777
    const nameBytes = Buffer.from(name, 'utf8')
    const crc = crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4) // version needed
    local.writeUInt16LE(0x0800, 6) // UTF-8 names
    local.writeUInt16LE(8, 8) // deflate
    local.writeUInt32LE(0, 10) // time and date: 1980-01-01, so builds are reproducible
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(packed.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBytes.length, 26)
    locals.push(local, nameBytes, packed)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE((3 << 8) | 20, 4) // made by Unix, so the permissions below are read
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(8, 10)
    central.writeUInt32LE(0, 12)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(packed.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBytes.length, 28)
    central.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38) // regular file + permissions
    central.writeUInt32LE(offset, 42)
    centrals.push(central, nameBytes)
    offset += local.length + nameBytes.length + packed.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  writeFileSync(out, Buffer.concat([...locals, directory, end]))
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const out = await buildScfExample()
  for (const file of Object.values(out)) {
    console.log(`${path.relative(process.cwd(), file)}  ${statSync(file).size.toLocaleString('en-US')} bytes`)
  }
}
