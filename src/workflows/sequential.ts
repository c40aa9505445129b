/** @module `sequential`: add → multiply → format, each step feeding the next. */
import { z } from 'zod'
import { defineStep } from '../core/step'
import { workflow } from '../core/workflow'

const add = defineStep({
  id: 'add',
  name: 'Add',
  description: 'Adds val1 and val2, passing mult on',
  input: z.object({ val1: z.number().int(), val2: z.number().int(), mult: z.number().int() }),
  output: z.object({ value: z.number().int(), mult: z.number().int() }),
  handler: (_ctx, { val1, val2, mult }) => ({ value: val1 + val2, mult }),
})

const multiply = defineStep({
  id: 'multiply',
  name: 'Multiply',
  description: 'Multiplies the sum by mult',
  input: z.object({ value: z.number().int(), mult: z.number().int() }),
  output: z.object({ value: z.number().int() }),
  maxRetries: 5,
  backoff: 'EXPONENTIAL',
  handler: (_ctx, { value, mult }) => ({ value: value * mult }),
})

const format = defineStep({
  id: 'format',
  name: 'Format',
  description: 'Renders the result as a sentence',
  input: z.object({ value: z.number().int() }),
  output: z.object({ message: z.string() }),
  handler: (_ctx, { value }) => ({ message: `The final result is ${value}` }),
})

export const sequentialWorkflow = workflow({
  id: 'sequential',
  name: 'Sequential math',
  description: '(val1 + val2) × mult, then a message',
  input: z.object({ val1: z.number().int(), val2: z.number().int(), mult: z.number().int() }),
})
  .then(add)
  .then(multiply)
  .then(format)
  .build()
