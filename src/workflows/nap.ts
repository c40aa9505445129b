/** @module `nap`: a durable sleep of up to a day — no lease and no compute held while it waits. */
import { z } from 'zod'
import { defineStep } from '../core/step'
import { workflow } from '../core/workflow'

const DAY_MS = 86_400_000
const input = z.object({ ms: z.number().int().min(0).max(DAY_MS) })

const done = defineStep({
  id: 'done',
  name: 'Done',
  input,
  output: z.object({ slept: z.literal(true) }),
  handler: () => ({ slept: true as const }),
})

export const napWorkflow = workflow({
  id: 'nap',
  name: 'Nap',
  description: 'Sleeps ms milliseconds durably (resumed by the sweeper), then says so',
  input,
})
  .sleep((_ctx, { ms }) => ms, { id: 'sleep' })
  .then(done)
  .build()
