/** Where wemp writes what it does and why it refused something. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

function format(fields: Record<string, unknown> | undefined): string {
  if (!fields) return ''
  const parts: string[] = []
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue
    if (value instanceof Error) {
      parts.push(`${key}=${JSON.stringify(value.message)}`)
      if (value.stack) parts.push(`\n${value.stack}`)
    } else parts.push(`${key}=${typeof value === 'string' ? JSON.stringify(value) : safeJson(value)}`)
  }
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * The default logger: one line per entry on stderr, `wemp <level>: <message> key=value…`, from
 * `level` up (default `info`, or the `WEMP_LOG_LEVEL` environment variable where there is one).
 */
export function createConsoleLogger(level?: LogLevel): Logger {
  const env =
    typeof process !== 'undefined' ? (process.env?.WEMP_LOG_LEVEL as LogLevel | undefined) : undefined
  const min = LEVELS[level ?? (env && env in LEVELS ? env : 'info')]
  const write = (name: Exclude<LogLevel, 'silent'>) => {
    if (LEVELS[name] < min) return () => {}
    return (message: string, fields?: Record<string, unknown>) => {
      console.error(`wemp ${name}: ${message}${format(fields)}`)
    }
  }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }
