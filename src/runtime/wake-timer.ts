/**
 * @module
 * The Node sweeper's alarm: one timer armed for the earliest due time known, so a sleep, a long retry delay, an
 * event-wait timeout or the lease of a dead engine is swept when it comes due, not at the next poll. It learns
 * due times from the store after each sweep ({@link WorkflowStore.nextDueAt}) and from this process's own yields
 * (`EngineOptions.onYield`, through {@link WakeTimer.notify}). The periodic poll stays as the safety net for due
 * times other processes write later than the last look (README, "Wake-ups on time").
 *
 * Sweeps never overlap: a sweep executes the runs it claimed before the next starts, and a timer or poll that
 * comes meanwhile is covered by the look at the store that ends every sweep.
 *
 * No tight loop: the timer never fires sooner than `minGapMs` after the previous sweep ended. When the store
 * still reports a past due time that the sweep could not claim (a run held by this process's own active
 * execution, one waiting for a concurrency slot), the gap doubles with each such sweep up to `maxGapMs`, and a
 * sweep that claims something resets it. While such a run waits, a due time written by another process may be
 * swept up to `maxGapMs` late; due times of this process's own yields still arm the timer exactly.
 */
import type { Clock } from '../core/clock'

/** What started a sweep; logged with it, so a test or an operator can tell the timer from the poll. */
export type SweepTrigger = 'start' | 'poll' | 'timer'

export interface WakeTimerOptions {
  /** `now` and `timer`; Node passes real, unref'd timers, tests a virtual clock. */
  readonly clock: Pick<Clock, 'now' | 'timer'>
  /** One sweep; resolves with how many runs it claimed. Must not reject. */
  readonly sweep: (trigger: SweepTrigger) => Promise<number>
  /** The store's {@link WorkflowStore.nextDueAt}. */
  readonly nextDueAt: () => Promise<number | null>
  /** Called when `nextDueAt` fails; the timer then looks again after `maxGapMs`. Must not throw. */
  readonly onError?: (err: unknown) => void
  /** Least time between the end of a sweep and the next timer sweep, in ms. Minimum `1`. @default 200 */
  readonly minGapMs?: number
  /** Most time the gap grows to while a past due time cannot be claimed, in ms. @default 5_000 */
  readonly maxGapMs?: number
}

export const DEFAULT_MIN_GAP_MS = 200
export const DEFAULT_MAX_GAP_MS = 5_000
/** setTimeout fires at once for delays above 2^31 − 1 ms; a longer wait is re-armed when this one ends. */
const MAX_TIMER_MS = 2_147_483_647

export class WakeTimer {
  readonly #options: WakeTimerOptions
  readonly #minGapMs: number
  readonly #maxGapMs: number
  /** The instant the armed timer fires at, or null when none is armed. */
  #armedAt: number | null = null
  #cancel: (() => void) | null = null
  /** The running sweep with its look at the store; null between sweeps. */
  #sweeping: Promise<void> | null = null
  #lastSweepEnd = Number.NEGATIVE_INFINITY
  /** Sweeps in a row that left a past due time unclaimed: the exponent of the gap. */
  #stalled = 0
  #stopped = false

  constructor(options: WakeTimerOptions) {
    const minGapMs = options.minGapMs ?? DEFAULT_MIN_GAP_MS
    const maxGapMs = options.maxGapMs ?? DEFAULT_MAX_GAP_MS
    if (!Number.isSafeInteger(minGapMs) || minGapMs < 1 || !Number.isSafeInteger(maxGapMs) || maxGapMs < minGapMs) {
      throw new Error('WakeTimer needs integers 1 <= minGapMs <= maxGapMs')
    }
    this.#options = options
    this.#minGapMs = minGapMs
    this.#maxGapMs = maxGapMs
  }

  /** When the timer fires next (epoch ms), or null when it is not armed. */
  get armedAt(): number | null {
    return this.#armedAt
  }

  /**
   * Sweeps now, unless a sweep is running (its promise is returned then), and arms the timer for the next due
   * time once the sweep is over. Resolves when both are done.
   */
  sweepNow(trigger: SweepTrigger): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    this.#sweeping ??= this.#sweepAndRearm(trigger).finally(() => {
      this.#sweeping = null
    })
    return this.#sweeping
  }

  /** A run this process released is due at `dueAt`: arms the timer for it unless it is armed earlier already. */
  notify(dueAt: number): void {
    if (this.#stopped) return
    const at = Math.max(dueAt, this.#lastSweepEnd + this.#minGapMs)
    if (this.#armedAt === null || at < this.#armedAt) this.#arm(at)
  }

  /** Disarms for good; resolves when a running sweep has ended. Later calls do nothing. */
  stop(): Promise<void> {
    this.#stopped = true
    this.#disarm()
    return this.#sweeping ?? Promise.resolve()
  }

  async #sweepAndRearm(trigger: SweepTrigger): Promise<void> {
    const claimed = await this.#options.sweep(trigger)
    let next: number | null
    try {
      next = await this.#options.nextDueAt()
    } catch (err) {
      this.#options.onError?.(err)
      this.#lastSweepEnd = this.#options.clock.now()
      this.#arm(this.#lastSweepEnd + this.#maxGapMs)
      return
    }
    const now = this.#options.clock.now()
    this.#lastSweepEnd = now
    if (next === null) {
      this.#stalled = 0
      this.#disarm()
      return
    }
    if (next > now || claimed > 0) this.#stalled = 0
    else this.#stalled++
    // Past due and unclaimed by this sweep: wait out the (growing) gap rather than sweep again at once.
    const gap = Math.min(this.#minGapMs * 2 ** Math.max(0, this.#stalled - 1), this.#maxGapMs)
    this.#arm(Math.max(next, now + (this.#stalled > 0 ? gap : this.#minGapMs)))
  }

  #arm(at: number): void {
    if (this.#stopped) return
    this.#disarm()
    this.#armedAt = at
    const delay = Math.min(Math.max(0, at - this.#options.clock.now()), MAX_TIMER_MS)
    this.#cancel = this.#options.clock.timer(delay, () => {
      this.#armedAt = null
      this.#cancel = null
      void this.sweepNow('timer')
    })
  }

  #disarm(): void {
    this.#cancel?.()
    this.#cancel = null
    this.#armedAt = null
  }
}
