import { describe, expect, it } from 'vitest'
import { assertStepConfig, resolveStepConfig, retryDelay, type StepConfig } from '../../src/core/step-config'

describe('retryDelay()', () => {
  it('follows the schedule of docs/decisions.md#backoff for each backoff', () => {
    const linear = resolveStepConfig({ retryDelayMs: 1000, backoff: 'LINEAR' })
    const exp = resolveStepConfig({ retryDelayMs: 1000, backoff: 'EXPONENTIAL' })
    const none = resolveStepConfig({ retryDelayMs: 1000, backoff: 'NONE' })
    expect([0, 1, 2, 3].map((n) => retryDelay(linear, n))).toEqual([0, 1000, 2000, 3000])
    expect([0, 1, 2, 3, 4].map((n) => retryDelay(exp, n))).toEqual([0, 1000, 2000, 4000, 8000])
    expect(retryDelay(none, 3)).toBe(0)
  })

  it('stays finite for huge attempt numbers and honours the cap', () => {
    const exp = resolveStepConfig({ retryDelayMs: 1000, backoff: 'EXPONENTIAL' })
    expect(Number.isFinite(retryDelay(exp, 5000))).toBe(true)
    expect(retryDelay(resolveStepConfig({ backoff: 'EXPONENTIAL', maxDelayMs: 30_000 }), 5000)).toBe(30_000)
  })

  it('jitters within [delay/2, delay]', () => {
    const cfg = resolveStepConfig({ retryDelayMs: 1000, jitter: true })
    expect(retryDelay(cfg, 2, () => 0)).toBe(1000)
    expect(retryDelay(cfg, 2, () => 0.999)).toBe(1999)
  })
})

describe('resolveStepConfig()', () => {
  it('merges field by field and freezes the result', () => {
    const cfg = resolveStepConfig({ maxRetries: 5, timeoutMs: 10 }, { timeoutMs: 20 }, undefined, { continueOnError: true })
    expect(cfg).toMatchObject({ maxRetries: 5, timeoutMs: 20, continueOnError: true, retryDelayMs: 1000, backoff: 'LINEAR' })
    expect(Object.isFrozen(cfg)).toBe(true)
  })

  it('bounds interruptions at 10 by default, overridable like any option, never negative', () => {
    expect(resolveStepConfig().maxInterruptions).toBe(10)
    expect(resolveStepConfig({ maxInterruptions: 3 }, { maxRetries: 0 }, { maxInterruptions: 0 })).toMatchObject({ maxInterruptions: 0, maxRetries: 0 })
    expect(() => assertStepConfig({ maxInterruptions: -1 }, 'step s')).toThrow('step s: maxInterruptions must be an integer >= 0, got -1')
  })

  it("is strict ('step') by default; durability merges like any option, and an unknown mode is refused", () => {
    expect(resolveStepConfig().durability).toBe('step')
    expect(resolveStepConfig({ durability: 'pipelined' }, { maxRetries: 1 }).durability).toBe('pipelined')
    expect(resolveStepConfig({ durability: 'pipelined' }, { durability: 'step' }).durability).toBe('step')
    // @ts-expect-error: not a durability mode
    const fast: StepConfig = { durability: 'fast' }
    expect(() => assertStepConfig(fast, 'workflow w')).toThrow('workflow w: durability must be one of step, pipelined')
  })
})
