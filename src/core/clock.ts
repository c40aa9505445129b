/**
 * @module
 * Time as a port. The engine reads `now()`, waits out backoff through `sleep()` and arms its deadlines (step
 * timeouts, the run loop's next look) through `timer()`, never through `Date.now()` or `setTimeout` directly,
 * so a virtual clock can run hours of backoff in microseconds and fire timeouts exactly when a test says.
 */

export interface Clock {
  /** Current UTC epoch milliseconds. */
  now(): number
  /**
   * Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. The caller has nothing
   * else to do meanwhile, so a virtual clock may move time forward to the end of the sleep at once.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /**
   * Calls `callback` once `ms` have passed, unless the returned function cancels it first. The caller races
   * it against other work (a deadline), so a virtual clock fires it only when its time has come.
   */
  timer(ms: number, callback: () => void): () => void
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
  timer: (ms, callback) => {
    const timer = setTimeout(callback, Math.max(0, ms))
    return () => clearTimeout(timer)
  },
}
