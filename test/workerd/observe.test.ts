/**
 * Observability on the Worker inside workerd, over the remote libSQL path: the start request's `traceparent`
 * stored on the run (no OpenTelemetry SDK registered: the no-op tracer keeps the caller's context), tag search and
 * the metrics endpoint.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker from './worker-entry'
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'

const BASE = 'http://gorkflow.test'
const AUTH = { Authorization: `Bearer ${String(env.API_TOKEN)}` }
const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(new Request(`${BASE}${path}`, { ...init, headers: { ...AUTH, ...init.headers } }), env, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

describe('observability on the Worker in workerd', () => {
  it("stores the start request's traceparent and finds the run by its tags", async () => {
    const tag = `batch-${crypto.randomUUID()}`
    const res = await call('/v1/workflows/sequential/runs?wait=true', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', traceparent: PARENT },
      body: JSON.stringify({ input: { val1: 1, val2: 2, mult: 3 }, tags: { batch: tag, env: 'workerd' } }),
    })
    expect(res.status).toBe(200)
    const { run } = (await res.json()) as { run: { runId: string; status: string } }
    expect(run.status).toBe('COMPLETED')

    const store = await createRemoteLibSQLStore({ url: String(env.TURSO_DATABASE_URL), authToken: String(env.TURSO_AUTH_TOKEN) })
    expect((await store.getRun(run.runId)).traceparent).toBe(PARENT)
    await store.close()

    const found = await call(`/v1/runs?tag=${encodeURIComponent(`batch:${tag}`)}&tag=env:workerd`)
    expect(found.status).toBe(200)
    expect(((await found.json()) as { runs: { runId: string }[] }).runs.map((r) => r.runId)).toEqual([run.runId])
    const bad = await call('/v1/runs?tag=no-colon')
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR')
  })

  it('answers GET /v1/metrics in Prometheus text', async () => {
    const res = await call('/v1/metrics')
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toMatch(/^gorkflow_runs\{status="COMPLETED"\} [1-9]\d*$/m)
    expect(text).toContain('gorkflow_webhook_failures_total 0\n')
    expect((await call('/v1/metrics', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401)
  })
})
