/**
 * @module
 * Structured log events (the Go library's names, `workflow_started`, `step_completed`, …:
 * docs/decisions.md#log-events). Events carry ids,
 * counts and durations, never inputs, outputs, state values or secrets.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>

export interface Logger {
  /** Events below this level are dropped before their fields are built. */
  readonly level: LogLevel
  log(level: Exclude<LogLevel, 'silent'>, event: string, fields: LogFields): void
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 }

/** Whether `logger` keeps events of `level`; call before building fields on hot paths. */
export function isLevelEnabled(logger: Logger, level: Exclude<LogLevel, 'silent'>): boolean {
  return RANK[level] >= RANK[logger.level]
}

/** Drops everything. The engine's default, so embedding it in tests and benchmarks costs nothing. */
export const silentLogger: Logger = { level: 'silent', log: () => {} }

/**
 * One JSON object per line on the console: `{ "level", "event", "time", ...fields }`. Errors and warnings go to
 * `console.error` and `console.warn` (stderr on Node; the entry's level in Workers Logs), the rest to `console.log`.
 * @example new Engine({ store, workflows, logger: jsonLogger('info') })
 */
export function jsonLogger(
  level: LogLevel = 'info',
  write: (line: string, level: Exclude<LogLevel, 'silent'>) => void = writeToConsole,
): Logger {
  return {
    level,
    log(eventLevel, event, fields) {
      if (RANK[eventLevel] < RANK[level]) return
      write(JSON.stringify({ level: eventLevel, event, time: new Date().toISOString(), ...fields }), eventLevel)
    },
  }
}

function writeToConsole(line: string, level: Exclude<LogLevel, 'silent'>): void {
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}

/** Reads a level name from configuration; anything unknown falls back to `fallback`. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value ?? '') ? (value as LogLevel) : fallback
}
