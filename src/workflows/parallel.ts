/** @module `parallel`: start → (add ‖ multiply) → format, a fan-out and a keyed join. */
import { z } from 'zod'
import { defineStep } from '../core/step'
import { workflow } from '../core/workflow'

const Pair = z.object({ val1: z.number().int(), val2: z.number().int() })

const start = defineStep({
  id: 'start',
  name: 'Start',
  description: 'Passes both values on to the parallel steps',
  input: Pair,
  output: Pair,
  handler: (_ctx, pair) => pair,
})

const add = defineStep({
  id: 'add',
  name: 'Add',
  input: Pair,
  output: z.object({ sum: z.number().int() }),
  handler: (_ctx, { val1, val2 }) => ({ sum: val1 + val2 }),
})

const multiply = defineStep({
  id: 'multiply',
  name: 'Multiply',
  input: Pair,
  output: z.object({ product: z.number().int() }),
  handler: (_ctx, { val1, val2 }) => ({ product: val1 * val2 }),
})

const format = defineStep({
  id: 'format',
  name: 'Format',
  description: 'Joins both results into one message',
  input: z.object({ add: z.object({ sum: z.number().int() }), multiply: z.object({ product: z.number().int() }) }),
  output: z.object({ message: z.string() }),
  handler: (_ctx, { add, multiply }) => ({ message: `sum=${add.sum} product=${multiply.product}` }),
})

export const parallelWorkflow = workflow({
  id: 'parallel',
  name: 'Parallel math',
  description: 'Sum and product computed at once, then joined',
  input: Pair,
})
  .then(start)
  .parallel([add, multiply])
  .then(format)
  .build()
