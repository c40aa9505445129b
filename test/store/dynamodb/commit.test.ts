import { describe, expect, it } from 'vitest'
import { planCommit } from '../../../src/store/dynamodb/commit'

describe('planCommit', () => {
  it('starts a PENDING or RUNNING run, guessing RUNNING before anything was observed', () => {
    expect(planCommit('RUNNING', null)).toEqual({ from: ['PENDING', 'RUNNING'], set: 'RUNNING', result: 'RUNNING' })
  })

  it('leaves a run observed PAUSED paused when the commit says RUNNING (the pause stands)', () => {
    expect(planCommit('RUNNING', 'PAUSED')).toEqual({ from: ['PAUSED'], set: null, result: 'PAUSED' })
  })

  it('sets any other status from every open status', () => {
    expect(planCommit('COMPLETED', 'PAUSED')).toEqual({
      from: ['PENDING', 'RUNNING', 'PAUSED'],
      set: 'COMPLETED',
      result: 'COMPLETED',
    })
  })

  it('keeps the status unchanged, conditioned on the one observed (RUNNING when none was)', () => {
    expect(planCommit(undefined, null)).toEqual({ from: ['RUNNING'], set: null, result: 'RUNNING' })
    expect(planCommit(undefined, 'PAUSED')).toEqual({ from: ['PAUSED'], set: null, result: 'PAUSED' })
  })
})
