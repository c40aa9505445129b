/**
 * @module
 * How an execution's loop waits, and how other code wakes it: a settled attempt, a cancel, a pause, an event.
 *
 * In workerd a request may not touch, or even resolve promises of, another request's execution ("Cannot perform
 * I/O on behalf of a different request"), and it cannot tell which request owns one. With `isolatedRequests`,
 * only the owner's own context wakes the loop; everyone else just sets the execution's flags, and the loop sees
 * them within {@link LOCAL_POLL_MS} from its own timer.
 */
import type { Clock } from './clock'

/** Longest a waiting loop goes without looking at the flags other code may have set for it. */
export const LOCAL_POLL_MS = 250

export class LoopWake {
  readonly #clock: Clock
  readonly #isolatedRequests: boolean
  #wake: (() => void) | null = null

  constructor(clock: Clock, isolatedRequests: boolean) {
    this.#clock = clock
    this.#isolatedRequests = isolatedRequests
  }

  /**
   * Wakes the loop if it waits; true when that worked. Wake functions resolve their promise first, which in
   * another request's context (workerd) throws before anything changed; the loop then sees the change within
   * LOCAL_POLL_MS. With isolated requests only the owner's own context (`fromOwner`) wakes it.
   */
  notify(fromOwner = false): boolean {
    const wake = this.#wake
    if (!wake || (this.#isolatedRequests && !fromOwner)) return false
    try {
      wake()
      return true
    } catch {
      return false
    }
  }

  /** Resolves after `ms` (at most LOCAL_POLL_MS) on the clock's timer, or at once when notified. */
  wait(ms: number): Promise<void> {
    const timeoutMs = Math.max(0, Math.min(ms, LOCAL_POLL_MS))
    return new Promise<void>((resolve) => {
      const self = this
      // Assigned before the timer can fire: no clock calls back inside timer() itself.
      let cancel: () => void = () => {}
      function done() {
        resolve() // first: see notify
        cancel()
        self.#wake = null
      }
      cancel = this.#clock.timer(timeoutMs, done)
      this.#wake = done
    })
  }

  /** Sleeps `ms` on the clock (a virtual clock may jump there), or less when notified. */
  async sleep(ms: number): Promise<void> {
    const controller = new AbortController()
    let woken!: () => void
    const wake = new Promise<void>((resolve) => {
      woken = resolve
    })
    this.#wake = () => {
      woken() // first: see notify
      controller.abort()
    }
    try {
      await Promise.race([this.#clock.sleep(ms, controller.signal), wake])
    } catch {
      // Woken early by a stop request or an event; the loop re-checks.
    } finally {
      this.#wake = null
    }
  }
}
