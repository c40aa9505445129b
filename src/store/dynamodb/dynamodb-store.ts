/**
 * @module
 * `WorkflowStore` on Amazon DynamoDB: one table, everything of a run under the run's partition key, sparse GSIs
 * for every listing and for the sweeper's due queue (see `keys.ts` and docs/dynamodb.md). No operation scans.
 *
 * Requests per operation (each is one HTTP round trip unless noted):
 * - createRun: 1 (PutItem; TransactWriteItems with the idempotency guard when a key is set or with the steps of
 *   a run created started); a duplicate idempotent start costs 1 more (GetItem of the existing run).
 * - claimRun: 1 (conditional UpdateItem) for a run that never had a step written; 2 on resume (+ Query of steps).
 *   A run with a concurrency limit that holds no slot yet: the UpdateItem is refused (it needs a slot; the
 *   refusal returns the run), then 1 TransactWriteItems claims run and slot: 2 (+ Query of steps). Refused for a
 *   full slot: 2. When this store already saw the run wait for a slot, it goes straight to the transaction:
 *   1 when refused, 2 when granted (+ GetItem of the run, as the transaction returns none). A run that already
 *   holds its slot: as a run without a limit.
 * - commit: 1 (UpdateItem without steps, TransactWriteItems with them), conditioned on the status this store last
 *   saw the run in (RUNNING when it saw none); + 1 when that was wrong (another store paused or resumed it). A terminal
 *   commit of a slot holder releases the slot in the same TransactWriteItems: 1 when this store claimed the run,
 *   else 2 (the first, without the release, is refused). When the commit ends the run and retention is on:
 *   + 1 Query of the run's items + ⌈children / 100⌉ TransactWriteItems that stamp `ttl`.
 * - cancelRun: 1 conditional UpdateItem + 1 Query, + 1 TransactWriteItems when steps were still open (or when
 *   retention is on, to stamp `ttl`). A slot holder is cancelled by a TransactWriteItems (cancel + release)
 *   followed by a GetItem of the run, after a refused UpdateItem unless this store claimed the run: + 2, or + 1.
 * - transitionRun (pause, resume): 1 conditional UpdateItem (+ 1 when `from` mixes PAUSED with PENDING/RUNNING
 *   and the first guess was wrong).
 * - deliverEvent: 2. A TransactWriteItems puts the event and wakes the run in one write, guessing that the run
 *   waits for it; then 1 GetItem of the woken run. When the run does not wait for it, the refused transaction
 *   returns the run, and a second TransactWriteItems puts the event with a check of the run only. A PAUSED
 *   waiting run: 3.
 * - loadEvent, linkRetry: 1.
 * - listRuns: 1 Query per index partition (4 shards for no filter or a status alone) + 1 BatchGetItem per 100 runs.
 * - listDueRuns: 4 Queries (one per shard, in parallel). nextDueAt: the same, each of a few due-index entries.
 * - listDueWebhooks: 4 Queries of the webhook index (one per shard, in parallel). recordWebhookAttempt: 1 UpdateItem.
 *   A run with a webhook costs no extra request to create or end: its webhook attributes ride on the run item.
 * - listScheduleStates: 1 Query. updateScheduleState: 1 UpdateItem (2 when a later tick is stored already).
 * - getRun, getStepExecution, loadStepOutput, loadState, saveState, deleteState: 1.
 *   listStepExecutions, getAllState: 1 Query per 1 MB page.
 * - deleteRun: 1 Query + ⌈children / 25⌉ BatchWriteItem + 1 DeleteItem (+ 1 for the idempotency guard, + 1 to
 *   release the slot of a run deleted while it held one).
 * - deleteFinishedRuns: 12 Queries (3 terminal statuses × 4 shards, in parallel) + deleteRun per run.
 * Parallel requests cost one round trip of latency; all of them count against a Worker's subrequest limit.
 *
 * This class only checks its options and wires the operations up: each concern is a module of this folder
 * (create-run, claim-run, commit, cancel-run, transition-run, deliver-event, listing, deletion, webhooks; concurrency-slots,
 * idempotency, retention, item-budget, run-hints), all working through table.ts, which hands failed conditions
 * back as results.
 */
import { DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { listScheduleStates, updateScheduleState } from './schedules'
import {
  EventNotFoundError,
  InvalidArgumentError,
  RunNotFoundError,
  RunStateConflictError,
  StateNotFoundError,
  StepExecutionNotFoundError,
  StepOutputNotFoundError,
} from '../../core/errors'
import { ceilingForRecords, type PayloadCeiling } from '../../core/limits'
import type { DeliveredEvent, Json, RunRecord, StepExecution, WebhookDelivery } from '../../core/model'
import {
  byExecutionIndex,
  type Claim,
  type CommitResult,
  type CreateRunResult,
  type Lease,
  type SchedulePatch,
  type ScheduleState,
  type RunCommit,
  type RunFilter,
  type RunPage,
  type RunTransition,
  type WorkflowStore,
} from '../../core/store'
import { cancelRun } from './cancel-run'
import { claimRun } from './claim-run'
import { commit } from './commit'
import { createRun } from './create-run'
import { deleteFinishedRuns, deleteRunItems } from './deletion'
import { deliverEvent } from './deliver-event'
import { Expression, UpdateClauses } from './expression'
import { DEFAULT_MAX_ITEM_BYTES, isValidMaxItemBytes, ItemBudget, MIN_MAX_ITEM_BYTES } from './item-budget'
import { DYNAMODB_ITEM_LIMIT, DYNAMODB_TRANSACTION_ACTIONS } from './item-size'
import { eventKey, PK, stateKey, STATE_SK_PREFIX, STEP_SK_PREFIX, stepKey } from './keys'
import { listDueRuns, listRuns, nextDueAt } from './listing'
import { transitionRun } from './transition-run'
import { listDueWebhooks, recordWebhookAttempt } from './webhooks'
import {
  fromEventItem,
  fromRunItem,
  fromStateItem,
  fromStepItem,
  keyItem,
  n,
  RUN,
  s,
  STEP,
  stepStatusOf,
  toStateItem,
} from './mappers'
import { Retention } from './retention'
import { RunHints } from './run-hints'
import type { StoreContext } from './store-context'
import { DynamoTable } from './table'

export interface DynamoDBStoreOptions {
  /**
   * A configured client (region, credentials, endpoint). The store never closes it: the caller owns it and may
   * share it between stores.
   */
  readonly client: DynamoDBClient
  /** Name of a table created by `createTable()` / `npm run dynamodb:create-table`. */
  readonly tableName: string
  /**
   * Seconds a run is kept after it ends. When set, the commit that makes a run terminal (and `cancelRun`) stamps
   * `ttl` = completedAt (epoch s) + retentionSeconds on every item of the run, and DynamoDB's TTL deletes them.
   * Absent: runs are kept until `deleteRun` / `deleteFinishedRuns`.
   */
  readonly retentionSeconds?: number
  /**
   * Largest item the store writes, in bytes; bigger writes are refused with PAYLOAD_TOO_LARGE before any request.
   * Kept below DynamoDB's 400 KB so later small updates (status, ttl) of a full item still fit.
   * Minimum `4096`, maximum `409600`. @default 350_000
   */
  readonly maxItemBytes?: number
  /**
   * Called when the follow-up writes of a terminal commit or of `cancelRun` fail (stamping `ttl`, marking open
   * steps CANCELLED). The commit or cancel itself has then succeeded and still returns normally; the run keeps no
   * `ttl` (nothing of it is orphaned) and `deleteFinishedRuns` can still remove it.
   * @default logs the error with `console.warn`
   */
  readonly onFollowUpError?: (error: Error, runId: string) => void
}

export class DynamoDBStore implements WorkflowStore {
  readonly kind = 'dynamodb' as const
  readonly payloadCeiling: PayloadCeiling
  /** One transaction: the run's update, a released concurrency slot and the steps (commit.ts). */
  readonly maxCommitSteps = DYNAMODB_TRANSACTION_ACTIONS - 2
  readonly #ctx: StoreContext

  constructor(options: DynamoDBStoreOptions) {
    if (typeof options.tableName !== 'string' || options.tableName.length < 3) {
      throw new InvalidArgumentError('tableName must be a DynamoDB table name (at least 3 characters)')
    }
    const retention = options.retentionSeconds
    if (retention !== undefined && !(Number.isSafeInteger(retention) && retention > 0)) {
      throw new InvalidArgumentError(`retentionSeconds must be a positive integer, got ${String(retention)}`)
    }
    const maxItemBytes = options.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES
    if (!isValidMaxItemBytes(maxItemBytes)) {
      throw new InvalidArgumentError(`maxItemBytes must be an integer in ${MIN_MAX_ITEM_BYTES}..${DYNAMODB_ITEM_LIMIT}`)
    }
    this.payloadCeiling = ceilingForRecords(maxItemBytes, `DynamoDB items of at most maxItemBytes = ${maxItemBytes} bytes`)
    const onFollowUpError =
      options.onFollowUpError ??
      ((error: Error, runId: string) => console.warn(`gorkflow: follow-up writes of run ${runId} failed: ${error.message}`))
    this.#ctx = {
      table: new DynamoTable(options.client, options.tableName),
      budget: new ItemBudget(maxItemBytes),
      retention: new Retention(retention ?? null, onFollowUpError),
      hints: new RunHints(),
    }
  }

  createRun(run: RunRecord, steps: readonly StepExecution[] = []): Promise<CreateRunResult> {
    return createRun(this.#ctx, run, steps)
  }

  async getRun(runId: string): Promise<RunRecord> {
    const run = await this.#ctx.table.findRun(runId)
    if (run === null) throw new RunNotFoundError(runId)
    return run
  }

  listRuns(filter: RunFilter = {}): Promise<RunPage> {
    return listRuns(this.#ctx.table, filter)
  }

  claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<Claim | null> {
    return claimRun(this.#ctx, runId, owner, now, leaseMs, (id) => this.listStepExecutions(id))
  }

  commit(lease: Lease, runCommit: RunCommit): Promise<CommitResult> {
    return commit(this.#ctx, lease, runCommit)
  }

  listDueRuns(now: number, limit: number): Promise<string[]> {
    return listDueRuns(this.#ctx.table, now, limit)
  }

  nextDueAt(): Promise<number | null> {
    return nextDueAt(this.#ctx.table)
  }

  listDueWebhooks(now: number, limit: number): Promise<string[]> {
    return listDueWebhooks(this.#ctx.table, now, limit)
  }

  recordWebhookAttempt(runId: string, expectedAttempts: number, next: WebhookDelivery): Promise<boolean> {
    return recordWebhookAttempt(this.#ctx.table, runId, expectedAttempts, next)
  }

  cancelRun(runId: string, now: number): Promise<RunRecord> {
    return cancelRun(this.#ctx, runId, now)
  }

  transitionRun(runId: string, transition: RunTransition): Promise<RunRecord> {
    return transitionRun(this.#ctx, runId, transition)
  }

  deliverEvent(runId: string, name: string, payload: Json, now: number): Promise<RunRecord> {
    return deliverEvent(this.#ctx, runId, name, payload, now)
  }

  async loadEvent(runId: string, name: string): Promise<DeliveredEvent> {
    const item = await this.#ctx.table.getItem('loadEvent', eventKey(runId, name))
    if (item === undefined) throw new EventNotFoundError(runId, name)
    return fromEventItem(item)
  }

  async linkRetry(runId: string, retriedBy: string, now: number): Promise<RunRecord> {
    const expr = new Expression()
    const update = new UpdateClauses(expr).set(RUN.retriedBy, s(retriedBy)).set(RUN.updatedAt, n(now))
    // Any status, terminal included: only `retriedBy` and `updatedAt` change.
    const condition = `attribute_exists(${expr.name(PK)}) AND attribute_not_exists(${expr.name(RUN.retriedBy)})`
    const result = await this.#ctx.table.updateRunItem('linkRetry', runId, update, condition)
    if (result.ok) return fromRunItem(result.written)
    const old = fromRunItem(result.old)
    // The SDK retried after a lost reply and found this very link: it succeeded.
    if (old.retriedBy === retriedBy && old.updatedAt === now) return old
    throw new RunStateConflictError(runId, old.status, `run ${runId} was already retried by ${old.retriedBy ?? '?'}`)
  }

  async getStepExecution(runId: string, stepId: string): Promise<StepExecution> {
    const item = await this.#ctx.table.getItem('getStepExecution', stepKey(runId, stepId))
    if (item === undefined) throw new StepExecutionNotFoundError(runId, stepId)
    return fromStepItem(item)
  }

  async listStepExecutions(runId: string): Promise<StepExecution[]> {
    const items = await this.#ctx.table.queryRun('listStepExecutions', runId, STEP_SK_PREFIX)
    return items.map(fromStepItem).sort(byExecutionIndex)
  }

  async loadStepOutput(runId: string, stepId: string): Promise<Json> {
    const item = await this.#ctx.table.getItem('loadStepOutput', stepKey(runId, stepId), [STEP.status, STEP.output])
    if (item === undefined) throw new StepOutputNotFoundError(runId, stepId)
    const status = stepStatusOf(item)
    if (status !== 'COMPLETED' && status !== 'SKIPPED') throw new StepOutputNotFoundError(runId, stepId)
    const text = item[STEP.output]?.S
    if (text === undefined) throw new StepOutputNotFoundError(runId, stepId)
    return JSON.parse(text) as Json
  }

  async saveState(runId: string, key: string, value: Json, now: number): Promise<void> {
    const { table, budget } = this.#ctx
    const item = toStateItem(runId, key, value, now)
    budget.check(`state key ${JSON.stringify(key)} of run ${runId}`, item)
    await table.request('saveState', () => table.client.send(new PutItemCommand({ TableName: table.name, Item: item })))
  }

  async loadState(runId: string, key: string): Promise<Json> {
    const item = await this.#ctx.table.getItem('loadState', stateKey(runId, key))
    if (item === undefined) throw new StateNotFoundError(runId, key)
    return fromStateItem(item).value
  }

  async getAllState(runId: string): Promise<Record<string, Json>> {
    const items = await this.#ctx.table.queryRun('getAllState', runId, STATE_SK_PREFIX)
    const state: Record<string, Json> = {}
    for (const item of items) {
      const { key, value } = fromStateItem(item)
      // Own data property even for keys like `__proto__`.
      Object.defineProperty(state, key, { value, enumerable: true, writable: true, configurable: true })
    }
    return state
  }

  async deleteState(runId: string, key: string): Promise<void> {
    const { table } = this.#ctx
    await table.request('deleteState', () =>
      table.client.send(new DeleteItemCommand({ TableName: table.name, Key: keyItem(stateKey(runId, key)) })),
    )
  }

  async deleteRun(runId: string): Promise<void> {
    if (!(await deleteRunItems(this.#ctx, runId))) throw new RunNotFoundError(runId)
  }

  deleteFinishedRuns(before: number, limit: number): Promise<number> {
    return deleteFinishedRuns(this.#ctx, before, limit)
  }

  listScheduleStates(): Promise<ScheduleState[]> {
    return listScheduleStates(this.#ctx.table)
  }

  updateScheduleState(workflowId: string, patch: SchedulePatch, now: number): Promise<ScheduleState> {
    return updateScheduleState(this.#ctx.table, workflowId, patch, now)
  }

  async close(): Promise<void> {
    this.#ctx.table.close()
  }
}
