/**
 * @module
 * OpenTelemetry spans of runs and step attempts, through `@opentelemetry/api` only: without an SDK registered (or
 * a tracer passed in `EngineOptions.tracer`) every call here is a no-op. The trace follows the run, not the
 * process: its `traceparent` is stored on the run at creation, and every later execution's span, in whatever
 * process or isolate, is a child of it (README "Traces").
 *
 * Attributes carry ids, versions, attempts, statuses and error codes only: never inputs, outputs, state, error
 * messages or tags, which may hold user data or secrets.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api'
import type { RunRecord } from './model'

/** The tracer name the engine uses by default (`trace.getTracer('gorkflow')`). */
export const TRACER_NAME = 'gorkflow'

/** Attribute names, following OpenTelemetry's dotted lowercase convention under our own namespace. */
export const TRACE_ATTR = {
  workflowId: 'gorkflow.workflow.id',
  workflowVersion: 'gorkflow.workflow.version',
  runId: 'gorkflow.run.id',
  runStatus: 'gorkflow.run.status',
  stepId: 'gorkflow.step.id',
  attempt: 'gorkflow.step.attempt',
  stepStatus: 'gorkflow.step.status',
  errorCode: 'gorkflow.error.code',
  waitKind: 'gorkflow.wait.kind',
  wakeAt: 'gorkflow.wake_at',
} as const

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** The context a W3C `traceparent` names, or null when it is absent or malformed (then a new trace starts). */
export function contextOfTraceparent(traceparent: string | null | undefined): Context | null {
  const match = traceparent == null ? null : TRACEPARENT.exec(traceparent.trim().toLowerCase())
  if (match === null) return null
  const [, traceId = '', spanId = '', flags = '00'] = match
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null
  return trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true })
}

/** The `traceparent` of a span, or null for a non-recording no-op span (no SDK): nothing worth storing. */
function traceparentOf(span: Span): string | null {
  const ctx = span.spanContext()
  if (!trace.isSpanContextValid(ctx)) return null
  const flags = (ctx.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0')
  return `00-${ctx.traceId}-${ctx.spanId}-${flags}`
}

/**
 * Records the start of a new run as a short span under `parent` (a start request's `traceparent`), or else under
 * the active context, and returns that span's `traceparent` for the run record: a run started outside any trace
 * still gets one trace for all its executions.
 */
export function startRunTrace(tracer: Tracer, run: Pick<RunRecord, 'runId' | 'workflowId' | 'workflowVersion'>, parent: string | null | undefined): string | null {
  const parentContext = contextOfTraceparent(parent) ?? context.active()
  const span = tracer.startSpan(
    `gorkflow.start ${run.workflowId}`,
    { kind: SpanKind.PRODUCER, attributes: runAttributes(run) },
    parentContext,
  )
  span.end()
  return traceparentOf(span)
}

function runAttributes(run: Pick<RunRecord, 'runId' | 'workflowId' | 'workflowVersion'>): Attributes {
  return { [TRACE_ATTR.workflowId]: run.workflowId, [TRACE_ATTR.workflowVersion]: run.workflowVersion, [TRACE_ATTR.runId]: run.runId }
}

/**
 * The spans of one execution of a run: a run span from the claim (or creation) to the yield or the end, and a
 * child span per step attempt. An execution cut short by a crash never ends its spans; the next execution's run
 * span joins the same trace through the stored `traceparent`.
 */
export class RunTrace {
  readonly #tracer: Tracer
  readonly #span: Span
  readonly #context: Context
  /** Open attempt spans by `stepId` (a step has at most one running attempt). */
  readonly #attempts = new Map<string, Span>()

  constructor(tracer: Tracer, run: RunRecord) {
    this.#tracer = tracer
    const parent = contextOfTraceparent(run.traceparent) ?? context.active()
    this.#span = tracer.startSpan(
      `gorkflow.run ${run.workflowId}`,
      { kind: SpanKind.CONSUMER, attributes: { ...runAttributes(run), [TRACE_ATTR.runStatus]: run.status } },
      parent,
    )
    this.#context = trace.setSpan(parent, this.#span)
  }

  attemptStarted(stepId: string, attempt: number): void {
    this.#attempts.get(stepId)?.end()
    const span = this.#tracer.startSpan(
      `gorkflow.step ${stepId}`,
      { kind: SpanKind.INTERNAL, attributes: { [TRACE_ATTR.stepId]: stepId, [TRACE_ATTR.attempt]: attempt } },
      this.#context,
    )
    this.#attempts.set(stepId, span)
  }

  /** Ends the step's open attempt span with its outcome (COMPLETED, SKIPPED, FAILED, WAITING, INTERRUPTED). */
  attemptEnded(stepId: string, status: string, errorCode: string | null = null): void {
    const span = this.#attempts.get(stepId)
    if (span === undefined) return
    this.#attempts.delete(stepId)
    span.setAttribute(TRACE_ATTR.stepStatus, status)
    if (errorCode !== null) {
      span.setAttribute(TRACE_ATTR.errorCode, errorCode)
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode })
    }
    span.end()
  }

  /** A span event on the run span (retry scheduled, wait begun, attempt interrupted, yield). */
  event(name: string, attributes: Attributes): void {
    this.#span.addEvent(name, attributes)
  }

  /** Ends the run span with the run as this execution leaves it; attempts still open (aborted) end with it. */
  end(run: RunRecord): void {
    for (const stepId of [...this.#attempts.keys()]) this.attemptEnded(stepId, 'ABANDONED')
    this.#span.setAttribute(TRACE_ATTR.runStatus, run.status)
    if (run.error !== null) {
      this.#span.setAttribute(TRACE_ATTR.errorCode, run.error.code)
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: run.error.code })
    }
    this.#span.end()
  }
}
