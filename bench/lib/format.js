import { pathToFileURL } from 'node:url'

// Small table / number formatting helpers.
export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c === undefined || c === null ? '' : String(c))))
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ''))))
  const line = (r) => r.map((c, i) => (i === 0 ? padEnd(c, widths[i]) : padStart(c, widths[i]))).join('  ')
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')
}

function width(s) {
  let n = 0
  for (const ch of s) n += ch.codePointAt(0) > 0x2e80 ? 2 : 1
  return n
}
function padEnd(s, w) {
  return s + ' '.repeat(Math.max(0, w - width(s)))
}
function padStart(s, w) {
  return ' '.repeat(Math.max(0, w - width(s))) + s
}

export function fmt(n, digits = 0) {
  if (n === undefined || n === null || Number.isNaN(n)) return '—'
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

export function ratio(a, b) {
  if (!a || !b) return '—'
  return `${(a / b).toFixed(2)}×`
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

export function isMain(metaUrl) {
  return Boolean(process.argv[1]) && pathToFileURL(process.argv[1]).href === metaUrl
}

/** One-line summary of a (possibly multi-line) failure: the first line plus the first `…Error…` line. */
export function summarize(msg, max = 300) {
  const lines = String(msg)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  const first = (lines[0] ?? '').replace(/ Output: .*$/, '')
  const err = lines.find((l, i) => i > 0 && /^\w*Error\b|^Error \[/.test(l))
  return (err ? `${first} — ${err}` : (lines[0] ?? '')).slice(0, max)
}

/**
 * One row from a contender's rounds: a failed round if any failed, else the round with the median
 * req/s (the lower middle one for an even count), with every round's req/s in `rpsRounds`.
 */
export function medianRound(rounds) {
  const failed = rounds.find((r) => r.status !== 'ok')
  if (failed) return failed
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps)
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], rpsRounds: rounds.map((r) => r.rps) }
}
