/**
 * @module
 * The workflow the restart test (test/durability/restarts.test.ts) runs through kills and graceful shutdowns:
 * nap → durable sleep → (flaky ‖ long) → join. `nap` and `join` have `maxRetries: 0`, `long` outlasts the
 * shutdown grace the test sets and ignores its signal, `flaky` fails its attempt 0 on purpose. Every handler
 * call is logged durably through the probe log (`deps.probe`), with how it ended.
 */
import { z } from 'zod'
import { defineStep, type StepContext } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import './probe-workflow'

const num = z.object({ n: z.number() })

/** How long `long` runs, in ms: well past the test's shutdown grace. */
export const LONG_STEP_MS = 2_000

const pause = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    }, { once: true })
  })

/** Runs `work` between a logged begin and a logged end. */
async function probed<T>(ctx: StepContext, work: () => Promise<T>): Promise<T> {
  const row = ctx.deps.probe?.begin(ctx.runId, ctx.stepId, ctx.attempt)
  try {
    const value = await work()
    if (row !== undefined) ctx.deps.probe?.end(row, 'ok')
    return value
  } catch (err) {
    if (row !== undefined) ctx.deps.probe?.end(row, ctx.signal.aborted ? 'aborted' : 'failed')
    throw err
  }
}

const nap = defineStep({
  id: 'nap',
  input: num,
  output: num,
  maxRetries: 0,
  handler: (ctx, { n }) => probed(ctx, async () => {
    await pause(20 + (n % 10) * 20, ctx.signal)
    return { n }
  }),
})

const flaky = defineStep({
  id: 'flaky',
  input: num,
  output: num,
  maxRetries: 3,
  retryDelayMs: 10,
  handler: (ctx, { n }) => probed(ctx, async () => {
    await pause(10, ctx.signal)
    if (ctx.attempt === 0) throw new Error('attempt 0 fails on purpose')
    return { n: n + 1 }
  }),
})

const long = defineStep({
  id: 'long',
  input: num,
  output: num,
  maxRetries: 0,
  // Ignores ctx.signal on purpose: a graceful shutdown must not wait for it.
  handler: (ctx, { n }) => probed(ctx, async () => {
    await pause(LONG_STEP_MS)
    return { n: n + 2 }
  }),
})

const join = defineStep({
  id: 'join',
  input: z.object({ flaky: num, long: num }),
  output: num,
  maxRetries: 0,
  handler: (ctx, input) => probed(ctx, async () => ({ n: input.flaky.n + input.long.n })),
})

/** Output `{ n: 2n + 3 }` for input `{ n }`. */
export const restartWorkflow = workflow({ id: 'restart', input: num })
  .then(nap)
  .sleep(100, { id: 'rest' })
  .parallel([flaky, long])
  .then(join)
  .build()

/** The step ids whose handlers log invocations. */
export const RESTART_HANDLER_STEPS = ['nap', 'flaky', 'long', 'join'] as const
