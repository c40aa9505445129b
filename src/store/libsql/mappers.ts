/**
 * @module
 * Rows of `drizzle/schema.ts` ↔ domain records. The only place that knows how a record is laid out in SQL:
 * JSON payloads become JSON text, optional scalars are NULL, and `due_at` is derived, never read back.
 */
import type { Json, RunRecord, RunStatus, StepError, StepExecution, WaitingFor, WebhookDelivery, WorkflowError } from '../../core/model'
import { getTableColumns } from 'drizzle-orm'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { StepExecutionRow, WorkflowRunRow, stepExecutions, workflowRuns } from '../../../drizzle/schema'
import { dueTime, isClaimableStatus } from '../rules'

export type RunInsert = typeof workflowRuns.$inferInsert
export type StepInsert = typeof stepExecutions.$inferInsert

/** JSON text of a payload. `undefined` (not a Json value) is stored as `null` rather than failing the write. */
export function encodeJson(value: Json): string {
  return JSON.stringify(value) ?? 'null'
}

export function decodeJson(text: string): Json {
  return JSON.parse(text) as Json
}

/** JSON text of an optional object, NULL for null. */
export function encodeNullable<T>(value: T | null): string | null {
  return value === null ? null : JSON.stringify(value)
}

function decodeNullable<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T)
}

/**
 * The instant from which a sweeper may claim a run with these values: null for runs no sweeper may
 * claim (terminal, PAUSED), else the later of lease expiry and wake time. Mirrors `dueAtSql` in the store.
 */
export function dueAtOf(status: RunStatus, leaseExpiresAt: number | null, wakeAt: number | null): number | null {
  return isClaimableStatus(status) ? dueTime(leaseExpiresAt, wakeAt) : null
}

export function toRunRow(run: RunRecord): RunInsert {
  return {
    runId: run.runId,
    workflowId: run.workflowId,
    workflowVersion: run.workflowVersion,
    workflowFingerprint: run.workflowFingerprint,
    status: run.status,
    progress: run.progress,
    input: encodeJson(run.input),
    output: encodeJson(run.output),
    error: encodeNullable(run.error),
    resourceId: run.resourceId,
    tags: JSON.stringify(run.tags),
    context: encodeJson(run.context),
    idempotencyKey: run.idempotencyKey,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    completedAt: run.completedAt,
    updatedAt: run.updatedAt,
    leaseOwner: run.leaseOwner,
    leaseExpiresAt: run.leaseExpiresAt,
    wakeAt: run.wakeAt,
    cancelRequestedAt: run.cancelRequestedAt,
    dueAt: dueAtOf(run.status, run.leaseExpiresAt, run.wakeAt),
    waitingFor: encodeNullable(run.waitingFor),
    retryOf: run.retryOf,
    retriedBy: run.retriedBy,
    parentRunId: run.parentRunId,
    concurrencyLimit: run.concurrencyLimit,
    traceparent: run.traceparent,
    webhook: encodeNullable(run.webhook),
    webhookDueAt: webhookDueAt(run.webhook),
  }
}

/** The `webhook_due_at` column of a delivery state: its next attempt, unless delivered. */
export function webhookDueAt(webhook: WebhookDelivery | null): number | null {
  return webhook === null || webhook.deliveredAt !== null ? null : webhook.nextAttemptAt
}

export function fromRunRow(row: WorkflowRunRow): RunRecord {
  return {
    runId: row.runId,
    workflowId: row.workflowId,
    workflowVersion: row.workflowVersion,
    workflowFingerprint: row.workflowFingerprint,
    status: row.status,
    progress: row.progress,
    input: decodeJson(row.input),
    output: decodeJson(row.output),
    error: decodeNullable<WorkflowError>(row.error),
    resourceId: row.resourceId,
    tags: JSON.parse(row.tags) as Record<string, string>,
    context: decodeJson(row.context),
    idempotencyKey: row.idempotencyKey,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
    updatedAt: row.updatedAt,
    leaseOwner: row.leaseOwner,
    leaseExpiresAt: row.leaseExpiresAt,
    wakeAt: row.wakeAt,
    cancelRequestedAt: row.cancelRequestedAt,
    waitingFor: decodeNullable<WaitingFor>(row.waitingFor),
    retryOf: row.retryOf,
    retriedBy: row.retriedBy,
    parentRunId: row.parentRunId,
    concurrencyLimit: row.concurrencyLimit,
    traceparent: row.traceparent,
    webhook: decodeNullable<WebhookDelivery>(row.webhook),
  }
}

export function toStepRow(step: StepExecution): StepInsert {
  return {
    runId: step.runId,
    stepId: step.stepId,
    executionIndex: step.executionIndex,
    status: step.status,
    attempt: step.attempt,
    interruptions: step.interruptions,
    input: encodeJson(step.input),
    output: encodeJson(step.output),
    error: encodeNullable(step.error),
    startedAt: step.startedAt,
    completedAt: step.completedAt,
    durationMs: step.durationMs,
    wakeAt: step.wakeAt,
    createdAt: step.createdAt,
    updatedAt: step.updatedAt,
  }
}

export function fromStepRow(row: StepExecutionRow): StepExecution {
  return {
    runId: row.runId,
    stepId: row.stepId,
    executionIndex: row.executionIndex,
    status: row.status,
    attempt: row.attempt,
    interruptions: row.interruptions,
    input: decodeJson(row.input),
    output: decodeJson(row.output),
    error: decodeNullable<StepError>(row.error),
    startedAt: row.startedAt,
    completedAt: row.completedAt,
    durationMs: row.durationMs,
    wakeAt: row.wakeAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  }
}

/**
 * A row of `table` as the client returned it (keyed by SQL column name, driver values) in the shape Drizzle's
 * queries return (keyed by property, mapped values): for statements the store sends without Drizzle's session.
 */
export function fromDriverRow<T extends SQLiteTable>(table: T, row: Record<string, unknown>): T['$inferSelect'] {
  const mapped: Record<string, unknown> = {}
  for (const [key, column] of Object.entries(getTableColumns(table))) {
    const value = row[column.name]
    mapped[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value)
  }
  return mapped as T['$inferSelect']
}
