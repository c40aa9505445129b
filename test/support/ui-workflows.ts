/** @module Workflows for the dashboard's tests beyond the examples in src/workflows. */
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow } from '../../src/core/workflow'

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
