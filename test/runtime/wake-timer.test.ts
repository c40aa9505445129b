/**
 * The Node sweeper's timer on a virtual clock: which sweeps happen, with which trigger, as virtual time passes.
 * The store is a scripted `nextDueAt`; the sweep records its trigger and claims what the test says.
 */
import { describe, expect, it } from 'vitest'
import { WakeTimer, type SweepTrigger, type WakeTimerOptions } from '../../src/runtime/wake-timer'
import { VirtualClock } from '../support/virtual-clock'

/** Lets fired timers (setImmediate) and the promise chains they start run to the end. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
}

function harness(options: Partial<WakeTimerOptions> = {}) {
  const clock = new VirtualClock()
  const t0 = clock.now()
  const sweeps: SweepTrigger[] = []
  const state = { next: null as number | null, claims: 0 }
  const timer = new WakeTimer({
    clock,
    sweep: async (trigger) => {
      sweeps.push(trigger)
      return state.claims
    },
    nextDueAt: async () => state.next,
    ...options,
  })
  return { clock, t0, sweeps, state, timer }
}

describe('WakeTimer', () => {
  it('sweeps when the next due time comes, not a millisecond before, and asks the store again after', async () => {
    const { clock, t0, sweeps, state, timer } = harness()
    state.next = t0 + 6_000
    await timer.sweepNow('start')
    expect(timer.armedAt).toBe(t0 + 6_000)
    clock.advance(5_999)
    await settle()
    expect(sweeps).toEqual(['start'])
    state.next = t0 + 9_000
    clock.advance(1)
    await settle()
    expect(sweeps).toEqual(['start', 'timer'])
    expect(timer.armedAt).toBe(t0 + 9_000)
    await timer.stop()
  })

  it('stays disarmed while no run is PENDING or RUNNING', async () => {
    const { clock, sweeps, timer } = harness()
    await timer.sweepNow('start')
    expect(timer.armedAt).toBeNull()
    expect(clock.pendingTimers).toBe(0)
    clock.advance(3_600_000)
    await settle()
    expect(sweeps).toEqual(['start'])
  })

  it('re-arms earlier when this process yields a run due sooner, and ignores later ones', async () => {
    const { clock, t0, sweeps, state, timer } = harness()
    state.next = t0 + 60_000
    await timer.sweepNow('start')
    clock.advance(1_000)
    timer.notify(t0 + 3_000)
    timer.notify(t0 + 30_000)
    expect(timer.armedAt).toBe(t0 + 3_000)
    expect(clock.pendingTimers).toBe(1)
    clock.advance(2_000)
    await settle()
    expect(sweeps).toEqual(['start', 'timer'])
    await timer.stop()
  })

  it('keeps the minimum gap after a sweep for a run yielded as due at once', async () => {
    const { clock, t0, sweeps, timer } = harness({ minGapMs: 200 })
    await timer.sweepNow('start')
    timer.notify(t0)
    expect(timer.armedAt).toBe(t0 + 200)
    clock.advance(200)
    await settle()
    expect(sweeps).toEqual(['start', 'timer'])
  })

  it('backs off, doubling up to the maximum gap, while a past due time cannot be claimed; a claim resets it', async () => {
    const { clock, t0, sweeps, state, timer } = harness({ minGapMs: 100, maxGapMs: 1_000 })
    state.next = t0 - 1 // e.g. a run waiting for a concurrency slot: due, but no sweep can take it
    await timer.sweepNow('start')
    const gaps: number[] = []
    for (let i = 0; i < 7; i++) {
      const armed = timer.armedAt as number
      gaps.push(armed - clock.now())
      clock.advance(armed - clock.now())
      await settle()
    }
    expect(gaps).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000])
    expect(sweeps).toHaveLength(8)
    state.claims = 1
    clock.advance((timer.armedAt as number) - clock.now())
    await settle()
    expect((timer.armedAt as number) - clock.now()).toBe(100)
    await timer.stop()
  })

  it('sweeps on time while an earlier sweep still executes a long run, up to maxSweeps at once', async () => {
    const clock = new VirtualClock()
    const t0 = clock.now()
    const sweeps: SweepTrigger[] = []
    const gates: Array<() => void> = []
    let running = 0
    let most = 0
    const timer = new WakeTimer({
      clock,
      maxSweeps: 2,
      sweep: async (trigger) => {
        sweeps.push(trigger)
        running++
        most = Math.max(most, running)
        // Each sweep but the last executes a run that takes until the test releases it.
        if (sweeps.length < 4) await new Promise<void>((resolve) => gates.push(resolve))
        running--
        return 1
      },
      nextDueAt: async () => (sweeps.length < 4 ? t0 + 1_000 : null),
    })
    const first = timer.sweepNow('start')
    timer.notify(t0 + 500)
    clock.advance(500)
    await settle()
    expect(sweeps).toEqual(['start', 'timer'])
    // Two sweeps run: a third trigger waits for one of them to end and look at the store.
    const polled = timer.sweepNow('poll')
    await settle()
    expect(sweeps).toEqual(['start', 'timer'])
    for (const open of gates.splice(0)) open()
    await Promise.all([first, polled])
    expect(timer.armedAt).toBe(t0 + 1_000)
    clock.advance(500)
    await settle()
    expect(sweeps).toEqual(['start', 'timer', 'timer'])
    for (const open of gates.splice(0)) open()
    await settle()
    expect(most).toBe(2)
    await timer.stop()
  })

  it('moves on to the next yield of this process when it fires, without waiting for a busy sweep to look', async () => {
    const clock = new VirtualClock()
    const t0 = clock.now()
    const sweeps: SweepTrigger[] = []
    const gates: Array<() => void> = []
    const timer = new WakeTimer({
      clock,
      sweep: async (trigger) => {
        sweeps.push(trigger)
        if (sweeps.length === 2) await new Promise<void>((resolve) => gates.push(resolve))
        return 1
      },
      nextDueAt: async () => null,
    })
    await timer.sweepNow('start')
    timer.notify(t0 + 2_000)
    timer.notify(t0 + 1_000)
    expect(timer.armedAt).toBe(t0 + 1_000)
    clock.advance(1_000)
    await settle()
    // The first timer sweep is busy (a long run); the second yield's due time is armed all the same.
    expect(sweeps).toEqual(['start', 'timer'])
    expect(timer.armedAt).toBe(t0 + 2_000)
    clock.advance(1_000)
    await settle()
    expect(sweeps).toEqual(['start', 'timer', 'timer'])
    expect(timer.armedAt).toBeNull()
    for (const open of gates.splice(0)) open()
    await timer.stop()
  })

  it('looks again after the maximum gap when the store fails, and reports the error', async () => {
    const errors: unknown[] = []
    const { clock, sweeps, timer } = harness({
      maxGapMs: 5_000,
      nextDueAt: async () => {
        throw new Error('store down')
      },
      onError: (err) => errors.push(err),
    })
    await timer.sweepNow('start')
    expect(errors).toHaveLength(1)
    expect((timer.armedAt as number) - clock.now()).toBe(5_000)
    clock.advance(5_000)
    await settle()
    expect(sweeps).toEqual(['start', 'timer'])
    await timer.stop()
  })

  it('does nothing once stopped: no timer, no sweep, notifications ignored', async () => {
    const { clock, t0, sweeps, state, timer } = harness()
    state.next = t0 + 1_000
    await timer.sweepNow('start')
    await timer.stop()
    expect(clock.pendingTimers).toBe(0)
    timer.notify(t0 + 10)
    await timer.sweepNow('poll')
    clock.advance(10_000)
    await settle()
    expect(sweeps).toEqual(['start'])
    expect(timer.armedAt).toBeNull()
  })

  it('refuses a minimum gap below 1 ms or above the maximum, and fewer than one sweep at once', () => {
    const clock = new VirtualClock()
    const base = { clock, sweep: async () => 0, nextDueAt: async () => null }
    expect(() => new WakeTimer({ ...base, minGapMs: 0 })).toThrow(/minGapMs/)
    expect(() => new WakeTimer({ ...base, minGapMs: 300, maxGapMs: 200 })).toThrow(/minGapMs/)
    expect(() => new WakeTimer({ ...base, maxSweeps: 0 })).toThrow(/maxSweeps/)
  })
})
