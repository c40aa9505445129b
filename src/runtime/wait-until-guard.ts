/**
 * @module
 * `waitUntil` with the production limit made visible. A deployed Worker gets ~30 s of `waitUntil` work after its
 * response; local workerd (`wrangler dev`, the tests) does not cut it. With `WAIT_UNTIL_LIMIT_MS` set, every
 * promise handed to `waitUntil` that is still pending past that limit is reported (`wait_until_overrun`) and
 * counted, so a test proves background work stays within it instead of assuming so.
 */
import type { ExecutionContext } from 'hono'
import type { Logger } from '../core/logger'

let overruns = 0

/** Promises this isolate handed to `waitUntil` that were still pending past `WAIT_UNTIL_LIMIT_MS`. */
export function waitUntilOverruns(): number {
  return overruns
}

/** `ctx.waitUntil(task)`, reporting the task if it outlives `WAIT_UNTIL_LIMIT_MS` (when `env` sets it). */
export function guardedWaitUntil(ctx: ExecutionContext, env: object, logger: Logger, task: Promise<unknown>): void {
  const limitMs = waitUntilLimitMs(env)
  if (limitMs === undefined) return ctx.waitUntil(task)
  const timer = setTimeout(() => {
    overruns++
    logger.log('error', 'wait_until_overrun', { limit_ms: limitMs })
  }, limitMs)
  ctx.waitUntil(task.finally(() => clearTimeout(timer)))
}

function waitUntilLimitMs(env: object): number | undefined {
  const raw = (env as Record<string, unknown>).WAIT_UNTIL_LIMIT_MS
  const value = typeof raw === 'string' ? Number(raw) : Number.NaN
  return Number.isSafeInteger(value) && value > 0 ? value : undefined
}
