import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTcpProxy } from './tcp-proxy.js'

/** Connects and waits until connected (or fails). */
async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  return socket
}

async function exchange(socket: Socket, text: string): Promise<string> {
  socket.write(text)
  const [data] = (await once(socket, 'data')) as [Buffer]
  return data.toString()
}

describe('tcp proxy', () => {
  let echo: Server
  let port = 0
  const echoed = new Set<Socket>()

  before(async () => {
    echo = createServer((socket) => {
      echoed.add(socket)
      socket.on('close', () => echoed.delete(socket))
      socket.on('error', () => socket.destroy())
      socket.pipe(socket)
    })
    echo.listen(0, '127.0.0.1')
    await once(echo, 'listening')
    port = (echo.address() as { port: number }).port
  })

  after(async () => {
    for (const socket of echoed) socket.destroy()
    await new Promise((resolve) => echo.close(resolve))
  })

  test('forwards both ways, then cut() drops connections and refuses new ones', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port })
    try {
      const socket = await open(proxy.port)
      assert.equal(await exchange(socket, 'hello'), 'hello')
      assert.equal(proxy.connections, 1)
      const closed = once(socket, 'close')
      await proxy.cut()
      await closed
      await assert.rejects(open(proxy.port), { code: 'ECONNREFUSED' })
    } finally {
      await proxy.close()
    }
  })

  test("cut('blackhole') keeps connections open but never answers", async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port })
    try {
      const socket = await open(proxy.port)
      assert.equal(await exchange(socket, 'ping'), 'ping')
      await proxy.cut('blackhole')
      let answered = false
      let closed = false
      socket.on('data', () => {
        answered = true
      })
      socket.on('close', () => {
        closed = true
      })
      socket.write('anyone there?')
      const late = await open(proxy.port)
      late.on('data', () => {
        answered = true
      })
      late.write('hello?')
      await sleep(200)
      assert.equal(answered, false)
      assert.equal(closed, false)
      socket.destroy()
      late.destroy()
    } finally {
      await proxy.close()
    }
  })
})
