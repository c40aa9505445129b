import { describe, expect, it } from 'vitest'
import { LATE_AFTER_MS, runDue } from '../../../src/http/ui/run-due'
import { makeRun, T0 } from '../../support/fixtures'

describe('runDue', () => {
  it('is the wake time of a sleeping run, late only once more than LATE_AFTER_MS have passed', () => {
    const run = makeRun({ status: 'RUNNING', wakeAt: T0 + 6_000, updatedAt: T0 })
    expect(runDue(run, T0)).toEqual({ dueAt: T0 + 6_000, late: false })
    expect(runDue(run, T0 + 6_000 + LATE_AFTER_MS)).toEqual({ dueAt: T0 + 6_000, late: false })
    expect(runDue(run, T0 + 6_000 + LATE_AFTER_MS + 1)).toEqual({ dueAt: T0 + 6_000, late: true })
  })

  it('is nothing while an engine holds a live lease, and the lease expiry once that engine stopped renewing it', () => {
    const run = makeRun({ status: 'RUNNING', leaseOwner: 'engine-a', leaseExpiresAt: T0 + 30_000 })
    expect(runDue(run, T0 + 29_999)).toBeNull()
    expect(runDue(run, T0 + 30_000)).toEqual({ dueAt: T0 + 30_000, late: false })
    expect(runDue(run, T0 + 40_000)).toEqual({ dueAt: T0 + 30_000, late: true })
  })

  it('dates a run released to continue at once from the write that released it', () => {
    const run = makeRun({ status: 'PENDING', updatedAt: T0 + 5 })
    expect(runDue(run, T0 + 10)).toEqual({ dueAt: T0 + 5, late: false })
    expect(runDue(run, T0 + 5_000)).toEqual({ dueAt: T0 + 5, late: true })
  })

  it('is nothing for PAUSED and finished runs, whatever their times', () => {
    for (const status of ['PAUSED', 'COMPLETED', 'FAILED', 'CANCELLED'] as const) {
      expect(runDue(makeRun({ status, wakeAt: T0 }), T0 + 60_000)).toBeNull()
    }
  })
})
