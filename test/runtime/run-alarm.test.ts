/**
 * When a run's alarm fires again after an execution (`dueAgain`, src/runtime/run-alarm.ts): the decision that
 * makes a spent budget continue at once and a sleep wake at its time. The object itself runs in workerd
 * (test/workerd/run-alarm.test.ts).
 */
import { describe, expect, it } from 'vitest'
import { NEVER } from '../../src/core/workflow'
import { dueAgain } from '../../src/runtime/run-alarm'
import { makeRun } from '../support/fixtures'

const NOW = 1_800_000_000_000

describe('dueAgain', () => {
  it('is now for a run released with nothing to wait for: a spent budget continues in a fresh alarm at once', () => {
    expect(dueAgain(makeRun({ status: 'RUNNING', leaseOwner: null, wakeAt: null }), NOW)).toBe(NOW)
  })

  it('is the wake-up time of a sleep or retry', () => {
    expect(dueAgain(makeRun({ status: 'RUNNING', wakeAt: NOW + 6_000 }), NOW)).toBe(NOW + 6_000)
  })

  it("is the lease's expiry while another engine holds the run, and now once that lease has lapsed", () => {
    const held = { status: 'RUNNING' as const, leaseOwner: 'other', wakeAt: null }
    expect(dueAgain(makeRun({ ...held, leaseExpiresAt: NOW + 2_000 }), NOW)).toBe(NOW + 2_000)
    expect(dueAgain(makeRun({ ...held, leaseExpiresAt: NOW - 1 }), NOW)).toBe(NOW)
  })

  it('is never for finished and paused runs, and for an event wait without a deadline (its delivery arms it)', () => {
    for (const status of ['COMPLETED', 'FAILED', 'CANCELLED', 'PAUSED'] as const) {
      expect(dueAgain(makeRun({ status, wakeAt: NOW + 1 }), NOW), status).toBeNull()
    }
    expect(dueAgain(makeRun({ status: 'RUNNING', wakeAt: NEVER }), NOW)).toBeNull()
  })
})
