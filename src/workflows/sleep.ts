/** @module `sleep`: one step that waits, and stops at once when the run is cancelled. */
import { z } from 'zod'
import { defineStep } from '../core/step'
import { workflow } from '../core/workflow'

const MAX_SLEEP_MS = 600_000

const sleep = defineStep({
  id: 'sleep',
  name: 'Sleep',
  description: 'Waits ms milliseconds, honouring ctx.signal',
  input: z.object({ ms: z.number().int().min(0).max(MAX_SLEEP_MS) }),
  output: z.object({ sleptMs: z.number().int() }),
  maxRetries: 0,
  // The per-attempt limit must outlast the longest sleep the input allows.
  timeoutMs: MAX_SLEEP_MS + 10_000,
  handler: async (ctx, { ms }) => {
    await delay(ms, ctx.signal)
    return { sleptMs: ms }
  },
})

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export const sleepWorkflow = workflow({
  id: 'sleep',
  name: 'Sleep',
  description: 'Sleeps for ms milliseconds (cancel it to see the step stop)',
  input: z.object({ ms: z.number().int().min(0).max(MAX_SLEEP_MS) }),
})
  .then(sleep)
  .build()
