/**
 * @module `approval`: waits (up to an hour, holding no compute) for a human's decision delivered as an
 * event — `POST /v1/runs/:runId/events/decision` with `{ "payload": { "approved": true, "by": "ada" } }`.
 */
import { z } from 'zod'
import { defineStep } from '../core/step'
import { workflow } from '../core/workflow'

const decision = z.object({ approved: z.boolean(), by: z.string().min(1).max(200) })
const input = z.object({ amount: z.number() })

const finalize = defineStep({
  id: 'finalize',
  name: 'Finalize',
  description: 'Combines the amount with the decision',
  input: decision,
  output: z.object({ amount: z.number(), approved: z.boolean(), by: z.string() }),
  handler: async (ctx, { approved, by }) => {
    const { amount } = await ctx.getInput<z.infer<typeof input>>('decision')
    return { amount, approved, by }
  },
})

export const approvalWorkflow = workflow({
  id: 'approval',
  name: 'Approval',
  description: 'Waits for a decision event (approved, by), then finalizes',
  input,
})
  .waitForEvent('decision', { schema: decision, timeoutMs: 3_600_000 })
  .then(finalize)
  .build()
