/**
 * @module
 * Workflows for the dashboard's tests: `parallel` (start → add ‖ multiply → format) and `sleep` (waits `ms`,
 * honouring the step's signal), shaped like the examples in src/workflows, plus a chain of any length.
 */
import { z } from 'zod'
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow } from '../../src/core/workflow'

const Pair = z.object({ val1: z.number().int(), val2: z.number().int() })

export const parallelTestWorkflow = workflow({ id: 'parallel', name: 'Parallel math', input: Pair })
  .then(defineStep({ id: 'start', input: Pair, output: Pair, handler: (_ctx, pair) => pair }))
  .parallel([
    defineStep({ id: 'add', input: Pair, handler: (_ctx, { val1, val2 }) => ({ sum: val1 + val2 }) }),
    defineStep({ id: 'multiply', input: Pair, handler: (_ctx, { val1, val2 }) => ({ product: val1 * val2 }) }),
  ])
  .then(
    defineStep({
      id: 'format',
      handler: (_ctx, { add, multiply }: { add: { sum: number }; multiply: { product: number } }) => ({
        message: `sum=${add.sum} product=${multiply.product}`,
      }),
    }),
  )
  .build()

export const sleepTestWorkflow = workflow({ id: 'sleep', name: 'Sleep', input: z.object({ ms: z.number().int().min(0) }) })
  .then(
    defineStep({
      id: 'sleep',
      input: z.object({ ms: z.number().int().min(0) }),
      maxRetries: 0,
      timeoutMs: 600_000,
      handler: (ctx, { ms }) =>
        new Promise<{ sleptMs: number }>((resolve, reject) => {
          const timer = setTimeout(() => resolve({ sleptMs: ms }), ms)
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer)
            reject(ctx.signal.reason)
          })
        }),
    }),
  )
  .build()

/** `chain-N`: N steps in a row, each adding one to `value` and recording it in the run state. */
export function chainWorkflow(length: number): AnyWorkflow {
  let builder = workflow<{ value: number }>({ id: `chain-${length}` }) as unknown as {
    then(step: unknown): typeof builder
    build(): AnyWorkflow
  }
  for (let i = 1; i <= length; i++) {
    builder = builder.then(
      defineStep({
        id: `step-${String(i).padStart(2, '0')}`,
        handler: async (ctx, { value }: { value: number }) => {
          await ctx.state.set(`after-${i}`, value + 1)
          return { value: value + 1 }
        },
      }),
    )
  }
  return builder.build()
}
