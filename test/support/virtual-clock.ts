import type { Clock } from '../../src/core/clock'

interface PendingTimer {
  readonly at: number
  readonly seq: number
  readonly callback: () => void
  cancelled: boolean
}

/**
 * Virtual time for engine tests: `sleep(ms)` advances `now()` by `ms` at once and records the delay, so a
 * test can assert backoff schedules of hours without waiting. Timers (step timeouts, the run loop's next look)
 * fire only when virtual time reaches them, through `advance()` or a sleep, in order of due time and then of
 * arming. Each callback runs as its own macrotask (`setImmediate`), after pending promise callbacks, as a real
 * timer's would; no wall-clock delay is involved, so no test waits on one.
 */
export class VirtualClock implements Clock {
  #now: number
  #seq = 0
  #timers: PendingTimer[] = []
  readonly sleeps: number[] = []

  constructor(start = 1_700_000_000_000) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  /** Timers armed and neither fired nor cancelled. */
  get pendingTimers(): number {
    return this.#timers.length
  }

  advance(ms: number): void {
    this.#now += ms
    this.#fireDue()
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason
    this.sleeps.push(ms)
    this.advance(Math.max(0, ms))
    await Promise.resolve()
  }

  timer(ms: number, callback: () => void): () => void {
    const timer: PendingTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, callback, cancelled: false }
    this.#timers.push(timer)
    // A timer due already fires as if time had just reached it, never inside the caller's own call.
    if (timer.at <= this.#now) this.#fireDue()
    return () => {
      timer.cancelled = true
      this.#timers = this.#timers.filter((t) => t !== timer)
    }
  }

  #fireDue(): void {
    const due = this.#timers.filter((t) => t.at <= this.#now).sort((a, b) => a.at - b.at || a.seq - b.seq)
    if (due.length === 0) return
    this.#timers = this.#timers.filter((t) => t.at > this.#now)
    // Cancelling before the callback runs still wins, as clearTimeout does.
    for (const timer of due) setImmediate(() => timer.cancelled || timer.callback())
  }
}
