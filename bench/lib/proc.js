// Child-process helpers: pick a free port, start a contender server, stop it.
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BENCH_CONFIG, serverEnv } from './requests.js'

const here = path.dirname(fileURLToPath(import.meta.url))
export const SERVERS_DIR = path.resolve(here, '../servers')

export function serverFile(name) {
  return path.join(SERVERS_DIR, `${name}.js`)
}

/** Ask the kernel for a free loopback port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function tail(s, n = 1200) {
  return s.length > n ? `…${s.slice(-n)}` : s
}

/**
 * Spawn `node bench/servers/<name>.js` with PORT + WECHAT_* env. Does not wait.
 * Returns a handle { name, port, child, output(), exited, exitInfo }.
 */
export function spawnServer(name, port, cfg = BENCH_CONFIG) {
  const child = spawn(process.execPath, [serverFile(name)], {
    env: { ...process.env, ...serverEnv(port, cfg) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8')
  child.stderr.setEncoding('utf8')
  // keep only a bounded amount of output; count the rest
  const h = {
    name,
    port,
    child,
    bytesOut: 0,
    exitInfo: null,
    output: () => `${stdout}${stderr ? `\n[stderr] ${tail(stderr)}` : ''}`.trim(),
    stdout: () => stdout,
    stderr: () => stderr,
  }
  child.stdout.on('data', (d) => {
    h.bytesOut += d.length
    if (stdout.length < 8192) stdout += d
  })
  child.stderr.on('data', (d) => {
    h.bytesOut += d.length
    if (stderr.length < 8192) stderr += d
  })
  h.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      h.exitInfo = { code, signal }
      resolve(h.exitInfo)
    })
    child.on('error', (err) => {
      h.exitInfo = { code: null, signal: null, error: err.message }
      resolve(h.exitInfo)
    })
  })
  return h
}

/** Spawn and wait for a `listening <port>` line on stdout. Rejects (and kills) on exit or timeout. */
export async function startServer(name, { cfg = BENCH_CONFIG, timeout = 15000 } = {}) {
  const port = await freePort()
  const h = spawnServer(name, port, cfg)
  const started = process.hrtime.bigint()
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no "listening" line within ${timeout} ms. Output: ${tail(h.output())}`))
    }, timeout)
    const onData = () => {
      const m = /listening (\d+)/.exec(h.stdout())
      if (m) {
        cleanup()
        if (Number(m[1]) !== port) reject(new Error(`server says listening ${m[1]}, expected ${port}`))
        else resolve()
      }
    }
    const onExit = () => {
      cleanup()
      const info = h.exitInfo ?? {}
      reject(
        new Error(
          `exited before listening (code ${info.code}${info.signal ? `, signal ${info.signal}` : ''}${info.error ? `, ${info.error}` : ''}). Output: ${tail(h.output()) || '(none)'}`,
        ),
      )
    }
    const cleanup = () => {
      clearTimeout(timer)
      h.child.stdout.off('data', onData)
    }
    h.child.stdout.on('data', onData)
    h.exited.then(onExit)
  }).catch(async (err) => {
    await stopServer(h)
    throw err
  })
  h.startMs = Number(process.hrtime.bigint() - started) / 1e6
  h.bytesAtListen = h.bytesOut
  return h
}

/** SIGTERM, then SIGKILL after `grace` ms; resolves once the child is gone. */
export async function stopServer(h, grace = 2000) {
  if (!h || h.exitInfo) return
  h.child.kill('SIGTERM')
  const timer = setTimeout(() => {
    if (!h.exitInfo) h.child.kill('SIGKILL')
  }, grace)
  await h.exited
  clearTimeout(timer)
}
