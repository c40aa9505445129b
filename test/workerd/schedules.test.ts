/**
 * Scheduled starts inside workerd: the cron trigger (`scheduled`) fires the every-minute schedule of
 * test/workerd/minutely.ts through croner, and two concurrent invocations of one tick start one run, which the
 * armed alarm executes.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { latestTick, tickKey } from '../../src/core/schedule'
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { minutelyWorkflow } from './minutely'
import worker from './worker-entry'

it('starts one run per minute tick from concurrent cron invocations, and executes it', async () => {
  const store = await createRemoteLibSQLStore({
    url: String(env.TURSO_DATABASE_URL),
    authToken: String(env.TURSO_AUTH_TOKEN),
  })
  const before = latestTick(minutelyWorkflow.schedule!, Date.now()) as number
  const fire = async () => {
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env, ctx)
    await waitOnExecutionContext(ctx)
  }
  await Promise.all([fire(), fire()])
  const after = latestTick(minutelyWorkflow.schedule!, Date.now()) as number
  const runs = (await store.listRuns({ workflowId: 'minutely', limit: 100 })).runs
  const keys = runs.map((r) => r.idempotencyKey)
  expect(new Set(keys).size).toBe(keys.length)
  // The minute may turn between the two looks; the tick of one of them fired, once.
  const fired = runs.filter((r) => r.idempotencyKey === tickKey('minutely', before) || r.idempotencyKey === tickKey('minutely', after))
  expect(fired.length).toBeGreaterThanOrEqual(1)
  expect(fired.length).toBeLessThanOrEqual(after === before ? 1 : 2)
  const runId = fired[0]!.runId
  await expect.poll(async () => (await store.getRun(runId)).status, { timeout: 15_000, interval: 50 }).toBe('COMPLETED')
  expect((await store.getRun(runId)).output).toEqual({ stamped: 'cron' })
  await store.close()
})
