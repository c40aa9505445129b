/**
 * @module
 * What the API exposes of runs, steps and workflows. Records are never serialised directly: lease fields,
 * idempotency keys and the persisted run context stay inside, times become ISO-8601 UTC strings, and
 * optional fields are omitted rather than null.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { Json, RunRecord, RunStatus, StepExecution, StepStatus, WaitingFor } from '../core/model'
import type { MapItemCounts } from '../core/map-items'
import { inputJsonSchema } from '../core/schema'
import type { ScheduleView as EngineScheduleView } from '../core/scheduled-starts'
import type { VersionInventory } from '../core/version-inventory'

export interface RunView {
  runId: string
  workflowId: string
  workflowVersion: string
  /** The structural fingerprint of the graph the run started on; absent for runs stored before fingerprints. */
  workflowFingerprint?: string
  status: RunStatus
  /** 0..1 */
  progress: number
  input: Json
  /** Present once the run is COMPLETED (may be JSON null). */
  output?: Json
  error?: { code: string; message: string; step?: string }
  resourceId?: string
  tags?: Record<string, string>
  /** What the run waits for (a durable sleep, an event), while it does. */
  waitingFor?: WaitingForView
  /** The FAILED run this one retries. */
  retryOf?: string
  /** The run that retries this one. */
  retriedBy?: string
  /** The run whose child-workflow step started this one. */
  parentRunId?: string
  /** Per-resource concurrency limit the run was started under. */
  concurrencyLimit?: number
  /** The completion webhook and how its delivery went (README, "Completion webhooks"). */
  webhook?: { url: string; attempts: number; lastStatus: number | null; nextAttemptAt: string | null; deliveredAt: string | null }
  createdAt: string
  startedAt?: string
  completedAt?: string
  updatedAt: string
}

export type WaitingForView =
  | { kind: 'sleep'; stepId: string; until: string }
  | { kind: 'event'; stepId: string; name: string; until: string | null }
  | { kind: 'child'; stepId: string; runId: string; workflowId: string; until: string }
  | { kind: 'version'; version: string; fingerprint: string | null; sameVersionOtherGraph: boolean; until: string }

export interface StepView {
  stepId: string
  executionIndex: number
  status: StepStatus
  /** 0-based index of the latest attempt. */
  attempt: number
  /** Attempts cut short by a crash, restart or shutdown; they spend no retry (`maxInterruptions` bounds them). */
  interruptions: number
  input: Json
  /** Present for COMPLETED and SKIPPED steps (may be JSON null). */
  output?: Json
  error?: { code: string; message: string; attempt: number; details?: Json }
  startedAt?: string
  completedAt?: string
  durationMs: number
  /** When a waiting step continues (retry backoff, durable sleep, event timeout). */
  wakeAt?: string
  /** A map node's items, counted by status; the items themselves are paged at `…/steps/{stepId}/items`. */
  items?: MapItemCounts
}

/** The fields of a workflow definition the API describes; any `WorkflowDefinition` fits. */
export interface DescribedWorkflow {
  readonly id: string
  readonly name: string
  readonly version: string
  readonly fingerprint?: string
  readonly description: string
  readonly tags?: Readonly<Record<string, string>> | readonly string[]
  readonly inputSchema: StandardSchemaV1 | null
  readonly steps: readonly { readonly id: string; readonly name: string; readonly description?: string }[]
  readonly edges: readonly (readonly [string, string])[]
}

export interface WorkflowSummaryView {
  id: string
  name: string
  /** The current version: where new runs start. */
  version: string
  fingerprint?: string
  description: string
  steps: { id: string; name: string; description: string }[]
  edges: [string, string][]
  versions: VersionView[]
  /** The workflow's cron schedule and its state; null when it has none. */
  schedule: ScheduleView | null
}

/** A schedule as the API shows it (`GET /v1/workflows`, pause and resume). */
export interface ScheduleView {
  cron: string
  timezone: string | null
  missed: 'skip' | 'catchUpLast'
  paused: boolean
  /** Null while paused. */
  nextFireAt: string | null
  lastFiredAt: string | null
}

export function toScheduleView(schedule: EngineScheduleView): ScheduleView {
  return {
    cron: schedule.cron,
    timezone: schedule.timezone,
    missed: schedule.missed,
    paused: schedule.paused,
    nextFireAt: schedule.nextFireAt === null ? null : iso(schedule.nextFireAt),
    lastFiredAt: schedule.lastFiredAt === null ? null : iso(schedule.lastFiredAt),
  }
}

export interface WorkflowView extends WorkflowSummaryView {
  /** JSON Schema (draft 2020-12) of the run input, or null when the schema library cannot produce one. */
  inputSchema: Record<string, unknown> | null
}

const iso = (ms: number): string => new Date(ms).toISOString()

export function toRunView(run: RunRecord): RunView {
  return {
    runId: run.runId,
    workflowId: run.workflowId,
    workflowVersion: run.workflowVersion,
    ...(run.workflowFingerprint === null ? {} : { workflowFingerprint: run.workflowFingerprint }),
    status: run.status,
    progress: run.progress,
    input: run.input,
    ...(run.status === 'COMPLETED' ? { output: run.output } : {}),
    ...(run.error === null
      ? {}
      : {
          error: {
            code: run.error.code,
            message: run.error.message,
            ...(run.error.step === null ? {} : { step: run.error.step }),
          },
        }),
    ...(run.resourceId === null ? {} : { resourceId: run.resourceId }),
    ...(Object.keys(run.tags).length === 0 ? {} : { tags: { ...run.tags } }),
    ...(run.waitingFor === null ? {} : { waitingFor: toWaitingForView(run.waitingFor) }),
    ...(run.retryOf === null ? {} : { retryOf: run.retryOf }),
    ...(run.retriedBy === null ? {} : { retriedBy: run.retriedBy }),
    ...(run.parentRunId === null ? {} : { parentRunId: run.parentRunId }),
    ...(run.concurrencyLimit === null ? {} : { concurrencyLimit: run.concurrencyLimit }),
    ...(run.webhook === null
      ? {}
      : {
          webhook: {
            url: run.webhook.url,
            attempts: run.webhook.attempts,
            lastStatus: run.webhook.lastStatus,
            nextAttemptAt: run.webhook.nextAttemptAt === null ? null : iso(run.webhook.nextAttemptAt),
            deliveredAt: run.webhook.deliveredAt === null ? null : iso(run.webhook.deliveredAt),
          },
        }),
    createdAt: iso(run.createdAt),
    ...(run.startedAt === null ? {} : { startedAt: iso(run.startedAt) }),
    ...(run.completedAt === null ? {} : { completedAt: iso(run.completedAt) }),
    updatedAt: iso(run.updatedAt),
  }
}

/** A step record as the API shows it; `items` for a map node. */
export function toStepView(step: StepExecution, items?: MapItemCounts): StepView {
  const hasOutput = step.status === 'COMPLETED' || step.status === 'SKIPPED'
  return {
    stepId: step.stepId,
    executionIndex: step.executionIndex,
    status: step.status,
    attempt: step.attempt,
    interruptions: step.interruptions,
    input: step.input,
    ...(hasOutput ? { output: step.output } : {}),
    ...(step.error === null
      ? {}
      : {
          error: {
            code: step.error.code,
            message: step.error.message,
            attempt: step.error.attempt,
            ...(step.error.details === undefined ? {} : { details: step.error.details }),
          },
        }),
    ...(step.startedAt === null ? {} : { startedAt: iso(step.startedAt) }),
    ...(step.completedAt === null ? {} : { completedAt: iso(step.completedAt) }),
    durationMs: step.durationMs,
    ...(step.wakeAt === null ? {} : { wakeAt: iso(step.wakeAt) }),
    ...(items === undefined ? {} : { items }),
  }
}

export function toWaitingForView(waiting: WaitingFor): WaitingForView {
  if (waiting.kind === 'sleep') return { kind: 'sleep', stepId: waiting.stepId, until: iso(waiting.until) }
  if (waiting.kind === 'version') {
    const { version, fingerprint, sameVersionOtherGraph } = waiting
    return { kind: 'version', version, fingerprint, sameVersionOtherGraph, until: iso(waiting.until) }
  }
  if (waiting.kind === 'child') {
    // The internal event name is the engine's business; the child's run id is what a client follows.
    const { stepId, runId, workflowId } = waiting
    return { kind: 'child', stepId, runId, workflowId, until: iso(waiting.until) }
  }
  return {
    kind: 'event',
    stepId: waiting.stepId,
    name: waiting.name,
    until: waiting.until === null ? null : iso(waiting.until),
  }
}

export function toWorkflowSummaryView(
  workflow: DescribedWorkflow,
  versions: readonly VersionInventory[],
  schedule: EngineScheduleView | null = null,
): WorkflowSummaryView {
  return {
    id: workflow.id,
    name: workflow.name,
    version: workflow.version,
    ...(workflow.fingerprint === undefined ? {} : { fingerprint: workflow.fingerprint }),
    description: workflow.description,
    steps: workflow.steps.map((step) => ({ id: step.id, name: step.name, description: step.description ?? '' })),
    edges: workflow.edges.map(([from, to]) => [from, to]),
    versions: versions.map(toVersionView),
    schedule: schedule === null ? null : toScheduleView(schedule),
  }
}

export function toWorkflowView(
  workflow: DescribedWorkflow,
  versions: readonly VersionInventory[],
  schedule: EngineScheduleView | null = null,
): WorkflowView {
  return { ...toWorkflowSummaryView(workflow, versions, schedule), inputSchema: inputJsonSchema(workflow.inputSchema) }
}

/** One version of a workflow and its in-flight runs (`GET /v1/workflows`). */
export interface VersionView {
  version: string
  fingerprint: string | null
  registered: boolean
  current: boolean
  inFlight: number
  /** For versions not registered here: the oldest of their in-flight runs. */
  runIds?: string[]
}

export function toVersionView(version: VersionInventory): VersionView {
  return {
    version: version.version,
    fingerprint: version.fingerprint,
    registered: version.registered,
    current: version.current,
    inFlight: version.inFlight,
    ...(version.registered ? {} : { runIds: [...version.orphanRunIds] }),
  }
}
