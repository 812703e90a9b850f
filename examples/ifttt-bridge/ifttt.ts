/**
 * A small client for IFTTT's Maker Webhooks: `fire(event, key, values)` POSTs
 * `{value1, value2, value3}` as JSON to `{base}/trigger/{event}/with/key/{key}` and says, as a
 * typed result, what became of it. IFTTT's failures never throw: each is a result the bot can word
 * for the follower (only a key or event name that is not letters, digits, `-` and `_` throws).
 *
 * @example
 * const ifttt = createIftttClient({ timeout: 5000 })
 * const result = await ifttt.fire('text', key, { value1: 'hello' })
 * if (result.kind === 'ok') …
 */

/** IFTTT's webhook host. */
export const IFTTT_BASE = 'https://maker.ifttt.com'

/** The three values a Maker Webhooks trigger carries (IFTTT calls them ingredients Value1..3). */
export interface IftttValues {
  value1?: string
  value2?: string
  value3?: string
}

/** What became of one trigger. */
export type FireResult =
  /** IFTTT answered 2xx: the applet's trigger fired. */
  | { kind: 'ok'; status: number; body: string }
  /** IFTTT answered, but not 2xx (401 for an unknown key): `message` is IFTTT's reason. */
  | { kind: 'rejected'; status: number; message: string }
  /** No complete answer within the timeout (IFTTT may or may not have received the trigger). */
  | { kind: 'timeout'; timeout: number }
  /** IFTTT could not be reached at all (DNS, connection refused, TLS…). */
  | { kind: 'unreachable'; reason: string }

export interface IftttClientOptions {
  /** Where IFTTT is. Default {@link IFTTT_BASE}; a local stand-in in tests. */
  base?: string
  /** How long one trigger may take, headers and body, in ms. Default 10 000. */
  timeout?: number
  /** The fetch to use. Default: the global one. */
  fetch?: typeof fetch
}

/** IFTTT keys and event names as this client accepts them: letters, digits, `-` and `_`. */
export const IFTTT_NAME = /^[A-Za-z0-9_-]+$/

/** The trigger URL for an event and a key. */
export function triggerUrl(base: string, event: string, key: string): string {
  return `${base.replace(/\/+$/, '')}/trigger/${encodeURIComponent(event)}/with/key/${encodeURIComponent(key)}`
}

/** IFTTT's error body is `{"errors":[{"message":"…"}]}`; anything else is shown as text. */
function reasonFrom(body: string): string {
  try {
    const parsed = JSON.parse(body) as { errors?: { message?: unknown }[] }
    const messages = (parsed.errors ?? [])
      .map((error) => error?.message)
      .filter((message): message is string => typeof message === 'string')
    if (messages.length > 0) return shorten(messages.join('; '))
  } catch {
    // not JSON: fall through
  }
  return (
    shorten(
      body
        .replace(/<[^>]*>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim(),
    ) || 'no reason given'
  )
}

function shorten(text: string, max = 120): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = (error as { cause?: unknown }).cause
  const code = (cause as { code?: unknown } | undefined)?.code
  if (typeof code === 'string') return code
  return cause instanceof Error ? cause.message : error.message
}

export class IftttClient {
  readonly base: string
  readonly timeout: number
  readonly #fetch: typeof fetch

  constructor(options: IftttClientOptions = {}) {
    this.base = options.base ?? IFTTT_BASE
    this.timeout = options.timeout ?? 10_000
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init))
    if (!(this.timeout > 0)) throw new Error('iftttTimeout must be a positive number of milliseconds')
  }

  /** Fires `event` for `key` with up to three values (only the values given are sent). */
  async fire(event: string, key: string, values: IftttValues = {}): Promise<FireResult> {
    if (!IFTTT_NAME.test(event)) throw new Error(`not an IFTTT event name: ${JSON.stringify(event)}`)
    if (!IFTTT_NAME.test(key)) throw new Error('not an IFTTT key: letters, digits, - and _ only')
    const body: IftttValues = {}
    for (const name of ['value1', 'value2', 'value3'] as const) {
      if (values[name] !== undefined) body[name] = values[name]
    }
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, this.timeout)
    try {
      const response = await this.#fetch(triggerUrl(this.base, event, key), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      })
      const text = await response.text()
      if (response.ok) return { kind: 'ok', status: response.status, body: text }
      return { kind: 'rejected', status: response.status, message: reasonFrom(text) }
    } catch (error) {
      if (timedOut) return { kind: 'timeout', timeout: this.timeout }
      return { kind: 'unreachable', reason: describe(error) }
    } finally {
      clearTimeout(timer)
    }
  }
}

export function createIftttClient(options: IftttClientOptions = {}): IftttClient {
  return new IftttClient(options)
}
