/**
 * @module
 * `long-steps`: three steps that each wait `ms` (honouring `ctx.signal`), for the workerd tests of background
 * execution: with `ms` above the `waitUntil` limit and the alarm budget, each step outlasts both.
 */
import { z } from 'zod'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'

const input = z.object({ ms: z.number().int().min(0).max(60_000) })

function wait(id: string) {
  return defineStep({
    id,
    name: id,
    input,
    output: input,
    maxRetries: 0,
    handler: async (ctx, { ms }) => {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms)
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(ctx.signal.reason)
        })
      })
      return { ms }
    },
  })
}

export const longStepsWorkflow = workflow({ id: 'long-steps', name: 'Long steps', input })
  .then(wait('one'))
  .then(wait('two'))
  .then(wait('three'))
  .build()
