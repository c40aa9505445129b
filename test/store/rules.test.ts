import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/core/errors'
import { RUN_STATUSES, type StepExecution } from '../../src/core/model'
import { MAX_PAGE_SIZE } from '../../src/core/store'
import {
  checkCommitSteps,
  checkNewRunSteps,
  checkPageLimit,
  dueInstant,
  dueTime,
  isClaimable,
  isClaimableStatus,
  type ClaimFields,
} from '../../src/store/rules'
import { makeRun, makeStep } from '../support/fixtures'

const NOW = 1_000
const free: ClaimFields = { status: 'PENDING', leaseOwner: null, leaseExpiresAt: null, wakeAt: null }

describe('isClaimable', () => {
  it('accepts only PENDING and RUNNING runs', () => {
    const claimable = RUN_STATUSES.filter((status) => isClaimable({ ...free, status }, 'a', NOW))
    expect(claimable).toEqual(['PENDING', 'RUNNING'])
    expect(RUN_STATUSES.filter(isClaimableStatus)).toEqual(['PENDING', 'RUNNING'])
  })

  it('refuses a live lease of another owner until the instant it expires', () => {
    const leased: ClaimFields = { ...free, leaseOwner: 'b', leaseExpiresAt: NOW + 1 }
    expect(isClaimable(leased, 'a', NOW)).toBe(false)
    expect(isClaimable(leased, 'a', NOW + 1)).toBe(true)
  })

  it('lets the owner reclaim its own live lease, but a due check (owner null) does not see it as due', () => {
    const leased: ClaimFields = { ...free, leaseOwner: 'a', leaseExpiresAt: NOW + 1 }
    expect(isClaimable(leased, 'a', NOW)).toBe(true)
    expect(isClaimable(leased, null, NOW)).toBe(false)
  })

  it('refuses a run whose wakeAt is 1 ms in the future and accepts it at wakeAt', () => {
    const sleeping: ClaimFields = { ...free, wakeAt: NOW + 1 }
    expect(isClaimable(sleeping, 'a', NOW)).toBe(false)
    expect(isClaimable(sleeping, null, NOW + 1)).toBe(true)
  })
})

describe('dueTime', () => {
  it('is the later of lease expiry and wake time, absent counting as 0', () => {
    expect(dueTime(null, null)).toBe(0)
    expect(dueTime(5, null)).toBe(5)
    expect(dueTime(null, 7)).toBe(7)
    expect(dueTime(9, 7)).toBe(9)
  })
})

describe('checkPageLimit', () => {
  it(`accepts 1 and ${MAX_PAGE_SIZE} and refuses 0, ${MAX_PAGE_SIZE + 1} and fractions`, () => {
    expect(checkPageLimit(1)).toBe(1)
    expect(checkPageLimit(MAX_PAGE_SIZE)).toBe(MAX_PAGE_SIZE)
    for (const bad of [0, MAX_PAGE_SIZE + 1, 1.5, Number.NaN]) {
      expect(() => checkPageLimit(bad)).toThrow(InvalidArgumentError)
    }
  })
})

describe('checkNewRunSteps', () => {
  const run = makeRun({ runId: 'r1' })
  const step = (overrides: Partial<StepExecution>) => makeStep({ runId: 'r1', stepId: 's1', status: 'RUNNING', ...overrides })

  it('accepts open steps of the run, once each', () => {
    expect(() => checkNewRunSteps(run, [step({}), step({ stepId: 's2', status: 'PENDING' })])).not.toThrow()
  })

  it('refuses a step of another run, a step listed twice, and a finished step', () => {
    expect(() => checkNewRunSteps(run, [step({ runId: 'r2' })])).toThrow(/belongs to run r2, not r1/)
    expect(() => checkNewRunSteps(run, [step({}), step({})])).toThrow(/twice/)
    expect(() => checkNewRunSteps(run, [step({ status: 'COMPLETED' })])).toThrow(/cannot be COMPLETED/)
  })
})

describe('checkCommitSteps', () => {
  it("refuses a step of another run and accepts the run's own steps, finished or not", () => {
    const own = makeStep({ runId: 'r1', stepId: 's1', status: 'COMPLETED' })
    expect(() => checkCommitSteps('r1', [own])).not.toThrow()
    expect(() => checkCommitSteps('r1', [own, { ...own, runId: 'r2' }])).toThrow(InvalidArgumentError)
  })
})

describe('dueInstant', () => {
  it('is the first instant isClaimable(run, null, ·) holds, for every kind of lease and wake time', () => {
    const cases: ClaimFields[] = [
      { ...free, status: 'RUNNING', wakeAt: NOW + 5 },
      { ...free, status: 'RUNNING', leaseOwner: 'b', leaseExpiresAt: NOW + 7 },
      { ...free, leaseOwner: 'b', leaseExpiresAt: NOW + 9, wakeAt: NOW + 3 },
      { ...free, leaseOwner: 'b', leaseExpiresAt: NOW + 2, wakeAt: NOW + 8 },
      { ...free, leaseOwner: 'b', leaseExpiresAt: NOW - 4 },
    ]
    for (const run of cases) {
      const due = dueInstant(run) as number
      expect(isClaimable(run, null, due)).toBe(true)
      expect(isClaimable(run, null, due - 1)).toBe(false)
    }
    expect(dueInstant(free)).toBe(0)
  })

  it('is null for PAUSED and terminal runs, which are never due', () => {
    const never = RUN_STATUSES.filter((status) => dueInstant({ ...free, status, wakeAt: NOW }) === null)
    expect(never).toEqual(RUN_STATUSES.filter((status) => !isClaimableStatus(status)))
    expect(never).toContain('PAUSED')
  })
})
