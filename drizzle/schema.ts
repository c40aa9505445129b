/**
 * @module
 * LibSQL / SQLite tables of the libsql store: the single source of truth for the SQL schema.
 * Changing this file requires `npm run db:generate` and a reviewed, committed file in `migrations/`
 * (`test/store/libsql-migrations.test.ts` fails otherwise).
 *
 * Conventions: snake_case columns, camelCase keys; times are integer UTC epoch milliseconds; JSON payloads
 * (inputs, outputs, tags, context, errors) are JSON text so `json_extract()` works in ad-hoc queries.
 * Children reference the run with `ON DELETE CASCADE`; the store also deletes them explicitly, so nothing
 * depends on `PRAGMA foreign_keys` being on for the connection.
 */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { RUN_STATUSES, STEP_STATUSES } from '../src/core/model'

/** One row per run; the lease and scheduling columns are what sweepers and fenced commits query. */
export const workflowRuns = sqliteTable(
  'workflow_runs',
  {
    runId: text('run_id').primaryKey(),
    workflowId: text('workflow_id').notNull(),
    workflowVersion: text('workflow_version').notNull(),
    /** Structural fingerprint of the graph the run started on; NULL for runs stored before it existed. */
    workflowFingerprint: text('workflow_fingerprint'),
    status: text('status', { enum: RUN_STATUSES }).notNull(),
    progress: real('progress').notNull(),
    /** JSON text of the run input (`null` is the text `null`). */
    input: text('input').notNull(),
    /** JSON text of the run output; the text `null` until the run completes. */
    output: text('output').notNull(),
    /** JSON text of the WorkflowError, or NULL. */
    error: text('error'),
    resourceId: text('resource_id'),
    /** JSON text of a string-to-string object. */
    tags: text('tags').notNull(),
    /** JSON text of the persisted run context. */
    context: text('context').notNull(),
    idempotencyKey: text('idempotency_key'),
    createdAt: integer('created_at').notNull(),
    startedAt: integer('started_at'),
    completedAt: integer('completed_at'),
    updatedAt: integer('updated_at').notNull(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    wakeAt: integer('wake_at'),
    cancelRequestedAt: integer('cancel_requested_at'),
    /**
     * The instant from which a sweeper may claim the run: NULL for terminal and PAUSED runs, otherwise
     * max(lease_expires_at ?? 0, wake_at ?? 0). Maintained by every write, so the sweeper's query is one
     * range scan of a partial index instead of an OR over three columns.
     */
    dueAt: integer('due_at'),
    /** JSON text of what a RUNNING run waits for (durable sleep, event), or NULL. */
    waitingFor: text('waiting_for'),
    /** The FAILED run this one retries. */
    retryOf: text('retry_of'),
    /** The run that retries this one; set once. */
    retriedBy: text('retried_by'),
    /** The parent of a child run (README "Child workflows"); null for a top-level run. */
    parentRunId: text('parent_run_id'),
    /** Most runs of this workflow and resource that may hold a slot at once; NULL for no limit. */
    concurrencyLimit: integer('concurrency_limit'),
    /** W3C traceparent the run was started under (README "Traces"); NULL outside a trace. */
    traceparent: text('traceparent'),
    /** JSON text of the completion webhook's delivery state (WebhookDelivery), or NULL for none. */
    webhook: text('webhook'),
    /** When the webhook's next attempt is due; NULL once delivered or given up. The run must be terminal too. */
    webhookDueAt: integer('webhook_due_at'),
  },
  (t) => [
    index('workflow_runs_workflow_created_idx').on(t.workflowId, t.createdAt, t.runId),
    index('workflow_runs_status_created_idx').on(t.status, t.createdAt, t.runId),
    index('workflow_runs_resource_created_idx').on(t.resourceId, t.createdAt, t.runId),
    index('workflow_runs_created_idx').on(t.createdAt, t.runId),
    // Partial: terminal and PAUSED runs (due_at NULL), the vast majority over time, are not in it.
    index('workflow_runs_due_idx').on(t.dueAt, t.createdAt, t.runId).where(sql`due_at IS NOT NULL`),
    // Partial, so retention reads terminal runs oldest first and stops at its LIMIT without sorting.
    index('workflow_runs_retention_idx')
      .on(t.completedAt, t.runId)
      .where(sql`status IN ('COMPLETED', 'FAILED', 'CANCELLED')`),
    // Partial: a run enters it when it becomes terminal (no write has to move it), and leaves it once delivered.
    index('workflow_runs_webhook_due_idx')
      .on(t.webhookDueAt, t.runId)
      .where(sql`webhook_due_at IS NOT NULL AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')`),
    uniqueIndex('workflow_runs_idempotency_idx').on(t.workflowId, t.idempotencyKey),
    // Per-resource concurrency: claimRun counts slot holders and looks for older waiting runs of one key.
    index('workflow_runs_slot_idx')
      .on(t.workflowId, t.resourceId, t.status, t.createdAt, t.runId)
      .where(sql`resource_id IS NOT NULL`),
  ],
)

/** One row per (run, step); retries update the same row. */
export const stepExecutions = sqliteTable(
  'step_executions',
  {
    runId: text('run_id')
      .notNull()
      .references(() => workflowRuns.runId, { onDelete: 'cascade' }),
    stepId: text('step_id').notNull(),
    executionIndex: integer('execution_index').notNull(),
    status: text('status', { enum: STEP_STATUSES }).notNull(),
    attempt: integer('attempt').notNull(),
    /** Attempts cut short by a crash, restart or shutdown; they do not spend the step's retries. */
    interruptions: integer('interruptions').notNull().default(0),
    /** JSON text of the step input. */
    input: text('input').notNull(),
    /** JSON text of the step output; the text `null` unless COMPLETED or SKIPPED (only then is it read). */
    output: text('output').notNull(),
    /** JSON text of the StepError, or NULL. */
    error: text('error'),
    startedAt: integer('started_at'),
    completedAt: integer('completed_at'),
    durationMs: integer('duration_ms').notNull(),
    /** When a waiting step (retry backoff, durable sleep, event timeout) may continue, or NULL. */
    wakeAt: integer('wake_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  // WITHOUT ROWID (migration 0003, which drizzle-kit cannot express: a table rebuild it generates would drop it):
  // the rows are stored in the primary key's b-tree, and a run's steps, read by its prefix and sorted (a run has
  // few), need no second index. Each step commit writes two fewer pages than with a rowid table and an index.
  (t) => [primaryKey({ columns: [t.runId, t.stepId] })],
)

/** Per-run key/value state written by step handlers (`ctx.state`). */
export const workflowState = sqliteTable(
  'workflow_state',
  {
    runId: text('run_id')
      .notNull()
      .references(() => workflowRuns.runId, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** JSON text of the value. */
    value: text('value').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.key] })],
)

/** Events delivered to a run (`engine.sendEvent`), once per name, kept until the run is deleted. */
export const workflowEvents = sqliteTable(
  'workflow_events',
  {
    runId: text('run_id')
      .notNull()
      .references(() => workflowRuns.runId, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** JSON text of the payload. */
    payload: text('payload').notNull(),
    receivedAt: integer('received_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.name] })],
)

/** One row per scheduled workflow that was ever paused or fired: what every engine shares about its schedule. */
export const workflowSchedules = sqliteTable('workflow_schedules', {
  workflowId: text('workflow_id').primaryKey(),
  /** 1 while paused. */
  paused: integer('paused', { mode: 'boolean' }).notNull(),
  /** The newest tick fired (epoch ms); NULL before the first. Only ever moves forward. */
  lastTickAt: integer('last_tick_at'),
  updatedAt: integer('updated_at').notNull(),
})

/**
 * One row per (run, tag), written in the run's creating batch (tags never change), so `listRuns` with tags walks
 * this table's primary key, newest first, instead of reading every run. Deleted with the run.
 */
export const runTags = sqliteTable(
  'run_tags',
  {
    tagKey: text('tag_key').notNull(),
    tagValue: text('tag_value').notNull(),
    createdAt: integer('created_at').notNull(),
    runId: text('run_id')
      .notNull()
      .references(() => workflowRuns.runId, { onDelete: 'cascade' }),
  },
  // The key is the index: one tag's runs, newest first, paged by (created_at, run_id).
  (t) => [
    primaryKey({ columns: [t.tagKey, t.tagValue, t.createdAt, t.runId] }),
    index('run_tags_run_idx').on(t.runId),
  ],
)

export type WorkflowRunRow = typeof workflowRuns.$inferSelect
export type StepExecutionRow = typeof stepExecutions.$inferSelect
