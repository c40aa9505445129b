/**
 * @module
 * The Node sweeper's alarm: one timer armed for the earliest due time known, so a sleep, a long retry delay, an
 * event-wait timeout or the lease of a dead engine is swept when it comes due, not at the next poll. It learns
 * due times from the store after each sweep (`WorkflowStore.nextDueAt`) and from this process's own yields
 * (`EngineOptions.onYield`, through {@link WakeTimer.notify}), which it remembers, so it moves on to the next of
 * them as soon as it fires. The periodic poll stays as the safety net for due times other processes write later
 * than the last look, or while every sweep here is busy (README, "Wake-ups on time").
 *
 * A sweep executes the runs it claimed until they end or yield, so one long step would hold back every wake-up
 * behind it: up to `maxSweeps` sweeps run at once (the engine never lets two of them claim the same run). A timer
 * or poll that comes while that many run is covered by the look at the store that ends each of them.
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
  /** The store's `WorkflowStore.nextDueAt`. */
  readonly nextDueAt: () => Promise<number | null>
  /** Called when `nextDueAt` fails; the timer then looks again after `maxGapMs`. Must not throw. */
  readonly onError?: (err: unknown) => void
  /** Least time between the end of a sweep and the next timer sweep, in ms. Minimum `1`. @default 200 */
  readonly minGapMs?: number
  /** Most time the gap grows to while a past due time cannot be claimed, in ms. @default 5_000 */
  readonly maxGapMs?: number
  /** Sweeps that may run at once. Minimum `1`. @default 4 */
  readonly maxSweeps?: number
}

export const DEFAULT_MIN_GAP_MS = 200
export const DEFAULT_MAX_GAP_MS = 5_000
export const DEFAULT_MAX_SWEEPS = 4
/** setTimeout fires at once for delays above 2^31 − 1 ms; a longer wait is re-armed when this one ends. */
const MAX_TIMER_MS = 2_147_483_647
/** Own yields remembered at most; later ones are still found by the look at the store after each sweep. */
const MAX_PENDING = 10_000

/** Where `value` goes in the ascending `list` (after equal values). */
function insertionIndex(list: readonly number[], value: number): number {
  let low = 0
  let high = list.length
  while (low < high) {
    const mid = (low + high) >> 1
    if ((list[mid] as number) <= value) low = mid + 1
    else high = mid
  }
  return low
}

export class WakeTimer {
  readonly #options: WakeTimerOptions
  readonly #minGapMs: number
  readonly #maxGapMs: number
  readonly #maxSweeps: number
  /** The instant the armed timer fires at, or null when none is armed. */
  #armedAt: number | null = null
  #cancel: (() => void) | null = null
  /**
   * Due times of this process's own yields still to come, ascending: the timer moves on to the next of them when it
   * fires, without waiting for a sweep (which may be busy with a long run) to end and look at the store.
   */
  readonly #pending: number[] = []
  /** The running sweeps, each with its look at the store. */
  readonly #sweeps = new Set<Promise<void>>()
  #lastSweepEnd = Number.NEGATIVE_INFINITY
  /** Sweeps in a row that left a past due time unclaimed: the exponent of the gap. */
  #stalled = 0
  #stopped = false

  constructor(options: WakeTimerOptions) {
    const minGapMs = options.minGapMs ?? DEFAULT_MIN_GAP_MS
    const maxGapMs = options.maxGapMs ?? DEFAULT_MAX_GAP_MS
    const maxSweeps = options.maxSweeps ?? DEFAULT_MAX_SWEEPS
    if (!Number.isSafeInteger(minGapMs) || minGapMs < 1 || !Number.isSafeInteger(maxGapMs) || maxGapMs < minGapMs) {
      throw new Error('WakeTimer needs integers 1 <= minGapMs <= maxGapMs')
    }
    if (!Number.isSafeInteger(maxSweeps) || maxSweeps < 1) throw new Error('WakeTimer needs an integer maxSweeps >= 1')
    this.#options = options
    this.#minGapMs = minGapMs
    this.#maxGapMs = maxGapMs
    this.#maxSweeps = maxSweeps
  }

  /** When the timer fires next (epoch ms), or null when it is not armed. */
  get armedAt(): number | null {
    return this.#armedAt
  }

  /**
   * Sweeps now, unless `maxSweeps` sweeps are running (then resolves when they have ended), and arms the timer for
   * the next due time once the sweep is over. Resolves when both are done.
   */
  sweepNow(trigger: SweepTrigger): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    if (this.#sweeps.size >= this.#maxSweeps) return this.#allSweeps()
    const sweep: Promise<void> = this.#sweepAndRearm(trigger).finally(() => this.#sweeps.delete(sweep))
    this.#sweeps.add(sweep)
    return sweep
  }

  /** A run this process released is due at `dueAt`: arms the timer for it unless it is armed earlier already. */
  notify(dueAt: number): void {
    if (this.#stopped) return
    if (this.#pending.length < MAX_PENDING) this.#pending.splice(insertionIndex(this.#pending, dueAt), 0, dueAt)
    this.#armBy(Math.max(dueAt, this.#lastSweepEnd + this.#minGapMs))
  }

  /** Disarms for good; resolves when the running sweeps have ended. Later calls do nothing. */
  stop(): Promise<void> {
    this.#stopped = true
    this.#disarm()
    return this.#allSweeps()
  }

  #allSweeps(): Promise<void> {
    return Promise.all(this.#sweeps).then(() => undefined)
  }

  async #sweepAndRearm(trigger: SweepTrigger): Promise<void> {
    const claimed = await this.#options.sweep(trigger)
    let next: number | null
    try {
      next = await this.#options.nextDueAt()
    } catch (err) {
      this.#options.onError?.(err)
      this.#lastSweepEnd = this.#options.clock.now()
      this.#armBy(this.#lastSweepEnd + this.#maxGapMs)
      return
    }
    const now = this.#options.clock.now()
    this.#lastSweepEnd = now
    // Nothing due: leave the timer as it is. A timer armed meanwhile by a yield after this look must stand, and a
    // stale one only costs a sweep that claims nothing.
    if (next === null) {
      this.#stalled = 0
      return
    }
    if (next > now || claimed > 0) this.#stalled = 0
    else this.#stalled++
    // Past due and unclaimed by this sweep: wait out the (growing) gap rather than sweep again at once.
    const gap = Math.min(this.#minGapMs * 2 ** Math.max(0, this.#stalled - 1), this.#maxGapMs)
    this.#armBy(Math.max(next, now + (this.#stalled > 0 ? gap : this.#minGapMs)))
  }

  /** Arms the timer for `at` unless it is armed for an earlier instant already. */
  #armBy(at: number): void {
    if (this.#stopped || (this.#armedAt !== null && this.#armedAt <= at)) return
    this.#disarm()
    this.#armedAt = at
    const delay = Math.min(Math.max(0, at - this.#options.clock.now()), MAX_TIMER_MS)
    this.#cancel = this.#options.clock.timer(delay, () => this.#fire())
  }

  /** The timer's due time came: sweep, and move on to the next own yield still to come. */
  #fire(): void {
    this.#armedAt = null
    this.#cancel = null
    const now = this.#options.clock.now()
    while (this.#pending.length > 0 && (this.#pending[0] as number) <= now) this.#pending.shift()
    const upcoming = this.#pending[0]
    if (upcoming !== undefined) this.#armBy(Math.max(upcoming, now + this.#minGapMs))
    void this.sweepNow('timer')
  }

  #disarm(): void {
    this.#cancel?.()
    this.#cancel = null
    this.#armedAt = null
  }
}
