/**
 * The Worker inside workerd: `fetch` and `scheduled` of src/worker.ts (through test/workerd/worker-entry.ts) with
 * the bindings of vitest.config.ts, against the local libSQL endpoint over HTTP (the Turso code path). A handful of
 * smoke tests; the API contract itself is tested in Node (test/http), the runs' alarms in run-alarm.test.ts.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from './worker-entry'
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { makeRun } from '../support/fixtures'

const BASE = 'http://gorkflow.test'
const AUTH = { Authorization: `Bearer ${String(env.API_TOKEN)}` }

function post(path: string, body?: unknown): Request {
  return new Request(`${BASE}${path}`, {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

function get(path: string): Request {
  return new Request(`${BASE}${path}`, { headers: AUTH })
}

async function body(res: Response): Promise<any> {
  return res.json()
}

/** The Worker as deployed without the Durable Object binding: background runs execute in `waitUntil`. */
const withoutAlarms = { ...env, RUN_ALARMS: undefined }

describe('Worker in workerd', () => {
  it('answers /health through the exported handler, on the libsql store', async () => {
    const res = await exports.default.fetch(`${BASE}/health`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, store: 'libsql' })
  })

  it('serves the dashboard sign-in page under /ui', async () => {
    const res = await exports.default.fetch(`${BASE}/ui/sign-in`)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/)
  })

  it('refuses /v1 without the token', async () => {
    const res = await exports.default.fetch(`${BASE}/v1/workflows`)
    expect(res.status).toBe(401)
    expect((await body(res)).error.code).toBe('UNAUTHORIZED')
  })

  it('runs sequential within the request with ?wait=true', async () => {
    const ctx = createExecutionContext()
    const res = await worker.fetch(post('/v1/workflows/sequential/runs?wait=true', { input: { val1: 1, val2: 2, mult: 3 } }), env, ctx)
    await waitOnExecutionContext(ctx)
    expect(res.status).toBe(200)
    expect((await body(res)).run).toMatchObject({ status: 'COMPLETED', output: { message: 'The final result is 9' } })
  })

  it('runs a pipelined chain (commits behind the steps, on timers) within the request and in waitUntil', async () => {
    const ctx = createExecutionContext()
    const res = await worker.fetch(post('/v1/workflows/pipelined-chain/runs?wait=true', { input: { n: 0 } }), env, ctx)
    await waitOnExecutionContext(ctx)
    expect(res.status).toBe(200)
    const { run } = await body(res)
    expect(run).toMatchObject({ status: 'COMPLETED', output: { n: 6 } })
    const background = createExecutionContext()
    const started = await worker.fetch(post('/v1/workflows/pipelined-chain/runs', { input: { n: 10 } }), withoutAlarms, background)
    expect(started.status).toBe(202)
    const second = (await body(started)).run
    await waitOnExecutionContext(background)
    const store = await createRemoteLibSQLStore({ url: String(env.TURSO_DATABASE_URL), authToken: String(env.TURSO_AUTH_TOKEN) })
    expect(await store.getRun(second.runId)).toMatchObject({ status: 'COMPLETED', output: { n: 16 }, leaseOwner: null })
    for (const id of [run.runId, second.runId]) {
      const steps = await store.listStepExecutions(id)
      expect(steps.map((s) => [s.stepId, s.status, s.attempt])).toEqual([1, 2, 3, 4, 5, 6].map((i) => [`p${i}`, 'COMPLETED', 0]))
    }
    await store.close()
  })

  it('continues an async start in waitUntil until the run completes, without the RUN_ALARMS binding', async () => {
    const ctx = createExecutionContext()
    const res = await worker.fetch(post('/v1/workflows/parallel/runs', { input: { val1: 5, val2: 6 } }), withoutAlarms, ctx)
    expect(res.status).toBe(202)
    const { run } = await body(res)
    expect(run.status).toBe('RUNNING')
    await waitOnExecutionContext(ctx)
    const read = await worker.fetch(get(`/v1/runs/${run.runId}`), env, createExecutionContext())
    expect((await body(read)).run).toMatchObject({ status: 'COMPLETED', output: { message: 'sum=11 product=30' } })
  })

  it('cancels a sleeping run, and its waitUntil work ends at once, without the RUN_ALARMS binding', async () => {
    const ctx = createExecutionContext()
    const res = await worker.fetch(post('/v1/workflows/sleep/runs', { input: { ms: 120_000 } }), withoutAlarms, ctx)
    const { run } = await body(res)
    const cancelled = await worker.fetch(post(`/v1/runs/${run.runId}/cancel`), withoutAlarms, createExecutionContext())
    expect(cancelled.status).toBe(202)
    const started = Date.now()
    await waitOnExecutionContext(ctx)
    // Far sooner than the 120 s sleep, however loaded the machine.
    expect(Date.now() - started).toBeLessThan(60_000)
    const read = await worker.fetch(get(`/v1/runs/${run.runId}/steps`), env, createExecutionContext())
    expect((await body(read)).steps).toMatchObject([{ stepId: 'sleep', status: 'CANCELLED' }])
  })

  it('cancels a run executing in another request (its own I/O context), answering 202', async () => {
    // Separate requests through the runtime, as in production: the cancel cannot touch the other request's
    // timers or abort signals directly.
    const started = await exports.default.fetch(post('/v1/workflows/sleep/runs', { input: { ms: 120_000 } }))
    const { run } = await body(started)
    await expect
      .poll(async () => (await body(await exports.default.fetch(get(`/v1/runs/${run.runId}`)))).run.status, {
        timeout: 10_000,
        interval: 50,
      })
      .toBe('RUNNING')
    const cancelled = await exports.default.fetch(post(`/v1/runs/${run.runId}/cancel`))
    expect(cancelled.status).toBe(202)
    expect((await body(cancelled)).run.status).toBe('CANCELLED')
    await expect
      .poll(async () => (await body(await exports.default.fetch(get(`/v1/runs/${run.runId}/steps`)))).steps[0].status, {
        timeout: 5_000,
        interval: 50,
      })
      .toBe('CANCELLED')
  })

  it('resumes a due run from the cron trigger (scheduled), which arms its alarm', async () => {
    // A run as a crashed isolate leaves it, its alarm never armed: PENDING, no lease. Only the sweeper finds it.
    const store = await createRemoteLibSQLStore({
      url: String(env.TURSO_DATABASE_URL),
      authToken: String(env.TURSO_AUTH_TOKEN),
    })
    const now = Date.now()
    const runId = `orphan-${crypto.randomUUID()}`
    await store.createRun(
      makeRun({
        runId,
        workflowId: 'sequential',
        workflowVersion: '1.0',
        input: { val1: 10, val2: 5, mult: 2 },
        createdAt: now,
        updatedAt: now,
      }),
    )
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: now }), env, ctx)
    await waitOnExecutionContext(ctx)
    await expect.poll(async () => (await store.getRun(runId)).status, { timeout: 15_000, interval: 50 }).toBe('COMPLETED')
    const run = await store.getRun(runId)
    expect(run).toMatchObject({ output: { message: 'The final result is 30' }, leaseOwner: null })
    await store.close()
  })

  it('answers 503 naming the missing binding when TURSO_DATABASE_URL is unset, and recovers once it is set', async () => {
    const broken = { ...env, TURSO_DATABASE_URL: undefined }
    const res = await worker.fetch(get('/v1/workflows'), broken, createExecutionContext())
    expect(res.status).toBe(503)
    const { error } = await body(res)
    expect(error.code).toBe('MISCONFIGURED')
    expect(error.message).toContain('TURSO_DATABASE_URL')
    const fixed = await worker.fetch(get('/v1/workflows'), env, createExecutionContext())
    expect(fixed.status).toBe(200)
  })

  it('answers 503 naming the DynamoDB build when STORE=dynamodb reaches the LibSQL bundle', async () => {
    const res = await worker.fetch(get('/v1/workflows'), { ...env, STORE: 'dynamodb' }, createExecutionContext())
    expect(res.status).toBe(503)
    expect((await body(res)).error.message).toContain('wrangler.dynamodb.toml')
  })
})

describe('the run stream in workerd', () => {
  it('streams a finished run to its end, resumes after Last-Event-ID and refuses without the token', async () => {
    const ctx = createExecutionContext()
    const started = await worker.fetch(post('/v1/workflows/sequential/runs?wait=true', { input: { val1: 2, val2: 3, mult: 4 } }), env, ctx)
    await waitOnExecutionContext(ctx)
    const { runId } = (await body(started)).run
    const res = await exports.default.fetch(`${BASE}/v1/runs/${runId}/stream`, { headers: AUTH })
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/)
    const text = await res.text()
    const events = [...text.matchAll(/event: (\S+)\n/g)].map((m) => m[1])
    expect(events).toEqual(['run.started', 'step.started', 'step.completed', 'step.started', 'step.completed', 'step.started', 'step.completed', 'run.finished'])
    const ids = [...text.matchAll(/id: (\S+)\n/g)].map((m) => m[1] as string)
    const rest = await exports.default.fetch(`${BASE}/v1/runs/${runId}/stream`, { headers: { ...AUTH, 'Last-Event-ID': ids[4] as string } })
    expect([...(await rest.text()).matchAll(/event: (\S+)\n/g)].map((m) => m[1])).toEqual(events.slice(5))
    const anonymous = await exports.default.fetch(`${BASE}/v1/runs/${runId}/stream`)
    expect(anonymous.status).toBe(401)
  })
})

describe('completion webhooks in workerd', () => {
  it('delivers a webhook signed with Web Crypto from the cron tick, which the receiver verifies', async () => {
    const receiver = String(env.WEBHOOK_RECEIVER_URL)
    const ctx = createExecutionContext()
    const started = await worker.fetch(
      post('/v1/workflows/sequential/runs?wait=true', { input: { val1: 3, val2: 4, mult: 5 }, callbackUrl: `${receiver}/hook` }),
      env,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    const { run } = await body(started)
    expect(run).toMatchObject({ status: 'COMPLETED', webhook: { url: `${receiver}/hook`, attempts: 0, deliveredAt: null } })

    const tick = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }), env, tick)
    await waitOnExecutionContext(tick)
    const { received } = (await (await fetch(`${receiver}/received`)).json()) as { received: unknown[] }
    expect(received.filter((r: any) => r.runId === run.runId)).toEqual([{ runId: run.runId, status: 'COMPLETED', verified: true }])
    const after = (await body(await exports.default.fetch(`${BASE}/v1/runs/${run.runId}`, { headers: AUTH }))).run
    expect(after.webhook).toMatchObject({ attempts: 1, lastStatus: 204, nextAttemptAt: null, deliveredAt: expect.any(String) })
  })
})
