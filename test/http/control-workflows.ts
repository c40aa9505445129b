/**
 * @module
 * Test-only workflows for pause/resume and retry over HTTP. Each factory returns a fresh workflow with its
 * own handles, so no state is shared between tests or stores.
 */
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow } from '../../src/core/workflow'

export interface Gated {
  /** `work` (waits for {@link release}) → `report`. */
  readonly workflow: AnyWorkflow
  /** Resolves once `work` is running. */
  readonly started: Promise<void>
  /** Lets `work` finish. */
  release(): void
  /** Handler invocations, in order. */
  readonly calls: string[]
}

/** `gated`: a step that runs until the test releases it, then one more step, so a pause has a boundary to stop at. */
export function gatedWorkflow(): Gated {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let markStarted!: () => void
  const started = new Promise<void>((resolve) => {
    markStarted = resolve
  })
  const calls: string[] = []
  const wf = workflow<{ n: number }>({ id: 'gated' })
    .then(
      defineStep({
        id: 'work',
        handler: async (_ctx, { n }: { n: number }) => {
          calls.push('work')
          markStarted()
          await gate
          return { n: n + 1 }
        },
      }),
    )
    .then(
      defineStep({
        id: 'report',
        handler: (_ctx, { n }: { n: number }) => {
          calls.push('report')
          return { report: `n=${n}` }
        },
      }),
    )
    .build()
  return { workflow: wf, started, release, calls }
}

export interface Fixable {
  /** `prepare` → `charge` (fails while {@link Fixable.broken}, no retries) → `receipt`. */
  readonly workflow: AnyWorkflow
  broken: boolean
  /** Handler invocations, in order. */
  readonly calls: string[]
}

/** `fixable`: fails at `charge` until the test repairs it, so a retry can succeed with the same input. */
export function fixableWorkflow(): Fixable {
  const state: Fixable = { workflow: null as unknown as AnyWorkflow, broken: true, calls: [] }
  const wf = workflow<{ amount: number }>({ id: 'fixable' })
    .then(
      defineStep({
        id: 'prepare',
        handler: (_ctx, { amount }: { amount: number }) => {
          state.calls.push('prepare')
          return { amount, preparedAt: state.calls.length }
        },
      }),
    )
    .then(
      defineStep({
        id: 'charge',
        maxRetries: 0,
        handler: (_ctx, input: { amount: number; preparedAt: number }) => {
          state.calls.push('charge')
          if (state.broken) throw new Error('the payment service is down')
          return { ...input, charged: true }
        },
      }),
    )
    .then(
      defineStep({
        id: 'receipt',
        handler: (_ctx, input: { amount: number; preparedAt: number; charged: boolean }) => {
          state.calls.push('receipt')
          return { receipt: `paid ${input.amount}`, preparedAt: input.preparedAt }
        },
      }),
    )
    .build()
  return Object.assign(state, { workflow: wf })
}
