/**
 * The runs' Durable Object alarms inside workerd (src/runtime/run-alarm.ts), with vitest.config.ts's bindings:
 * `WAIT_UNTIL_LIMIT_MS=1000` reports any `waitUntil` work still pending after 1 s (production cuts it at ~30 s),
 * and `BACKGROUND_BUDGET_MS=1000` makes every step of `long-steps` spend an alarm's whole budget. No test here
 * fires the cron: whatever completes was woken by an alarm.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { DurableObjectNamespaceLike } from '../../src/runtime/durable-object-types'
import { ARM_URL } from '../../src/runtime/run-alarms'
import { waitUntilOverruns } from '../../src/runtime/wait-until-guard'
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { makeRun } from '../support/fixtures'
import worker from './worker-entry'

const BASE = 'http://gorkflow.test'
const AUTH = { Authorization: `Bearer ${String(env.API_TOKEN)}` }

/** Sends a request to the Worker and waits for everything it handed to `waitUntil`. */
async function call(method: string, path: string, body?: unknown, bindings: object = env): Promise<{ status: number; body: any }> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method,
      headers: { ...AUTH, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
    bindings as typeof env,
    ctx,
  )
  const parsed = await res.json()
  await waitOnExecutionContext(ctx)
  return { status: res.status, body: parsed }
}

async function finished(runId: string, timeout = 30_000): Promise<any> {
  await expect
    .poll(async () => (await call('GET', `/v1/runs/${runId}`)).body.run.status, { timeout, interval: 100 })
    .toMatch(/^(COMPLETED|FAILED|CANCELLED)$/)
  return (await call('GET', `/v1/runs/${runId}`)).body.run
}

async function steps(runId: string): Promise<[string, string, number][]> {
  const { body } = await call('GET', `/v1/runs/${runId}/steps`)
  return body.steps.map((s: any) => [s.stepId, s.status, s.attempt])
}

describe('RunAlarm (each run\'s Durable Object)', () => {
  it('executes an async start in its alarm: steps of 2.5× the waitUntil limit complete with no overrun', async () => {
    const overruns = waitUntilOverruns()
    const started = await call('POST', '/v1/workflows/long-steps/runs', { input: { ms: 2_500 } })
    expect(started.status).toBe(202)
    // Stored for the alarm to claim: nothing executes in this request or its waitUntil.
    expect(started.body.run).toMatchObject({ status: 'PENDING' })
    expect(started.body.run.startedAt).toBeUndefined()
    // Each step spends an alarm's whole budget: the run continues in a fresh alarm after each one.
    expect(await finished(started.body.run.runId)).toMatchObject({ status: 'COMPLETED', output: { ms: 2_500 } })
    expect(await steps(started.body.run.runId)).toEqual([
      ['one', 'COMPLETED', 0],
      ['two', 'COMPLETED', 0],
      ['three', 'COMPLETED', 0],
    ])
    expect(waitUntilOverruns() - overruns).toBe(0)
  })

  it('catches an overrun: without RUN_ALARMS the same kind of step runs in waitUntil past the limit', async () => {
    const overruns = waitUntilOverruns()
    const started = await call('POST', '/v1/workflows/sleep/runs', { input: { ms: 2_500 } }, { ...env, RUN_ALARMS: undefined })
    expect(started.status).toBe(202)
    expect(await finished(started.body.run.runId)).toMatchObject({ status: 'COMPLETED' })
    expect(waitUntilOverruns() - overruns).toBe(1)
  })

  it('wakes durable sleeps above the inline limit, from an async start and from a ?wait start that yielded', async () => {
    const overruns = waitUntilOverruns()
    const background = await call('POST', '/v1/workflows/nap/runs', { input: { ms: 6_000 } })
    const waited = await call('POST', '/v1/workflows/nap/runs?wait=true', { input: { ms: 6_000 } })
    // The ?wait start ran to the sleep in its request and released the run: its yield armed the alarm.
    expect(waited.status).toBe(202)
    expect(waited.body.run).toMatchObject({ status: 'RUNNING', waitingFor: { kind: 'sleep' } })
    for (const runId of [background.body.run.runId, waited.body.run.runId]) {
      expect(await finished(runId)).toMatchObject({ status: 'COMPLETED', output: { slept: true } })
      expect(await steps(runId)).toEqual([
        ['sleep', 'COMPLETED', 0],
        ['done', 'COMPLETED', 0],
      ])
    }
    expect(waitUntilOverruns() - overruns).toBe(0)
  })

  it('continues a ?wait start that outlived its response in its alarm, after the step in flight', async () => {
    // The one execution left in waitUntil: a ?wait start whose step outlasts the wait budget finishes that step
    // there (counted: production would cut it at ~30 s, and the alarm armed with the 202 then resumes the run),
    // and the steps after it run in the alarm.
    const overruns = waitUntilOverruns()
    const waited = await call('POST', '/v1/workflows/long-steps/runs?wait=true', { input: { ms: 2_500 } }, { ...env, WAIT_BUDGET_MS: '200' })
    expect(waited.status).toBe(202)
    expect(await finished(waited.body.run.runId)).toMatchObject({ status: 'COMPLETED' })
    expect(await steps(waited.body.run.runId)).toEqual([
      ['one', 'COMPLETED', 0],
      ['two', 'COMPLETED', 0],
      ['three', 'COMPLETED', 0],
    ])
    expect(waitUntilOverruns() - overruns).toBe(1)
  })

  it('resumes a run whose owner died, once its lease expires, from the alarm that found it held', async () => {
    // As an invocation that claimed the run and died leaves it: RUNNING, leased, its alarm (the watchdog) due.
    const store = await createRemoteLibSQLStore({ url: String(env.TURSO_DATABASE_URL), authToken: String(env.TURSO_AUTH_TOKEN) })
    const now = Date.now()
    const runId = `crashed-${crypto.randomUUID()}`
    await store.createRun(
      makeRun({
        runId,
        workflowId: 'sequential',
        workflowVersion: '1.0',
        status: 'RUNNING',
        input: { val1: 4, val2: 5, mult: 2 },
        createdAt: now,
        startedAt: now,
        updatedAt: now,
        leaseOwner: 'engine-that-died',
        leaseExpiresAt: now + 2_000,
      }),
    )
    const alarms = env.RUN_ALARMS as DurableObjectNamespaceLike
    const armed = await alarms
      .get(alarms.idFromName(runId))
      .fetch(new Request(ARM_URL, { method: 'POST', body: JSON.stringify({ runId, dueAt: now }) }))
    expect(armed.status).toBe(204)
    expect(await finished(runId)).toMatchObject({ status: 'COMPLETED', output: { message: 'The final result is 18' } })
    expect((await store.getRun(runId)).leaseOwner).toBeNull()
    await store.close()
  })

  it('refuses an arm without a run id or due time, changing nothing', async () => {
    const alarms = env.RUN_ALARMS as DurableObjectNamespaceLike
    const refused = await alarms
      .get(alarms.idFromName('not-a-run'))
      .fetch(new Request(ARM_URL, { method: 'POST', body: JSON.stringify({ runId: 'not-a-run' }) }))
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as any).error.code).toBe('INVALID_ARGUMENT')
  })
})
