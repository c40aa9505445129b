/** Tag search, the traceparent header and the metrics endpoint through the real app (memory store). */
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { OperatorMetrics } from '../../src/http/operator-metrics'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { makeRun } from '../support/fixtures'
import { type ApiHarness, createHarness, json, TOKEN } from './harness'

const START = '/v1/workflows/sequential/runs?wait=true'
const INPUT = { val1: 1, val2: 2, mult: 3 }
const exporter = new InMemorySpanExporter()
const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('gorkflow')

describe('observability over HTTP', () => {
  let api: ApiHarness
  let metrics: OperatorMetrics

  beforeEach(() => {
    metrics = new OperatorMetrics()
    api = createHarness(new MemoryStore(), { metrics, engine: { tracer, onAttemptFinished: metrics.attemptFinished } })
  })
  afterEach(async () => {
    await api.close()
    exporter.reset()
  })

  async function start(tags: Record<string, string>): Promise<string> {
    const res = await api.call('POST', START, { input: INPUT, tags })
    expect(res.status).toBe(200)
    return (await json(res)).run.runId
  }

  it('GET /v1/runs?tag= finds runs carrying every given tag', async () => {
    const a = await start({ env: 'prod', team: 'red' })
    const b = await start({ env: 'prod' })
    await start({ env: 'dev', team: 'red' })
    const ids = async (query: string) => (await json(await api.call('GET', `/v1/runs?${query}`))).runs.map((r: { runId: string }) => r.runId)
    expect(await ids('tag=env:prod')).toEqual([b, a])
    expect(await ids('tag=env:prod&tag=team:red')).toEqual([a])
    expect(await ids('tag=env:prod&tag=team:blue')).toEqual([])
    expect(await ids(`tag=${encodeURIComponent('env:prod')}&limit=1`)).toEqual([b])
  })

  it('refuses malformed tag filters with 400 and the error shape', async () => {
    const many = Array.from({ length: 11 }, (_, i) => `tag=k${i}:v`).join('&')
    for (const query of ['tag=noColon', 'tag=:value', 'tag=env:a&tag=env:b', many, `tag=k:${'x'.repeat(700)}`]) {
      const res = await api.call('GET', `/v1/runs?${query}`)
      expect(res.status, query).toBe(400)
      expect((await json(res)).error.code).toBe('VALIDATION_ERROR')
    }
  })

  it("a start request's traceparent header becomes the run's parent", async () => {
    const res = await api.app.request(START, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        'Content-Type': 'application/json',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
      body: JSON.stringify({ input: INPUT }),
    })
    expect(res.status).toBe(200)
    const runId = (await json(res)).run.runId
    const stored = await api.store.getRun(runId)
    expect(stored.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/)
    const traceIds = new Set(exporter.getFinishedSpans().map((span) => span.spanContext().traceId))
    expect(traceIds).toEqual(new Set(['0af7651916cd43dd8448eb211c80319c']))
  })

  it('GET /v1/metrics answers Prometheus text: runs by status and webhook failures', async () => {
    await start({})
    await start({})
    metrics.webhookFailed()
    const res = await api.call('GET', '/v1/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(text).toContain('gorkflow_runs{status="COMPLETED"} 2\n')
    expect(text).toContain('gorkflow_runs{status="FAILED"} 0\n')
    expect(text).toContain('gorkflow_webhook_failures_total 1\n')
    // The sequential workflow has 3 steps: 2 runs, 6 completed attempts, each in the +Inf bucket and the count.
    expect(text).toContain('gorkflow_step_duration_seconds_bucket{status="COMPLETED",le="+Inf"} 6\n')
    expect(text).toContain('gorkflow_step_duration_seconds_count{status="COMPLETED"} 6\n')
    expect(text).toContain('gorkflow_sweeper_lag_seconds 0\n')
    expect(text).not.toContain('status="FAILED",le=')
  })

  it('GET /v1/metrics reports how long the most overdue run waits for a sweeper', async () => {
    const now = Date.now()
    await api.store.createRun(makeRun({ workflowId: 'sequential', leaseOwner: 'gone', leaseExpiresAt: now - 90_000 }))
    const text = await (await api.call('GET', '/v1/metrics')).text()
    const lag = Number(/^gorkflow_sweeper_lag_seconds (\S+)$/m.exec(text)?.[1])
    expect(lag).toBeGreaterThanOrEqual(90)
    expect(text).toContain('gorkflow_runs{status="PENDING"} 1\n')
  })

  it('GET /v1/metrics requires the bearer token', async () => {
    expect((await api.app.request('/v1/metrics')).status).toBe(401)
  })
})
