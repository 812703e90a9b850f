/**
 * What the tests of the server-backed stores (Redis, PostgreSQL, MySQL) share: a store URL routed
 * through a TCP proxy that a test can cut, a port nothing listens on, and a StoreError matcher.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after } from 'node:test'
import { StoreError } from '../../src/storage/store.js'
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js'

const proxies: TcpProxy[] = []
after(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()))
})

/** The same server URL, reached through a fresh TCP proxy (closed when the file's tests end). */
export async function proxiedUrl(
  url: string,
  defaultPort: number,
): Promise<{ url: string; proxy: TcpProxy }> {
  const target = new URL(url)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || defaultPort) })
  proxies.push(proxy)
  target.hostname = proxy.host
  target.port = String(proxy.port)
  return { url: target.href, proxy }
}

/** For `assert.rejects`: the error is a StoreError with this code. */
export function isStoreError(code: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    return true
  }
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
