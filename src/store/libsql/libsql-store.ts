/**
 * @module
 * {@link WorkflowStore} on LibSQL / SQLite through Drizzle: an embedded file in Node, Turso (or the local
 * endpoint of `scripts/libsql-server/`) over HTTP at the edge. This file imports no client build and no
 * Node module, so Workers can bundle it; the entries choose the client (see `create-libsql-store.ts` and
 * `remote-libsql-store.ts`).
 *
 * Round trips. Every method is one statement or one `db.batch([...])`, which `@libsql/client` sends as one
 * HTTP request (an interactive `transaction()` would cost one request per statement). A batch runs as one
 * SQLite transaction, so its statements see one consistent state and are applied all or nothing.
 *
 * Fencing without an interactive transaction. A batch cannot branch on what an earlier statement returned,
 * so every statement of a fenced write carries the fence in its own WHERE clause: the step upserts are
 * `INSERT … SELECT <values> FROM workflow_runs WHERE <fence>`, and the run update is `UPDATE … WHERE <fence>`.
 * Statements that touch child tables come first and never change the columns the fence reads, so all of them
 * see the same fence outcome; the run update goes last, RETURNING the run's status. When the fence fails, every
 * statement writes nothing, the update returns no row, and a second call reads which error to throw (not found,
 * terminal, or lease lost): a failed fence is rare, so every commit saves a statement instead. (SQLite has no
 * `RAISE()` outside triggers, so a failing fence cannot abort the batch itself.)
 *
 * Locking. A batch starts as `BEGIN DEFERRED`; SQLite only waits (busy timeout) for the write lock when the
 * transaction's *first* statement writes. A read followed by a write can fail at once with SQLITE_BUSY under
 * concurrent writers, so every batch that writes starts with a writing statement.
 */
import type { Client, InArgs, InStatement } from '@libsql/client'
import {
  DrizzleQueryError,
  Param,
  Placeholder,
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  inArray,
  is,
  isNotNull,
  isNull,
  lte,
  min,
  notInArray,
  or,
  sql,
} from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { LibSQLDatabase } from 'drizzle-orm/libsql/driver-core'
import { drizzle } from 'drizzle-orm/libsql/web'
import { alias } from 'drizzle-orm/sqlite-core'
import type { SQLiteColumn, SQLiteTable, SQLiteUpdateSetSource } from 'drizzle-orm/sqlite-core'
import { runTags, stepExecutions, workflowEvents, workflowRuns, workflowSchedules, workflowState } from '../../../drizzle/schema'
import {
  EventAlreadyDeliveredError,
  EventNotFoundError,
  GorkflowError,
  LeaseLostError,
  RunAlreadyExistsError,
  RunAlreadyFinishedError,
  RunNotFoundError,
  RunStateConflictError,
  StateNotFoundError,
  StepExecutionNotFoundError,
  StepOutputNotFoundError,
  StoreUnavailableError,
} from '../../core/errors'
import type { PayloadCeiling } from '../../core/limits'
import { TERMINAL_RUN_STATUSES, isTerminalRunStatus } from '../../core/model'
import type { DeliveredEvent, Json, RunRecord, StepExecution, WebhookDelivery } from '../../core/model'
import { decodeCursor, encodeCursor } from '../cursor'
import { DEFAULT_PAGE_SIZE, byExecutionIndex } from '../../core/store'
import { CLAIMABLE_RUN_STATUSES, OPEN_STEP_STATUSES, checkCommitSteps, checkNewRunSteps, checkPageLimit, checkTagFilter } from '../rules'
import type {
  Claim,
  CommitResult,
  CreateRunResult,
  Lease,
  RunCommit,
  RunFilter,
  RunPage,
  RunPatch,
  RunTransition,
  SchedulePatch,
  ScheduleState,
  StoreKind,
  WorkflowStore,
} from '../../core/store'
import {
  decodeJson,
  encodeJson,
  encodeNullable,
  fromDriverRow,
  fromRunRow,
  fromStepRow,
  toRunRow,
  toStepRow,
  webhookDueAt,
} from './mappers'

/** A {@link WorkflowStore} over a Drizzle LibSQL database (any `@libsql/client` build). */
export class LibSQLStore implements WorkflowStore {
  readonly kind: StoreKind = 'libsql'
  readonly payloadCeiling: PayloadCeiling | undefined

  readonly #client: Client
  readonly #db: LibSQLDatabase
  readonly #afterClose: () => Promise<void>
  readonly #healthProblem: () => string | null
  /** Commit statements by {@link commitShape}. */
  readonly #commitTemplates = new Map<string, StatementTemplate[]>()
  /** createRun statements by shape: 2 × steps, + 1 with an idempotency key. */
  readonly #createTemplates: StatementTemplate[][] = []

  /**
   * Takes a ready client; the entry chooses its build (`@libsql/client/web` on Workers, the store's `FileClient`
   * for `file:` URLs). The store owns the client from then on and closes it in {@link close}, which also awaits
   * `afterClose` (what the client's close started, such as a thread ending). `healthProblem` answers
   * {@link healthProblem}. `payloadCeiling` is what the database behind the client can hold (README "Limits").
   */
  constructor(
    client: Client,
    afterClose: () => Promise<void> = async () => {},
    healthProblem: () => string | null = () => null,
    payloadCeiling?: PayloadCeiling,
  ) {
    this.payloadCeiling = payloadCeiling
    this.#client = client
    this.#db = drizzle(client)
    this.#afterClose = afterClose
    this.#healthProblem = healthProblem
  }

  /** The Drizzle database over the same client, for callers that run their own queries on these tables. */
  get db(): LibSQLDatabase {
    return this.#db
  }

  async createRun(run: RunRecord, steps: readonly StepExecution[] = []): Promise<CreateRunResult> {
    return this.#guard('createRun', async () => {
      checkNewRunSteps(run, steps)
      const keyed = run.idempotencyKey !== null
      // Built once per shape, like commits (see `commit`); only the arguments vary.
      const template = this.#createTemplate(keyed, steps.length)
      const values: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(toRunRow(run))) values[`r.${key}`] = value ?? null
      steps.forEach((step, i) => {
        for (const [key, value] of Object.entries(toStepRow(step))) values[`s${i}.${key}`] = value ?? null
      })
      const [created, existing] = await this.#client.batch(template.map((statement) => bindTemplate(statement, values)))
      if (created?.rows.length === 1) return { run: structuredClone(run), created: true }
      const previous = keyed ? existing?.rows[0] : undefined
      if (previous === undefined) throw new RunAlreadyExistsError(run.runId)
      return { run: fromRunRow(fromDriverRow(workflowRuns, previous)), created: false }
    })
  }

  async getRun(runId: string): Promise<RunRecord> {
    return this.#guard('getRun', async () => {
      const rows = await this.#db.select().from(workflowRuns).where(eq(workflowRuns.runId, runId))
      const row = rows[0]
      if (row === undefined) throw new RunNotFoundError(runId)
      return fromRunRow(row)
    })
  }

  async listRuns(filter: RunFilter = {}): Promise<RunPage> {
    return this.#guard('listRuns', async () => {
      const limit = checkPageLimit(filter.limit ?? DEFAULT_PAGE_SIZE)
      const after = filter.cursor == null ? null : decodeCursor(filter.cursor)
      const tags = checkTagFilter(filter.tags)
      if (tags.length > 0) return this.#listRunsByTags(tags, filter, limit, after)
      const conditions: SQL[] = []
      if (filter.workflowId !== undefined) conditions.push(eq(workflowRuns.workflowId, filter.workflowId))
      if (filter.status !== undefined) conditions.push(eq(workflowRuns.status, filter.status))
      if (filter.resourceId !== undefined) conditions.push(eq(workflowRuns.resourceId, filter.resourceId))
      if (after !== null) {
        // Keyset paging on (created_at, run_id): stable while runs are inserted between pages.
        conditions.push(sql`(${workflowRuns.createdAt}, ${workflowRuns.runId}) < (${after.createdAt}, ${after.runId})`)
      }
      // One extra row tells whether a next page exists without a COUNT.
      const rows = await this.#db
        .select()
        .from(workflowRuns)
        .where(and(...conditions))
        .orderBy(desc(workflowRuns.createdAt), desc(workflowRuns.runId))
        .limit(limit + 1)
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      const more = rows.length > limit && last !== undefined
      const nextCursor = more ? encodeCursor({ createdAt: last.createdAt, runId: last.runId }) : null
      return { runs: page.map(fromRunRow), nextCursor }
    })
  }

  /**
   * Runs carrying every tag: walks the first tag's rows in run_tags' primary key, newest first, and checks each
   * further tag by a primary-key lookup on the same (created_at, run_id); other filters apply to the joined run.
   * Cost: the rows of the first tag down to the page's end, never the whole runs table.
   */
  async #listRunsByTags(
    tags: readonly (readonly [string, string])[],
    filter: RunFilter,
    limit: number,
    after: { createdAt: number; runId: string } | null,
  ): Promise<RunPage> {
    const [first, ...rest] = tags as [readonly [string, string], ...(readonly [string, string])[]]
    const conditions: SQL[] = [eq(runTags.tagKey, first[0]), eq(runTags.tagValue, first[1])]
    rest.forEach(([key, value], i) => {
      const t = sql.identifier(`t${i + 1}`)
      const column = (c: SQLiteColumn) => sql`${t}.${sql.identifier(c.name)}`
      conditions.push(sql`EXISTS (SELECT 1 FROM ${runTags} AS ${t} WHERE ${column(runTags.tagKey)} = ${key}
        AND ${column(runTags.tagValue)} = ${value} AND ${column(runTags.createdAt)} = ${runTags.createdAt}
        AND ${column(runTags.runId)} = ${runTags.runId})`)
    })
    if (filter.workflowId !== undefined) conditions.push(eq(workflowRuns.workflowId, filter.workflowId))
    if (filter.status !== undefined) conditions.push(eq(workflowRuns.status, filter.status))
    if (filter.resourceId !== undefined) conditions.push(eq(workflowRuns.resourceId, filter.resourceId))
    if (after !== null) {
      conditions.push(sql`(${runTags.createdAt}, ${runTags.runId}) < (${after.createdAt}, ${after.runId})`)
    }
    const rows = await this.#db
      .select({ run: workflowRuns })
      .from(runTags)
      .innerJoin(workflowRuns, eq(workflowRuns.runId, runTags.runId))
      .where(and(...conditions))
      .orderBy(desc(runTags.createdAt), desc(runTags.runId))
      .limit(limit + 1)
    const page = rows.slice(0, limit).map((row) => row.run)
    const last = page.at(-1)
    const more = rows.length > limit && last !== undefined
    const nextCursor = more ? encodeCursor({ createdAt: last.createdAt, runId: last.runId }) : null
    return { runs: page.map(fromRunRow), nextCursor }
  }

  async claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<Claim | null> {
    return this.#guard('claimRun', async () => {
      const expiresAt = now + leaseMs
      const [claimed, steps, existing] = await this.#db.batch([
        this.#db
          .update(workflowRuns)
          .set({
            leaseOwner: owner,
            leaseExpiresAt: expiresAt,
            dueAt: sql`max(${expiresAt}, coalesce(${workflowRuns.wakeAt}, 0))`,
          })
          .where(
            and(
              eq(workflowRuns.runId, runId),
              claimableBy(owner, now),
              concurrencySlotFree(now),
            ),
          )
          .returning(),
        this.#db.select().from(stepExecutions).where(eq(stepExecutions.runId, runId)),
        this.#db.select({ runId: workflowRuns.runId }).from(workflowRuns).where(eq(workflowRuns.runId, runId)),
      ])
      const row = claimed[0]
      if (row === undefined) {
        if (existing.length === 0) throw new RunNotFoundError(runId)
        return null
      }
      return {
        lease: { runId, owner, expiresAt },
        run: fromRunRow(row),
        steps: steps.map(fromStepRow).sort(byExecutionIndex),
      }
    })
  }

  async commit(lease: Lease, commit: RunCommit): Promise<CommitResult> {
    return this.#guard('commit', async () => {
      const { runId, owner } = lease
      checkCommitSteps(runId, commit.steps)
      // Every step boundary of every run is a commit, and building its SQL with Drizzle each time was 80 % of
      // this store's own CPU (drizzle's `is()` alone 34 %). The SQL of a shape is built once and only its
      // arguments are bound per call: engine + store over a no-op client went from 6.4–7.2 to 0.6–0.7 ms of
      // CPU per W1 run, W1 on a file from 26–42 to 17–22 ms CPU (both on a busy 2-core machine; npm run bench).
      const keep = keepsLease(lease, commit)
      const shape = commitShape(commit, keep)
      let template = this.#commitTemplates.get(shape)
      if (template === undefined) {
        template = this.#commitTemplate(commit, keep)
        if (this.#commitTemplates.size < MAX_COMMIT_TEMPLATES) this.#commitTemplates.set(shape, template)
      }
      const values = commitValues(lease, commit)
      const results = await this.#client.batch(template.map((statement) => bindTemplate(statement, values)))
      // The run update, RETURNING its status, is the last statement; it returns nothing when the fence failed,
      // which is rare enough to be told apart by a second read rather than by a status read in every commit.
      const after = results[results.length - 1]?.rows[0]
      if (after === undefined) {
        const [current] = await this.#db
          .select({ status: workflowRuns.status })
          .from(workflowRuns)
          .where(eq(workflowRuns.runId, runId))
        throw fenceError(runId, current?.status)
      }
      // Raw rows from the client: keyed by column name.
      const requested = commit.run.wakeAt
      return {
        lease: { runId, owner, expiresAt: commit.leaseExpiresAt ?? lease.expiresAt },
        status: after['status'] as RunRecord['status'],
        awaitedEventDelivered:
          requested !== undefined && requested !== null && requested > commit.now && Number(after['wake_at']) === commit.now,
      }
    })
  }

  /**
   * createRun's statements: the run's insert, with an idempotency key the read of the run that holds it, then
   * the steps'. Placeholders `r.<key>` (the run's row) and `s<i>.<key>` (step i's).
   */
  #createTemplate(keyed: boolean, steps: number): StatementTemplate[] {
    const shape = steps * 2 + (keyed ? 1 : 0)
    let template = this.#createTemplates[shape]
    if (template === undefined) {
      // DO NOTHING covers both the primary key and the (workflow_id, idempotency_key) index, so concurrent
      // duplicates never surface as constraint errors; what happened is read from the results instead.
      const queries: { toSQL(): { sql: string; params: unknown[] } }[] = [
        this.#db
          .insert(workflowRuns)
          .values(placeholderRow(workflowRuns, 'r.') as typeof workflowRuns.$inferInsert)
          .onConflictDoNothing()
          .returning({ runId: workflowRuns.runId }),
      ]
      if (keyed) {
        const sameKey = and(
          eq(workflowRuns.workflowId, sql.placeholder('r.workflowId')),
          eq(workflowRuns.idempotencyKey, sql.placeholder('r.idempotencyKey')),
        )
        queries.push(this.#db.select().from(workflowRuns).where(sameKey))
      }
      // The steps go in only beside the row this batch inserted: same id, creation instant and lease owner (a
      // run already under this id, or no new row at all after an idempotent duplicate, yields no row).
      const inserted = sql`${workflowRuns} WHERE ${workflowRuns.runId} = ${sql.placeholder('r.runId')}
        AND ${workflowRuns.createdAt} = ${sql.placeholder('r.createdAt')}
        AND ${workflowRuns.leaseOwner} IS ${sql.placeholder('r.leaseOwner')}`
      const key = [stepExecutions.runId, stepExecutions.stepId]
      for (let i = 0; i < steps; i++) {
        queries.push(this.#fencedUpsert(stepExecutions, placeholderRow(stepExecutions, `s${i}.`), inserted, key, 'nothing'))
      }
      // The tag index rows, from the inserted row's own tags (json_each), so one statement serves any number of tags.
      queries.push(
        this.#db
          .insert(runTags)
          .select(
            sql`SELECT j.key, j.value, ${workflowRuns.createdAt}, ${workflowRuns.runId}
              FROM ${workflowRuns}, json_each(${workflowRuns.tags}) AS j
              WHERE ${workflowRuns.runId} = ${sql.placeholder('r.runId')}
              AND ${workflowRuns.createdAt} = ${sql.placeholder('r.createdAt')}
              AND ${workflowRuns.leaseOwner} IS ${sql.placeholder('r.leaseOwner')}`,
          )
          .onConflictDoNothing(),
      )
      template = queries.map((query) => toTemplate(query.toSQL()))
      if (shape < MAX_CREATE_TEMPLATES) this.#createTemplates[shape] = template
    }
    return template
  }

  /**
   * The statements of a commit of this shape, with a placeholder wherever {@link commitValues} supplies a value.
   * Writes to child tables come first and never change the columns the fence reads, so all of them see the same
   * fence outcome; the run update goes last.
   */
  #commitTemplate(commit: RunCommit, keepLease: boolean): StatementTemplate[] {
    const fence = and(
      eq(workflowRuns.runId, sql.placeholder('runId')),
      eq(workflowRuns.leaseOwner, sql.placeholder('owner')),
      notInArray(workflowRuns.status, [...TERMINAL_RUN_STATUSES]),
    ) as SQL
    const fenced = sql`${workflowRuns} WHERE ${fence}`
    const queries: { toSQL(): { sql: string; params: unknown[] } }[] = []
    commit.steps.forEach((_, i) => {
      const key = [stepExecutions.runId, stepExecutions.stepId]
      queries.push(this.#fencedUpsert(stepExecutions, placeholderRow(stepExecutions, `s${i}.`), fenced, key))
    })

    const patch = commit.run
    const value = (name: keyof RunPatch) => sql.placeholder(`run.${name}`)
    // RUNNING only starts a PENDING run: an operator's pause that came meanwhile stands (SET sees old values).
    const newStatus =
      patch.status === undefined
        ? undefined
        : patch.status === 'RUNNING'
          ? sql`CASE WHEN ${workflowRuns.status} = 'PENDING' THEN 'RUNNING' ELSE ${workflowRuns.status} END`
          : sql`${value('status')}`
    const status = newStatus ?? sql`${workflowRuns.status}`
    const requestedWake = patch.wakeAt === undefined ? sql`${workflowRuns.wakeAt}` : sql`${value('wakeAt')}`
    // The run's waitingFor as this commit leaves it. When it is an event already delivered, a later wakeAt becomes
    // now, decided in this statement on the state it writes over: a delivery just before this commit saw no wait
    // to wake (see the port's rules). SET sees the old row, so an unpatched column is its current value.
    const waiting = patch.waitingFor === undefined ? sql`${workflowRuns.waitingFor}` : sql`${value('waitingFor')}`
    const now = sql.placeholder('now')
    const awaitedDelivered = sql`json_extract(${waiting}, '$.kind') IN ('event', 'child') AND EXISTS (SELECT 1 FROM ${workflowEvents}
      WHERE ${workflowEvents.runId} = ${sql.placeholder('runId')} AND ${workflowEvents.name} = json_extract(${waiting}, '$.name'))`
    const touchesWait = patch.wakeAt !== undefined || patch.waitingFor !== undefined
    const wakeAt = touchesWait
      ? sql`CASE WHEN ${requestedWake} > ${now} AND ${awaitedDelivered} THEN ${now} ELSE ${requestedWake} END`
      : requestedWake
    const leaseExpiresAt = sql.placeholder('leaseExpiresAt')
    // Kept lease: the owner, expiry and due_at (whose other inputs, status and wake_at, this shape leaves alone)
    // stay as they are; not naming them spares the due index a write.
    const lease = keepLease
      ? {}
      : {
          leaseOwner: sql.placeholder('leaseOwner'),
          leaseExpiresAt,
          dueAt: dueAtSql(status, sql`${leaseExpiresAt}`, wakeAt),
        }
    const set: Record<string, unknown> = {
      ...(newStatus === undefined ? {} : { status: newStatus }),
      updatedAt: sql.placeholder('now'),
      ...lease,
    }
    for (const field of PATCH_VALUE_FIELDS) if (patch[field] !== undefined) set[field] = value(field)
    if (touchesWait) set['wakeAt'] = wakeAt
    queries.push(
      this.#db
        .update(workflowRuns)
        .set(set as SQLiteUpdateSetSource<typeof workflowRuns>)
        .where(fence)
        .returning({ status: workflowRuns.status, wakeAt: workflowRuns.wakeAt }),
    )
    return queries.map((query) => toTemplate(query.toSQL()))
  }

  async listDueRuns(now: number, limit: number): Promise<string[]> {
    return this.#guard('listDueRuns', async () => {
      checkPageLimit(limit)
      // Served by the partial index workflow_runs_due_idx (due_at, created_at, run_id) WHERE due_at IS NOT NULL.
      // `due_at <= now` is isClaimable(run, null, now) of ../rules.ts: due_at is set only in a claimable status,
      // to dueTime() (see dueAtSql).
      const rows = await this.#db
        .select({ runId: workflowRuns.runId })
        .from(workflowRuns)
        .where(and(isNotNull(workflowRuns.dueAt), lte(workflowRuns.dueAt, now)))
        .orderBy(asc(workflowRuns.dueAt), asc(workflowRuns.createdAt), asc(workflowRuns.runId))
        .limit(limit)
      return rows.map((row) => row.runId)
    })
  }

  async nextDueAt(): Promise<number | null> {
    return this.#guard('nextDueAt', async () => {
      // min() over the partial index workflow_runs_due_idx: SQLite reads its first entry, no scan. due_at is the
      // instant listDueRuns starts listing the run (see there).
      const [row] = await this.#db
        .select({ next: min(workflowRuns.dueAt) })
        .from(workflowRuns)
        .where(isNotNull(workflowRuns.dueAt))
      return row?.next ?? null
    })
  }

  async listDueWebhooks(now: number, limit: number): Promise<string[]> {
    return this.#guard('listDueWebhooks', async () => {
      checkPageLimit(limit)
      // INDEXED BY, as in deleteFinishedRuns: with an IN on status the planner would take workflow_runs_status_created_idx
      // and sort every terminal run; the partial index holds only terminal runs with a webhook to send, in due order.
      // Its condition is literal SQL so SQLite can prove it.
      const rows = await this.#db.all<{ runId: string }>(sql`SELECT ${workflowRuns.runId} AS runId FROM ${workflowRuns}
        INDEXED BY workflow_runs_webhook_due_idx
        WHERE ${workflowRuns.webhookDueAt} IS NOT NULL AND ${workflowRuns.status} IN ('COMPLETED', 'FAILED', 'CANCELLED')
          AND ${workflowRuns.webhookDueAt} <= ${now}
        ORDER BY ${workflowRuns.webhookDueAt}, ${workflowRuns.runId} LIMIT ${limit}`)
      return rows.map((row) => row.runId)
    })
  }

  async recordWebhookAttempt(runId: string, expectedAttempts: number, next: WebhookDelivery): Promise<boolean> {
    return this.#guard('recordWebhookAttempt', async () => {
      const [updated, existing] = await this.#db.batch([
        this.#db
          .update(workflowRuns)
          .set({ webhook: encodeNullable(next), webhookDueAt: webhookDueAt(next) })
          .where(
            and(
              eq(workflowRuns.runId, runId),
              sql`json_extract(${workflowRuns.webhook}, '$.attempts') = ${expectedAttempts}`,
            ),
          )
          .returning({ runId: workflowRuns.runId }),
        this.#db.select({ runId: workflowRuns.runId }).from(workflowRuns).where(eq(workflowRuns.runId, runId)),
      ])
      if (existing.length === 0) throw new RunNotFoundError(runId)
      return updated.length > 0
    })
  }

  async cancelRun(runId: string, now: number): Promise<RunRecord> {
    return this.#guard('cancelRun', async () => {
      const open = and(eq(workflowRuns.runId, runId), notInArray(workflowRuns.status, [...TERMINAL_RUN_STATUSES]))
      const [, cancelled, current] = await this.#db.batch([
        // Steps first, conditioned on the run still being open: the run update below changes that condition.
        this.#db
          .update(stepExecutions)
          .set({ status: 'CANCELLED', completedAt: now, updatedAt: now })
          .where(
            and(
              eq(stepExecutions.runId, runId),
              inArray(stepExecutions.status, [...OPEN_STEP_STATUSES]),
              sql`EXISTS (SELECT 1 FROM ${workflowRuns} WHERE ${open})`,
            ),
          ),
        this.#db
          .update(workflowRuns)
          .set({
            status: 'CANCELLED',
            cancelRequestedAt: now,
            completedAt: now,
            updatedAt: now,
            leaseOwner: null,
            leaseExpiresAt: null,
            dueAt: null,
          })
          .where(open)
          .returning(),
        this.#db.select({ status: workflowRuns.status }).from(workflowRuns).where(eq(workflowRuns.runId, runId)),
      ])
      const row = cancelled[0]
      if (row === undefined) throw fenceError(runId, current[0]?.status)
      return fromRunRow(row)
    })
  }

  async transitionRun(runId: string, transition: RunTransition): Promise<RunRecord> {
    return this.#guard('transitionRun', async () => {
      const to = sql`${transition.to}`
      const [moved, current] = await this.#db.batch([
        this.#db
          .update(workflowRuns)
          .set({ status: transition.to, updatedAt: transition.now, dueAt: dueAtSql(to, undefined, undefined) })
          .where(
            and(
              eq(workflowRuns.runId, runId),
              inArray(workflowRuns.status, [...transition.from]),
              notInArray(workflowRuns.status, [...TERMINAL_RUN_STATUSES]),
            ),
          )
          .returning(),
        this.#db.select({ status: workflowRuns.status }).from(workflowRuns).where(eq(workflowRuns.runId, runId)),
      ])
      const row = moved[0]
      if (row !== undefined) return fromRunRow(row)
      const status = current[0]?.status
      if (status === undefined || isTerminalRunStatus(status)) throw fenceError(runId, status)
      throw new RunStateConflictError(runId, status, `run ${runId} is ${status}, not ${transition.from.join(' or ')}`)
    })
  }

  async deliverEvent(runId: string, name: string, payload: Json, now: number): Promise<RunRecord> {
    return this.#guard('deliverEvent', async () => {
      const open = and(eq(workflowRuns.runId, runId), notInArray(workflowRuns.status, [...TERMINAL_RUN_STATUSES]))
      const notDelivered = sql`NOT EXISTS (SELECT 1 FROM ${workflowEvents}
        WHERE ${workflowEvents.runId} = ${runId} AND ${workflowEvents.name} = ${name})`
      const [, recorded, current] = await this.#db.batch([
        // The wake-up first, on the state before the event is recorded: it applies only to a first delivery
        // of the event the run waits for. Neither statement changes what the other's condition reads.
        this.#db
          .update(workflowRuns)
          .set({ wakeAt: now, updatedAt: now, dueAt: dueAtSql(sql`${workflowRuns.status}`, undefined, sql`${now}`) })
          .where(
            and(
              open,
              sql`json_extract(${workflowRuns.waitingFor}, '$.kind') IN ('event', 'child')`,
              sql`json_extract(${workflowRuns.waitingFor}, '$.name') = ${name}`,
              notDelivered,
            ),
          ),
        this.#fencedUpsert(
          workflowEvents,
          { runId, name, payload: encodeJson(payload), receivedAt: now },
          sql`${workflowRuns} WHERE ${open}`,
          [workflowEvents.runId, workflowEvents.name],
          'nothing',
        ).returning({ name: workflowEvents.name }),
        this.#db.select().from(workflowRuns).where(eq(workflowRuns.runId, runId)),
      ])
      const run = current[0]
      if (run === undefined) throw new RunNotFoundError(runId)
      if (isTerminalRunStatus(run.status)) throw new RunAlreadyFinishedError(runId, run.status)
      if (recorded.length === 0) throw new EventAlreadyDeliveredError(runId, name)
      return fromRunRow(run)
    })
  }

  async loadEvent(runId: string, name: string): Promise<DeliveredEvent> {
    return this.#guard('loadEvent', async () => {
      const rows = await this.#db
        .select()
        .from(workflowEvents)
        .where(and(eq(workflowEvents.runId, runId), eq(workflowEvents.name, name)))
      const row = rows[0]
      if (row === undefined) throw new EventNotFoundError(runId, name)
      return { name: row.name, payload: decodeJson(row.payload), receivedAt: row.receivedAt }
    })
  }

  async linkRetry(runId: string, retriedBy: string, now: number): Promise<RunRecord> {
    return this.#guard('linkRetry', async () => {
      const [linked, current] = await this.#db.batch([
        this.#db
          .update(workflowRuns)
          .set({ retriedBy, updatedAt: now })
          .where(and(eq(workflowRuns.runId, runId), isNull(workflowRuns.retriedBy)))
          .returning(),
        this.#db
          .select({ status: workflowRuns.status, retriedBy: workflowRuns.retriedBy })
          .from(workflowRuns)
          .where(eq(workflowRuns.runId, runId)),
      ])
      const row = linked[0]
      if (row !== undefined) return fromRunRow(row)
      const existing = current[0]
      if (existing === undefined) throw new RunNotFoundError(runId)
      throw new RunStateConflictError(
        runId,
        existing.status,
        `run ${runId} was already retried by ${existing.retriedBy ?? 'another run'}`,
      )
    })
  }

  async getStepExecution(runId: string, stepId: string): Promise<StepExecution> {
    return this.#guard('getStepExecution', async () => {
      const rows = await this.#db
        .select()
        .from(stepExecutions)
        .where(and(eq(stepExecutions.runId, runId), eq(stepExecutions.stepId, stepId)))
      const row = rows[0]
      if (row === undefined) throw new StepExecutionNotFoundError(runId, stepId)
      return fromStepRow(row)
    })
  }

  async listStepExecutions(runId: string): Promise<StepExecution[]> {
    return this.#guard('listStepExecutions', async () => {
      const rows = await this.#db
        .select()
        .from(stepExecutions)
        .where(eq(stepExecutions.runId, runId))
      return rows.map(fromStepRow).sort(byExecutionIndex)
    })
  }

  async loadStepOutput(runId: string, stepId: string): Promise<Json> {
    return this.#guard('loadStepOutput', async () => {
      // The output lives in the step's row (written with it, so never stale); only finished steps have one.
      const rows = await this.#db
        .select({ output: stepExecutions.output })
        .from(stepExecutions)
        .where(
          and(
            eq(stepExecutions.runId, runId),
            eq(stepExecutions.stepId, stepId),
            inArray(stepExecutions.status, ['COMPLETED', 'SKIPPED']),
          ),
        )
      const row = rows[0]
      if (row === undefined) throw new StepOutputNotFoundError(runId, stepId)
      return decodeJson(row.output)
    })
  }

  /** @throws RunNotFoundError for an unknown run: state always belongs to a stored run. */
  async saveState(runId: string, key: string, value: Json, now: number): Promise<void> {
    return this.#guard('saveState', async () => {
      const row = { runId, key, value: encodeJson(value), updatedAt: now }
      const saved = await this.#fencedUpsert(
        workflowState,
        row,
        sql`${workflowRuns} WHERE ${eq(workflowRuns.runId, runId)}`,
        [workflowState.runId, workflowState.key],
      ).returning({ key: workflowState.key })
      if (saved.length === 0) throw new RunNotFoundError(runId)
    })
  }

  async loadState(runId: string, key: string): Promise<Json> {
    return this.#guard('loadState', async () => {
      const rows = await this.#db
        .select({ value: workflowState.value })
        .from(workflowState)
        .where(and(eq(workflowState.runId, runId), eq(workflowState.key, key)))
      const row = rows[0]
      if (row === undefined) throw new StateNotFoundError(runId, key)
      return decodeJson(row.value)
    })
  }

  async getAllState(runId: string): Promise<Record<string, Json>> {
    return this.#guard('getAllState', async () => {
      const rows = await this.#db
        .select({ key: workflowState.key, value: workflowState.value })
        .from(workflowState)
        .where(eq(workflowState.runId, runId))
      const state: Record<string, Json> = {}
      for (const row of rows) state[row.key] = decodeJson(row.value)
      return state
    })
  }

  async deleteState(runId: string, key: string): Promise<void> {
    return this.#guard('deleteState', async () => {
      await this.#db.delete(workflowState).where(and(eq(workflowState.runId, runId), eq(workflowState.key, key)))
    })
  }

  async deleteRun(runId: string): Promise<void> {
    return this.#guard('deleteRun', async () => {
      // The foreign keys cascade when `PRAGMA foreign_keys` is on (libSQL's default); the explicit deletes make
      // the result independent of that per-connection setting.
      const [deleted] = await this.#db.batch([
        this.#db.delete(workflowRuns).where(eq(workflowRuns.runId, runId)).returning({ runId: workflowRuns.runId }),
        this.#db.delete(stepExecutions).where(eq(stepExecutions.runId, runId)),
        this.#db.delete(workflowState).where(eq(workflowState.runId, runId)),
        this.#db.delete(workflowEvents).where(eq(workflowEvents.runId, runId)),
        this.#db.delete(runTags).where(eq(runTags.runId, runId)),
      ])
      if (deleted.length === 0) throw new RunNotFoundError(runId)
    })
  }

  async deleteFinishedRuns(before: number, limit: number): Promise<number> {
    return this.#guard('deleteFinishedRuns', async () => {
      checkPageLimit(limit)
      // The same deterministic selection (ORDER BY completed_at, run_id) in every statement of one
      // transaction names the same runs; the runs themselves go last, so it cannot change in between.
      // INDEXED BY: with an IN on status the planner prefers workflow_runs_status_created_idx and then sorts
      // every expired run; the partial retention index yields them oldest first and stops at the LIMIT.
      // The status list is literal SQL so SQLite can prove the partial index's WHERE.
      const doomed = sql`(SELECT ${workflowRuns.runId} FROM ${workflowRuns} INDEXED BY workflow_runs_retention_idx
        WHERE ${workflowRuns.status} IN ('COMPLETED', 'FAILED', 'CANCELLED') AND ${workflowRuns.completedAt} < ${before}
        ORDER BY ${workflowRuns.completedAt}, ${workflowRuns.runId} LIMIT ${limit})`
      const [, , , , deleted] = await this.#db.batch([
        this.#db.delete(runTags).where(inArray(runTags.runId, doomed)),
        this.#db.delete(stepExecutions).where(inArray(stepExecutions.runId, doomed)),
        this.#db.delete(workflowState).where(inArray(workflowState.runId, doomed)),
        this.#db.delete(workflowEvents).where(inArray(workflowEvents.runId, doomed)),
        this.#db
          .delete(workflowRuns)
          .where(inArray(workflowRuns.runId, doomed))
          .returning({ runId: workflowRuns.runId }),
      ])
      return deleted.length
    })
  }

  async listScheduleStates(): Promise<ScheduleState[]> {
    return this.#guard('listScheduleStates', async () => {
      const rows = await this.#db.select().from(workflowSchedules).orderBy(asc(workflowSchedules.workflowId))
      return rows.map((row) => ({ ...row }))
    })
  }

  async updateScheduleState(workflowId: string, patch: SchedulePatch, now: number): Promise<ScheduleState> {
    return this.#guard('updateScheduleState', async () => {
      const tick = patch.lastTickAt ?? null
      const rows = await this.#db
        .insert(workflowSchedules)
        .values({ workflowId, paused: patch.paused ?? false, lastTickAt: tick, updatedAt: now })
        .onConflictDoUpdate({
          target: workflowSchedules.workflowId,
          set: {
            ...(patch.paused === undefined ? {} : { paused: patch.paused }),
            // The newest fired tick never moves back, whichever engine writes last.
            ...(tick === null
              ? {}
              : { lastTickAt: sql`max(coalesce(${workflowSchedules.lastTickAt}, ${tick}), ${tick})` }),
            updatedAt: now,
          },
        })
        .returning()
      return { ...(rows[0] as ScheduleState) }
    })
  }

  async close(): Promise<void> {
    this.#client.close()
    await this.#afterClose()
  }

  /** What the `file:` database's watch (file-identity.ts) found wrong, or null; always null for remote ones. */
  healthProblem(): string | null {
    return this.#healthProblem()
  }

  /**
   * `INSERT INTO table SELECT <row values> FROM <source> ON CONFLICT (target) DO UPDATE SET <every column>`:
   * writes the row only when `source` (e.g. `workflow_runs WHERE <fence>`) yields a row.
   */
  #fencedUpsert<T extends SQLiteTable>(
    table: T,
    row: Record<string, unknown>,
    source: SQL,
    target: SQLiteColumn[],
    onConflict: 'update' | 'nothing' = 'update',
  ) {
    const columns = Object.entries(getTableColumns(table))
    const values = sql.join(
      columns.map(([key, column]) => sql.param(row[key] ?? null, column)),
      sql`, `,
    )
    const targetNames = new Set(target.map((column) => column.name))
    const set = Object.fromEntries(
      columns
        .filter(([, column]) => !targetNames.has(column.name))
        .map(([key, column]) => [key, sql.raw(`excluded.${quoteIdentifier(column.name)}`)]),
    ) as SQLiteUpdateSetSource<T>
    const insert = this.#db.insert(table).select(sql`SELECT ${values} FROM ${source}`)
    if (onConflict === 'nothing') return insert.onConflictDoNothing({ target })
    return insert.onConflictDoUpdate({ target, set })
  }

  /** Runs one store operation; our errors pass through, anything from the driver becomes STORE_UNAVAILABLE. */
  async #guard<T>(operation: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body()
    } catch (err) {
      if (err instanceof GorkflowError) throw err
      const described = describeDriverError(err)
      // The database refused a value or row for its size (sqld: over 5,000,000 bytes): no retry would fit it.
      if (TOO_BIG.test(described)) {
        throw new GorkflowError('PAYLOAD_TOO_LARGE', `libsql store: ${operation} refused: ${described}`, { cause: err })
      }
      throw new StoreUnavailableError(`libsql store: ${operation} failed: ${described}`, { cause: err })
    }
  }
}

/** SQLite's SQLITE_TOOBIG, as the embedded engine and sqld word it. */
const TOO_BIG = /SQLITE_TOOBIG|string or blob too big/

/**
 * Shapes of commits whose SQL is kept: a workflow produces a handful (steps finished and started per boundary,
 * which run fields change), so the limit only guards against a caller that makes a new shape every time.
 */
const MAX_COMMIT_TEMPLATES = 256
/** createRun shapes kept (a workflow's entry steps are usually one or a few; see #createTemplate). */
const MAX_CREATE_TEMPLATES = 128

/** Run fields a commit sets from a value when present (status has its own rule). */
const PATCH_VALUE_FIELDS = ['progress', 'output', 'error', 'startedAt', 'completedAt', 'wakeAt', 'waitingFor'] as const

/** A statement built once: its SQL, and for each argument the placeholder it comes from or a constant. */
interface StatementTemplate {
  readonly sql: string
  readonly args: readonly TemplateArg[]
}

type TemplateArg =
  | { readonly name: string; readonly encode: (value: unknown) => unknown }
  | { readonly constant: unknown }

/**
 * Whether the commit leaves the run's lease columns and due_at as they are: it keeps the lease's expiry (see
 * {@link RunCommit.leaseExpiresAt}) and changes neither status nor wake time, the other inputs of due_at, nor
 * waitingFor (which can move the wake time to now).
 */
function keepsLease(lease: Lease, commit: RunCommit): boolean {
  return (
    commit.leaseExpiresAt !== null &&
    commit.leaseExpiresAt === lease.expiresAt &&
    commit.run.status === undefined &&
    commit.run.wakeAt === undefined &&
    commit.run.waitingFor === undefined
  )
}

/** Everything that changes the SQL of a commit, as a cache key. */
function commitShape(commit: RunCommit, keepLease: boolean): string {
  const status = commit.run.status === undefined ? '-' : commit.run.status === 'RUNNING' ? 'R' : 's'
  let fields = ''
  for (const field of PATCH_VALUE_FIELDS) fields += commit.run[field] === undefined ? '0' : '1'
  return `${commit.steps.length}/${status}/${fields}/${keepLease ? 'k' : 'l'}`
}

/** The value of every placeholder in the template of this commit's shape. */
function commitValues(lease: Lease, commit: RunCommit): Record<string, unknown> {
  const values: Record<string, unknown> = {
    runId: lease.runId,
    owner: lease.owner,
    now: commit.now,
    leaseOwner: commit.leaseExpiresAt === null ? null : lease.owner,
    leaseExpiresAt: commit.leaseExpiresAt,
  }
  commit.steps.forEach((step, i) => {
    const row = toStepRow(step) as Record<string, unknown>
    for (const key of STEP_COLUMN_KEYS) values[`s${i}.${key}`] = row[key] ?? null
  })
  const patch = commit.run
  if (patch.status !== undefined && patch.status !== 'RUNNING') values['run.status'] = patch.status
  if (patch.progress !== undefined) values['run.progress'] = patch.progress
  if (patch.output !== undefined) values['run.output'] = encodeJson(patch.output)
  if (patch.error !== undefined) values['run.error'] = patch.error === null ? null : JSON.stringify(patch.error)
  if (patch.startedAt !== undefined) values['run.startedAt'] = patch.startedAt
  if (patch.completedAt !== undefined) values['run.completedAt'] = patch.completedAt
  if (patch.wakeAt !== undefined) values['run.wakeAt'] = patch.wakeAt
  if (patch.waitingFor !== undefined) values['run.waitingFor'] = encodeNullable(patch.waitingFor)
  return values
}

const STEP_COLUMN_KEYS = Object.keys(getTableColumns(stepExecutions))

/** A row of `table` whose every column is the placeholder `<prefix><key>`. */
function placeholderRow(table: SQLiteTable, prefix: string): Record<string, unknown> {
  const keys = Object.keys(getTableColumns(table))
  return Object.fromEntries(keys.map((key) => [key, sql.placeholder(`${prefix}${key}`)]))
}

/** Records, once, where each argument of a built query comes from. */
function toTemplate(query: { sql: string; params: unknown[] }): StatementTemplate {
  return {
    sql: query.sql,
    args: query.params.map((param) => {
      if (is(param, Placeholder)) return { name: param.name, encode: (value: unknown) => value }
      if (is(param, Param) && is(param.value, Placeholder)) {
        const { encoder } = param
        const encode = (value: unknown) => (value === null ? null : encoder.mapToDriverValue(value))
        return { name: param.value.name, encode }
      }
      return { constant: param }
    }),
  }
}

/** The statement with this call's values bound. */
function bindTemplate(template: StatementTemplate, values: Record<string, unknown>): InStatement {
  const args = template.args.map((arg) => {
    if ('constant' in arg) return arg.constant
    if (!(arg.name in values)) throw new Error(`libsql store: no value for ${arg.name}`)
    return arg.encode(values[arg.name])
  })
  return { sql: template.sql, args: args as InArgs }
}

/**
 * `due_at` for the values a statement writes: NULL unless PENDING or RUNNING, else the later of lease expiry and
 * wake time (NULL counting as 0). Mirrors dueAtOf() in mappers.ts (isClaimableStatus and dueTime of ../rules.ts).
 * Each argument is the new value's SQL; absent ones keep the column, which inside UPDATE … SET is the old value.
 */
function dueAtSql(status: SQL, leaseExpiresAt: SQL | undefined, wakeAt: SQL | undefined): SQL {
  const lease = leaseExpiresAt ?? sql`${workflowRuns.leaseExpiresAt}`
  const wake = wakeAt ?? sql`${workflowRuns.wakeAt}`
  return sql`CASE WHEN ${status} IN ('PENDING', 'RUNNING')
    THEN max(coalesce(${lease}, 0), coalesce(${wake}, 0)) ELSE NULL END`
}

/** isClaimable() of ../rules.ts as a condition on `workflow_runs`: the claiming UPDATE's WHERE. */
function claimableBy(owner: string, now: number): SQL | undefined {
  return and(
    inArray(workflowRuns.status, [...CLAIMABLE_RUN_STATUSES]),
    or(
      isNull(workflowRuns.leaseOwner),
      isNull(workflowRuns.leaseExpiresAt),
      lte(workflowRuns.leaseExpiresAt, now),
      eq(workflowRuns.leaseOwner, owner),
    ),
    or(isNull(workflowRuns.wakeAt), lte(workflowRuns.wakeAt, now)),
  )
}

/** The other runs of the same workflow and resource, inside a statement on `workflow_runs`. */
const peer = alias(workflowRuns, 'peer')
/** `FROM` clause of `peer` (an alias renders only its name in a sql template). */
const peerTable = sql`${workflowRuns} AS ${sql.identifier('peer')}`

/** Whether `run` (the table or its alias) holds a concurrency slot: RUNNING, PAUSED, or PENDING under a live lease. */
function holdsSlot(run: typeof workflowRuns | typeof peer, now: number): SQL {
  return sql`(${run.status} IN ('RUNNING', 'PAUSED')
    OR (${run.status} = 'PENDING' AND ${run.leaseOwner} IS NOT NULL AND coalesce(${run.leaseExpiresAt}, 0) > ${now}))`
}

/**
 * claimRun's per-resource concurrency condition, evaluated inside the claiming UPDATE (so it is atomic with it):
 * a run without a limit or resource, or already holding a slot, passes; otherwise fewer than `concurrency_limit`
 * peers may hold a slot, and no older peer may still be PENDING without one (first come, first served).
 */
function concurrencySlotFree(now: number): SQL {
  const run = workflowRuns
  const samePeer = sql`${peer.workflowId} = ${run.workflowId} AND ${peer.resourceId} = ${run.resourceId}
    AND ${peer.runId} <> ${run.runId}`
  const holders = sql`(SELECT count(*) FROM ${peerTable} WHERE ${samePeer} AND ${holdsSlot(peer, now)})`
  const olderWaiting = sql`EXISTS (SELECT 1 FROM ${peerTable} WHERE ${samePeer} AND ${peer.status} = 'PENDING'
    AND NOT ${holdsSlot(peer, now)} AND (${peer.createdAt}, ${peer.runId}) < (${run.createdAt}, ${run.runId}))`
  const unlimited = sql`${run.concurrencyLimit} IS NULL OR ${run.resourceId} IS NULL`
  return sql`(${unlimited} OR ${holdsSlot(run, now)} OR (${holders} < ${run.concurrencyLimit} AND NOT ${olderWaiting}))`
}

/** The error a fenced write that matched nothing must throw, given the run's current status (or none). */
function fenceError(runId: string, status: RunRecord['status'] | undefined): GorkflowError {
  if (status === undefined) return new RunNotFoundError(runId)
  if (isTerminalRunStatus(status)) return new RunAlreadyFinishedError(runId, status)
  return new LeaseLostError(runId)
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/**
 * The message of the client's own error: Drizzle wraps it in a DrizzleQueryError whose message is the
 * whole query and its parameters, which is both noisy and may carry payload data.
 */
export function describeDriverError(err: unknown): string {
  let current: unknown = err
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (!(current instanceof DrizzleQueryError) || current.cause === undefined) return current.message
    current = current.cause
  }
  return current instanceof Error ? current.message : String(current)
}
