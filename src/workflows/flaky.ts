/** @module `flaky`: one step that fails its first `failTimes` attempts, to show retries. */
import { z } from 'zod'
import { defineStep } from '../core/step'
import { workflow } from '../core/workflow'

const attempt = defineStep({
  id: 'attempt',
  name: 'Attempt',
  description: 'Throws while ctx.attempt < failTimes; 3 retries, 10 ms exponential backoff',
  input: z.object({ failTimes: z.number().int().min(0).max(10) }),
  output: z.object({ attempts: z.number().int() }),
  maxRetries: 3,
  retryDelayMs: 10,
  backoff: 'EXPONENTIAL',
  handler: (ctx, { failTimes }) => {
    if (ctx.attempt < failTimes) throw new Error(`attempt ${ctx.attempt} failed on purpose`)
    return { attempts: ctx.attempt + 1 }
  },
})

export const flakyWorkflow = workflow({
  id: 'flaky',
  name: 'Flaky step',
  description: 'Succeeds after failTimes failures (fails the run when failTimes > 3)',
  input: z.object({ failTimes: z.number().int().min(0).max(10) }),
})
  .then(attempt)
  .build()
