/** A workflow with an every-minute schedule, for the workerd tests of scheduled starts through the cron trigger. */
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'

const stamp = defineStep({ id: 'stamp', handler: (_ctx, input: { from: string }) => ({ stamped: input.from }) })

export const minutelyWorkflow = workflow<{ from: string }>({ id: 'minutely', schedule: { cron: '* * * * *', input: { from: 'cron' } } })
  .then(stamp)
  .build()
