/**
 * @module
 * Time as a port. The engine reads `now()` and waits out retry backoff through `sleep()`, never through
 * `Date.now()` or `setTimeout` directly, so tests can run hours of backoff in microseconds.
 */

export interface Clock {
  /** Current UTC epoch milliseconds. */
  now(): number
  /** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** Wall-clock time and real timers; the default outside tests. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason)
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, Math.max(0, ms))
      const onAbort = () => {
        clearTimeout(timer)
        reject(signal?.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    }),
}
