/** @module `conditional`: setup → double (if enabled in state) → format (if value > 10). */
import { z } from 'zod'
import { defineStep } from '../core/step'
import { workflow } from '../core/workflow'

const DOUBLING_KEY = 'enable_doubling'

const setup = defineStep({
  id: 'setup',
  name: 'Setup',
  description: `Records enableDoubling in the run state (${DOUBLING_KEY})`,
  input: z.object({ value: z.number().int(), enableDoubling: z.boolean() }),
  output: z.object({ value: z.number().int() }),
  handler: async (ctx, { value, enableDoubling }) => {
    await ctx.state.set(DOUBLING_KEY, enableDoubling)
    return { value }
  },
})

const Doubled = z.object({ value: z.number().int(), doubled: z.boolean() })

const double = defineStep({
  id: 'double',
  name: 'Double',
  description: 'Doubles the value; when skipped, passes it on with doubled: false',
  input: z.object({ value: z.number().int() }),
  output: Doubled,
  handler: (_ctx, { value }) => ({ value: value * 2, doubled: true }),
})

const Formatted = z.object({ value: z.number().int(), doubled: z.boolean(), message: z.string().optional() })

const format = defineStep({
  id: 'format',
  name: 'Format',
  description: 'Adds a message for values over 10; when skipped, passes its input through',
  input: Formatted,
  output: Formatted,
  handler: (_ctx, input) => ({ ...input, message: `Final value: ${input.value}` }),
})

export const conditionalWorkflow = workflow({
  id: 'conditional',
  name: 'Conditional steps',
  description: 'Doubling controlled by run state, formatting by the value',
  input: z.object({ value: z.number().int(), enableDoubling: z.boolean() }),
})
  .then(setup)
  .thenIf(double, async (ctx) => (await ctx.state.get<boolean>(DOUBLING_KEY)) === true, (input) => ({
    value: input.value,
    doubled: false,
  }))
  .thenIf(format, (_ctx, input) => input.value > 10)
  .build()
