// One-shot HTTP client (fresh connection, no agent) used for validation and cold-start polling.
import http from 'node:http'

/**
 * Send `req` ({ method, path, headers, body }) to 127.0.0.1:port.
 * Resolves { status, headers, body } (body as a UTF-8 string); rejects on socket errors/timeouts.
 */
export function send(port, req, { timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const body = req.body ? Buffer.from(req.body, 'utf8') : undefined
    const headers = { ...req.headers }
    if (body) headers['content-length'] = String(body.length)
    const r = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent: false, timeout },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
        res.on('error', reject)
      },
    )
    r.on('timeout', () => r.destroy(new Error(`timeout after ${timeout} ms`)))
    r.on('error', reject)
    r.end(body)
  })
}
