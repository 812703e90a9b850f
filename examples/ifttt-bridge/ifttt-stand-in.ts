import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'

/**
 * A local stand-in for IFTTT's Maker Webhooks (`maker.ifttt.com`), for the tests and for trying
 * the bridge without an IFTTT account. It is NOT IFTTT: it answers
 * `POST /trigger/{event}/with/key/{key}` as IFTTT does where it matters to the bot — 200
 * `Congratulations! You've fired the {event} event` for a known key, 401 with IFTTT's JSON error
 * body for an unknown one — and records every trigger it received.
 *
 * @example
 * const ifttt = await startIftttStandIn({ keys: ['myKey'] })
 * const bot = createIftttBot({ …, iftttBase: ifttt.url })
 * ifttt.delay = 500            // IFTTT is slow from now on
 * assert.deepEqual(ifttt.triggers[0].body, { value1: 'hello' })
 * await ifttt.close()
 *
 * Run on its own (keys from IFTTT_KEYS, comma-separated; port from PORT, default 8787; IFTTT_DELAY ms):
 *   IFTTT_KEYS=myKey node --import tsx examples/ifttt-bridge/ifttt-stand-in.ts
 */

/** One trigger the stand-in received. */
export interface IftttTrigger {
  method: string
  /** The request path, as sent. */
  path: string
  event: string
  key: string
  /** The body as JSON, or the raw text when it was not JSON. */
  body: unknown
  contentType: string | undefined
  /** What the stand-in answered (before any delay). */
  status: number
  at: number
}

export interface IftttStandInOptions {
  /** The keys IFTTT knows; any other gets 401. */
  keys?: Iterable<string>
  /** Delay every answer by this many ms (a slow IFTTT). Changeable later through `delay`. */
  delay?: number
  /** Port; default a free one. */
  port?: number
  /** Host; default 127.0.0.1. */
  host?: string
  /** Called for every trigger as it arrives (e.g. to log it). */
  onTrigger?: (trigger: IftttTrigger) => void
}

const TRIGGER = /^\/trigger\/([^/]+)\/with\/key\/([^/]+)\/?$/

/** IFTTT's answer to an unknown key. */
export const INVALID_KEY_BODY = JSON.stringify({ errors: [{ message: 'You sent an invalid key.' }] })

export class IftttStandIn {
  /** Every trigger received, in order (also those answered 401, or answered late). */
  readonly triggers: IftttTrigger[] = []
  /** The keys IFTTT knows. */
  readonly keys: Set<string>
  /** How long every answer is delayed, ms (set it per test; 0 for none). */
  delay: number
  url = ''
  readonly #options: IftttStandInOptions
  #server: Server | undefined

  constructor(options: IftttStandInOptions = {}) {
    this.#options = options
    this.keys = new Set(options.keys ?? [])
    this.delay = options.delay ?? 0
  }

  /** The triggers received for one key. */
  triggersFor(key: string): IftttTrigger[] {
    return this.triggers.filter((trigger) => trigger.key === key)
  }

  async listen(): Promise<this> {
    const server = createServer((req, res) => {
      this.#serve(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(String(error))
      })
    })
    const host = this.#options.host ?? '127.0.0.1'
    await new Promise<void>((resolve) => server.listen(this.#options.port ?? 0, host, resolve))
    this.#server = server
    this.url = `http://${host}:${(server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname
    const match = TRIGGER.exec(path)
    if (!match || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(`the IFTTT stand-in has no ${req.method} ${path} (only POST /trigger/{event}/with/key/{key})`)
      return
    }
    const event = decodeURIComponent(match[1]!)
    const key = decodeURIComponent(match[2]!)
    let body: unknown = text
    try {
      body = text === '' ? undefined : JSON.parse(text)
    } catch {
      // recorded as text
    }
    const known = this.keys.has(key)
    const trigger: IftttTrigger = {
      method: req.method,
      path,
      event,
      key,
      body,
      contentType: req.headers['content-type'],
      status: known ? 200 : 401,
      at: Date.now(),
    }
    this.triggers.push(trigger)
    this.#options.onTrigger?.(trigger)
    if (this.delay > 0) await new Promise((resolve) => setTimeout(resolve, this.delay))
    if (res.destroyed) return // the client gave up waiting
    if (known) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(`Congratulations! You've fired the ${event} event`)
    } else {
      res.writeHead(401, { 'content-type': 'application/json; charset=utf-8' })
      res.end(INVALID_KEY_BODY)
    }
  }
}

/** Starts a stand-in on a free local port (or `options.port`). */
export function startIftttStandIn(options: IftttStandInOptions = {}): Promise<IftttStandIn> {
  return new IftttStandIn(options).listen()
}

// Run directly: a stand-in to point the bridge's IFTTT_BASE at, logging every trigger.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const keys = (process.env.IFTTT_KEYS ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean)
  const standIn = await startIftttStandIn({
    keys,
    port: Number(process.env.PORT ?? 8787),
    delay: Number(process.env.IFTTT_DELAY ?? 0),
    onTrigger: (t) => console.log(`${t.status} ${t.event} key=${t.key} ${JSON.stringify(t.body)}`),
  })
  console.log(
    `IFTTT stand-in on ${standIn.url} (keys: ${keys.join(', ') || 'none: set IFTTT_KEYS=key1,key2'})`,
  )
}
