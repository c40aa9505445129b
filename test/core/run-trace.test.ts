import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import { TRACE_ATTR } from '../../src/core/run-trace'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { VirtualClock } from '../support/virtual-clock'

const SECRET_INPUT = 'input-secret-7f3a'
const SECRET_OUTPUT = 'output-secret-91bc'
const LEASE_MS = 1_000

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const tracer = provider.getTracer('gorkflow')

afterEach(() => exporter.reset())

/** A first step, then one that hangs on its first invocation (the crashed engine's) and returns on the next. */
function crashingWorkflow(hang: { calls: number; started: () => void }) {
  const text = z.object({ secret: z.string() })
  const first = defineStep({ id: 'first', input: text, output: text, handler: (_ctx, value) => value })
  const second = defineStep({
    id: 'second',
    input: text,
    output: z.object({ result: z.string() }),
    maxRetries: 1,
    handler: async () => {
      hang.calls++
      if (hang.calls === 1) {
        hang.started()
        return new Promise<never>(() => {})
      }
      return { result: SECRET_OUTPUT }
    },
  })
  return workflow({ id: 'traced', version: '3', input: text }).then(first).then(second).build()
}

function attributesAndEvents(spans: readonly ReadableSpan[]): string {
  return JSON.stringify(spans.map((span) => ({ a: span.attributes, e: span.events, s: span.status })))
}

describe('run traces', () => {
  it('puts a run that crashed and was swept by another engine in one trace, with ids and no payloads', async () => {
    const store = new MemoryStore()
    const clock = new VirtualClock()
    let started!: () => void
    const hanging = new Promise<void>((resolve) => (started = resolve))
    const wf = crashingWorkflow({ calls: 0, started: () => started() })
    const crashed = new Engine({ store, workflows: [wf], clock, tracer, leaseMs: LEASE_MS, ownerId: 'engine-a' })
    const begun = await crashed.begin('traced', { secret: SECRET_INPUT })
    await hanging
    // engine-a is abandoned here: its step never returns and it never commits again, like a killed process.

    clock.advance(LEASE_MS + 1)
    const resumer = new Engine({ store, workflows: [wf], clock, tracer, leaseMs: LEASE_MS, ownerId: 'engine-b' })
    // The sweeper finds the run by its expired lease, as it would in another process.
    expect(await resumer.resumeDue()).toMatchObject({ claimed: 1, completed: 1 })
    expect((await store.getRun(begun.run.runId)).status).toBe('COMPLETED')

    const spans = exporter.getFinishedSpans()
    const stored = await store.getRun(begun.run.runId)
    expect(stored.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    const traceId = stored.traceparent?.split('-')[1]
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([traceId]))

    const names = spans.map((span) => span.name)
    expect(names.filter((name) => name === 'gorkflow.start traced')).toHaveLength(1)
    // engine-a's run span never ended (never exported); engine-b's did.
    const runs = spans.filter((span) => span.name === 'gorkflow.run traced')
    expect(runs).toHaveLength(1)
    const run = runs[0] as ReadableSpan
    expect(run.parentSpanContext?.spanId).toBe(stored.traceparent?.split('-')[2])
    expect(run.attributes).toMatchObject({
      [TRACE_ATTR.workflowId]: 'traced',
      [TRACE_ATTR.workflowVersion]: '3',
      [TRACE_ATTR.runId]: begun.run.runId,
      [TRACE_ATTR.runStatus]: 'COMPLETED',
    })
    expect(run.events.map((event) => event.name)).toContain('gorkflow.step.interrupted')

    const attempts = spans.filter((span) => span.name.startsWith('gorkflow.step '))
    expect(attempts.map((span) => [span.attributes[TRACE_ATTR.stepId], span.attributes[TRACE_ATTR.attempt], span.attributes[TRACE_ATTR.stepStatus]])).toEqual([
      ['first', 0, 'COMPLETED'],
      ['second', 1, 'COMPLETED'],
    ])
    const [firstAttempt, secondAttempt] = attempts as [ReadableSpan, ReadableSpan]
    // The first attempt ran under engine-a's run span, the second under engine-b's: both in the run's trace.
    expect(secondAttempt.parentSpanContext?.spanId).toBe(run.spanContext().spanId)
    expect(firstAttempt.parentSpanContext?.spanId).not.toBe(run.spanContext().spanId)

    const everything = attributesAndEvents(spans)
    expect(everything).not.toContain(SECRET_INPUT)
    expect(everything).not.toContain(SECRET_OUTPUT)
  })

  it("makes a start request's traceparent the run's parent", async () => {
    const store = new MemoryStore()
    const wf = crashingWorkflow({ calls: 1, started: () => {} })
    const engine = new Engine({ store, workflows: [wf], tracer })
    const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const run = await engine.run('traced', { secret: SECRET_INPUT }, { traceparent: parent })
    expect(run.status).toBe('COMPLETED')
    const spans = exporter.getFinishedSpans()
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set(['4bf92f3577b34da6a3ce929d0e0e4736']))
    const start = spans.find((span) => span.name === 'gorkflow.start traced')
    expect(start?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7')
  })

  it('records a failed attempt with its error code and the retry as an event', async () => {
    const store = new MemoryStore()
    const clock = new VirtualClock()
    const failing = defineStep({
      id: 'flaky',
      input: z.object({}),
      output: z.object({}),
      maxRetries: 1,
      retryDelayMs: 0,
      handler: () => {
        throw new Error(`boom ${SECRET_INPUT}`)
      },
    })
    const wf = workflow({ id: 'failing', input: z.object({}) }).then(failing).build()
    const engine = new Engine({ store, workflows: [wf], clock, tracer })
    const run = await engine.run('failing', {})
    expect(run.status).toBe('FAILED')
    const spans = exporter.getFinishedSpans()
    const attempts = spans.filter((span) => span.name === 'gorkflow.step flaky')
    expect(attempts.map((span) => span.attributes[TRACE_ATTR.errorCode])).toEqual(['EXECUTION_FAILED', 'EXECUTION_FAILED'])
    const runSpan = spans.find((span) => span.name === 'gorkflow.run failing')
    expect(runSpan?.events.map((event) => event.name)).toEqual(['gorkflow.step.retry'])
    expect(runSpan?.attributes[TRACE_ATTR.runStatus]).toBe('FAILED')
    expect(attributesAndEvents(spans)).not.toContain(SECRET_INPUT)

    // A retry of the failed run continues its trace.
    const retried = await engine.retry(run.runId)
    expect(retried.traceparent?.split('-')[1]).toBe(run.traceparent?.split('-')[1])
  })

  it('stores no traceparent and costs nothing without an SDK', async () => {
    const engine = new Engine({ store: new MemoryStore(), workflows: [crashingWorkflow({ calls: 1, started: () => {} })] })
    const run = await engine.run('traced', { secret: 'x' })
    expect(run.status).toBe('COMPLETED')
    expect(run.traceparent).toBeNull()
    expect(exporter.getFinishedSpans()).toHaveLength(0)
  })
})
