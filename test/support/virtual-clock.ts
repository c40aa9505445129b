import type { Clock } from '../../src/core/clock'

/**
 * Virtual time for engine tests: `sleep(ms)` advances `now()` by `ms` at once and records the delay, so a
 * test can assert backoff schedules of hours without waiting.
 */
export class VirtualClock implements Clock {
  #now: number
  readonly sleeps: number[] = []

  constructor(start = 1_700_000_000_000) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  advance(ms: number): void {
    this.#now += ms
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason
    this.sleeps.push(ms)
    this.#now += Math.max(0, ms)
    await Promise.resolve()
  }
}
