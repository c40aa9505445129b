/**
 * OpenTelemetry export from the Worker inside workerd, through `@microlabs/otel-cf-workers` (worker-entry.ts: the
 * fetch handler wrapped by `instrument`, the run-alarm Durable Object by `instrumentDO`), to a real OTLP/HTTP
 * receiver: the engine's spans arrive in the caller's trace, from the request that ran the run and from the alarm
 * that ran it later.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { ReceivedSpan } from '../workerd/global-setup'
import worker from './worker-entry'

const BASE = 'http://gorkflow.test'
const AUTH = { Authorization: `Bearer ${String(env.API_TOKEN)}` }
const INPUT = { val1: 1, val2: 2, mult: 3 }

/** A fresh caller's trace for each test, as an upstream service would send it. */
function callerTrace(): { traceId: string; spanId: string; traceparent: string } {
  const hex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('')
  const traceId = hex(16)
  const spanId = hex(8)
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` }
}

/** Sends a request to the instrumented Worker and waits for its waitUntil work (the span export among it). */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch!(new Request(`${BASE}${path}`, { ...init, headers: { ...AUTH, ...init.headers } }) as never, env as never, ctx as never)
  await waitOnExecutionContext(ctx)
  return res as unknown as Response
}

async function received(traceId: string): Promise<ReceivedSpan[]> {
  const res = await fetch(`${String(env.OTLP_RECEIVER_URL)}/spans`)
  return ((await res.json()) as { spans: ReceivedSpan[] }).spans.filter((span) => span.traceId === traceId)
}

const named = (spans: readonly ReceivedSpan[], prefix: string) => spans.filter((span) => span.name.startsWith(prefix))

describe('OpenTelemetry export through @microlabs/otel-cf-workers in workerd', () => {
  it("exports the start, run and step spans of a ?wait run in the caller's trace", async () => {
    const caller = callerTrace()
    const res = await call('/v1/workflows/sequential/runs?wait=true', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', traceparent: caller.traceparent },
      body: JSON.stringify({ input: INPUT }),
    })
    expect(res.status).toBe(200)
    const { run } = (await res.json()) as { run: { runId: string; status: string } }
    expect(run.status).toBe('COMPLETED')

    await expect.poll(async () => named(await received(caller.traceId), 'gorkflow.').length, { timeout: 10_000, interval: 50 }).toBe(5)
    const spans = await received(caller.traceId)
    const start = named(spans, 'gorkflow.start ')
    const execution = named(spans, 'gorkflow.run ')
    const steps = named(spans, 'gorkflow.step ')
    expect(start).toHaveLength(1)
    expect(start[0]).toMatchObject({ name: 'gorkflow.start sequential', parentSpanId: caller.spanId, service: 'gorkflow' })
    expect(start[0]?.attributes).toMatchObject({ 'gorkflow.run.id': run.runId, 'gorkflow.workflow.id': 'sequential' })
    expect(execution).toHaveLength(1)
    expect(execution[0]).toMatchObject({ parentSpanId: start[0]?.spanId })
    expect(execution[0]?.attributes).toMatchObject({ 'gorkflow.run.id': run.runId, 'gorkflow.run.status': 'COMPLETED' })
    expect(steps.map((span) => span.attributes['gorkflow.step.id']).sort()).toEqual(['add', 'format', 'multiply'])
    for (const step of steps) expect(step.parentSpanId).toBe(execution[0]?.spanId)
    // The library's own span of the request joins the same trace, under the caller's span too.
    expect(spans.find((span) => span.parentSpanId === caller.spanId && span.name !== 'gorkflow.start sequential')).toBeDefined()
  })

  it("exports the run span of a run the Durable Object's alarm executed later, in the start's trace", async () => {
    const caller = callerTrace()
    const res = await call('/v1/workflows/sequential/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', traceparent: caller.traceparent },
      body: JSON.stringify({ input: INPUT }),
    })
    // Stored for the alarm: nothing executes in this request.
    expect(res.status).toBe(202)
    const { run } = (await res.json()) as { run: { runId: string; status: string } }
    expect(run.status).toBe('PENDING')

    await expect.poll(async () => named(await received(caller.traceId), 'gorkflow.').length, { timeout: 20_000, interval: 100 }).toBe(5)
    const spans = await received(caller.traceId)
    const [start] = named(spans, 'gorkflow.start ')
    const execution = named(spans, 'gorkflow.run ')
    expect(start).toMatchObject({ parentSpanId: caller.spanId })
    expect(execution).toHaveLength(1)
    expect(execution[0]).toMatchObject({ parentSpanId: start?.spanId })
    expect(execution[0]?.attributes).toMatchObject({ 'gorkflow.run.id': run.runId, 'gorkflow.run.status': 'COMPLETED' })
    expect(named(spans, 'gorkflow.step ').every((span) => span.parentSpanId === execution[0]?.spanId)).toBe(true)
    const final = await call(`/v1/runs/${run.runId}`)
    expect(((await final.json()) as { run: { status: string } }).run.status).toBe('COMPLETED')
  })
})
