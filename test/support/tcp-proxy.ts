/**
 * A tiny TCP proxy for outage tests: connect a store through it, then `cut()` the backend away
 * mid-run.
 *
 * @example
 * const proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 })
 * const store = createRedisStore({ url: `redis://127.0.0.1:${proxy.port}` })
 * await proxy.cut()          // every connection dies, new ones are refused
 * await proxy.close()
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

/** How a cut looks to the client. */
export type CutMode =
  /** Destroy every connection and stop listening: new connections are refused at once. */
  | 'refuse'
  /** Keep connections (and accept new ones) but never answer: only the client's timeouts help. */
  | 'blackhole'

export interface TcpProxy {
  /** Always `127.0.0.1`. */
  readonly host: string
  /** The port the proxy listens on. */
  readonly port: number
  /** Connections currently open through the proxy (client side). */
  readonly connections: number
  /** Makes the backend unreachable (default `refuse`). Cannot be undone. */
  cut(mode?: CutMode): Promise<void>
  /** Destroys everything and stops listening. */
  close(): Promise<void>
}

/** Starts a proxy on 127.0.0.1 (a free port) forwarding to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const clients = new Set<Socket>()
  const upstreams = new Set<Socket>()
  let state: 'open' | CutMode | 'closed' = 'open'

  const swallow = (socket: Socket): void => {
    // A blackholed socket: read and discard, answer nothing, close only when the client does.
    socket.removeAllListeners('data')
    socket.on('data', () => {})
    socket.resume()
  }

  const server: Server = createServer((client) => {
    clients.add(client)
    client.on('close', () => clients.delete(client))
    client.on('error', () => client.destroy())
    if (state === 'blackhole') {
      swallow(client)
      return
    }
    if (state !== 'open') {
      client.destroy()
      return
    }
    const upstream = connect(target.port, target.host)
    upstreams.add(upstream)
    upstream.on('close', () => {
      upstreams.delete(upstream)
      if (state === 'open') client.destroy()
    })
    upstream.on('error', () => upstream.destroy())
    client.on('close', () => upstream.destroy())
    client.pipe(upstream)
    upstream.pipe(client)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address')

  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) resolve()
      else server.close(() => resolve())
    })

  return {
    host: '127.0.0.1',
    port: address.port,
    get connections() {
      return clients.size
    },
    async cut(mode: CutMode = 'refuse') {
      if (state !== 'open') return
      state = mode
      for (const upstream of upstreams) upstream.destroy()
      if (mode === 'refuse') {
        for (const client of clients) client.destroy()
        await stopListening()
      } else {
        for (const client of clients) {
          client.unpipe()
          swallow(client)
        }
      }
    },
    async close() {
      state = 'closed'
      for (const socket of [...clients, ...upstreams]) socket.destroy()
      await stopListening()
    },
  }
}
