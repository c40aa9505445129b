/**
 * @module
 * Reading an entry's configuration (Worker bindings or `process.env`): numeric knobs checked once, with errors
 * that name the variable. Kept out of `worker.ts` because workerd treats every export of the Worker's main
 * module as an entrypoint and refuses anything that is not a handler.
 */

/** A refusal to start because a binding or variable is missing or invalid. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError'
}

/** One day in ms: RETENTION_DAYS × this is the engine's `retentionMs`. */
export const DAY_MS = 86_400_000

/** Worker bindings (an object with declared fields) or `process.env`. */
type Env = object

/** A non-negative integer variable, or undefined when unset. @throws ConfigurationError */
export function readInteger(env: Env, name: string): number | undefined {
  const binding = (env as Record<string, unknown>)[name]
  const raw = typeof binding === 'string' ? binding.trim() : ''
  if (!raw) return undefined
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigurationError(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`)
  }
  return value
}

/** `RETENTION_DAYS` as the engine's `retentionMs`, or undefined (keep forever) when unset. @throws ConfigurationError */
export function readRetentionMs(env: Env): number | undefined {
  const days = readInteger(env, 'RETENTION_DAYS')
  if (days === undefined) return undefined
  const ms = days * DAY_MS
  if (!Number.isSafeInteger(ms)) throw new ConfigurationError(`RETENTION_DAYS is too large, got ${days}`)
  return ms
}
