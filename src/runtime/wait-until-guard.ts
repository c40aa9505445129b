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

/** `ctx.waitUntil(task)`, reporting the task if it outlives `limitMs` (`WAIT_UNTIL_LIMIT_MS`; unset: no check). */
export function guardedWaitUntil(ctx: ExecutionContext, limitMs: number | undefined, logger: Logger, task: Promise<unknown>): void {
  if (limitMs === undefined) return ctx.waitUntil(task)
  const timer = setTimeout(() => {
    overruns++
    logger.log('error', 'wait_until_overrun', { limit_ms: limitMs })
  }, limitMs)
  ctx.waitUntil(task.finally(() => clearTimeout(timer)))
}
