/**
 * @module
 * A {@link Session} that drives an {@link Engine} in this process over a store wrapped in the counting store
 * (test/support/counting-store.ts), so calls per run are measured, never assumed.
 */
import { Engine } from '../../src/core/engine'
import type { WorkflowStore } from '../../src/core/store'
import { countingStore, type CountingStore } from '../../test/support/counting-store'
import type { Durability } from '../../src/core/step-config'
import { benchWorkflows, runBatch, runMap, runOnce, w4Workflow, w5Workflow } from '../workloads'
import type { Session } from './target'

export interface EngineSessionOptions {
  /** The store runs go to; a new one per repetition when `freshStore` is given. */
  readonly store: WorkflowStore
  /** Replaces the store before each repetition (the old one is closed). */
  readonly freshStore?: () => Promise<WorkflowStore>
  readonly endpointRequests?: () => Promise<number | null>
  readonly close?: () => Promise<void>
  /** Which mode's W1 and W2 the runs use. @default 'step' */
  readonly durability?: Durability
}

/** A session whose runs go through one engine (rebuilt with the store) in this process. */
export function engineSession(options: EngineSessionOptions): Session {
  const durability = options.durability ?? 'step'
  const workflows = [...benchWorkflows(durability).all, w5Workflow]
  let counting: CountingStore = countingStore(options.store)
  let engine = new Engine({ store: counting.store, workflows })
  // W4's engine, made on first use: only a W4 measurement pays for building its 10,000 steps.
  let long: Engine | null = null
  let calls = 0
  return {
    run: (workload) => runOnce(engine, workload, durability),
    batch: () => runBatch(engine, durability),
    longRun: () => {
      long ??= new Engine({ store: counting.store, workflows: [w4Workflow()] })
      return runOnce(long, 'W4')
    },
    mapRun: () => runMap(engine),
    async beforeRepetition() {
      if (!options.freshStore) return
      calls += counting.total()
      await long?.shutdown()
      long = null
      await counting.store.close()
      counting = countingStore(await options.freshStore())
      engine = new Engine({ store: counting.store, workflows })
    },
    storeCalls: () => calls + counting.total(),
    endpointRequests: options.endpointRequests ?? (async () => null),
    peakRssKiB: async () => process.resourceUsage().maxRSS,
    async close() {
      await long?.shutdown()
      await engine.shutdown()
      await counting.store.close()
      await options.close?.()
    },
  }
}
