/**
 * @module
 * The per-test setup the engine, durability and waits cases share, so each store's suite gets the same fresh
 * store, clock and teardown without repeating the hooks.
 */
import { afterEach, beforeEach } from 'vitest'
import { Engine, type EngineOptions } from '../../src/core/engine'
import type { AnyWorkflow } from '../../src/core/workflow'
import type { WorkflowStore } from '../../src/core/store'
import { VirtualClock } from './virtual-clock'

/** What a store's setup hands the cases: a fresh store, and how to dispose of it. */
export interface EngineHarness {
  readonly store: WorkflowStore
  readonly cleanup?: () => Promise<void>
}

/**
 * Registers `beforeEach`/`afterEach` in the calling `describe`: each test gets a store from `setup` and a new
 * {@link VirtualClock}; afterwards every engine made by `engine()` is shut down (even when the test failed)
 * before the store is cleaned up. The accessors are functions because the values change per test.
 *
 * `engine()` runs on the test's store and clock, with `defaults` and then `options` overriding them.
 */
export function useEngineHarness(setup: () => Promise<EngineHarness>, defaults: Partial<EngineOptions> = {}) {
  let store: WorkflowStore
  let cleanup: (() => Promise<void>) | undefined
  let clock: VirtualClock
  const engines: Engine[] = []

  beforeEach(async () => {
    const harness = await setup()
    store = harness.store
    cleanup = harness.cleanup
    clock = new VirtualClock()
  })

  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.shutdown()))
    await cleanup?.()
  })

  return {
    store: () => store,
    clock: () => clock,
    engine: (workflows: AnyWorkflow[], options: Partial<EngineOptions> = {}) => {
      const e = new Engine({ store, workflows, clock, ...defaults, ...options })
      engines.push(e)
      return e
    },
  }
}
