/**
 * @module
 * `WorkflowStore` on Amazon DynamoDB: one table, everything of a run under the run's partition key, sparse GSIs
 * for every listing and for the sweeper's due queue (see `keys.ts` and docs/dynamodb.md). No operation scans.
 *
 * Requests per operation (each is one HTTP round trip unless noted):
 * - createRun: 1 (PutItem; TransactWriteItems with the idempotency guard when a key is set); a duplicate
 *   idempotent start costs 1 more (GetItem of the existing run).
 * - claimRun: 1 (conditional UpdateItem) for a run that never had a step written; 2 on resume (+ Query of steps).
 * - commit: 1 (UpdateItem without steps, TransactWriteItems with them). When the commit ends the run and
 *   retention is on: + 1 Query of the run's items + ⌈children / 100⌉ TransactWriteItems that stamp `ttl`.
 * - cancelRun: 1 conditional UpdateItem + 1 Query, + 1 TransactWriteItems when steps were still open (or when
 *   retention is on, to stamp `ttl`).
 * - listRuns: 1 Query per index partition (4 shards for no filter or a status alone) + 1 BatchGetItem per 100 runs.
 * - listDueRuns: 4 Queries (one per shard, in parallel).
 * - getRun, getStepExecution, loadStepOutput, loadState, saveState, deleteState: 1.
 *   listStepExecutions, getAllState: 1 Query per 1 MB page.
 * - deleteRun: 1 Query + ⌈children / 25⌉ BatchWriteItem + 1 DeleteItem (+ 1 for the idempotency guard).
 * - deleteFinishedRuns: 12 Queries (3 terminal statuses × 4 shards, in parallel) + deleteRun per run.
 * Parallel requests cost one round trip of latency; all of them count against a Worker's subrequest limit.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
  type TransactWriteItem,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb'
import {
  InvalidArgumentError,
  LeaseLostError,
  PayloadTooLargeError,
  RunAlreadyExistsError,
  RunAlreadyFinishedError,
  RunNotFoundError,
  StateNotFoundError,
  StepExecutionNotFoundError,
  StepOutputNotFoundError,
  StoreUnavailableError,
} from '../../core/errors'
import {
  isTerminalRunStatus,
  TERMINAL_RUN_STATUSES,
  type Json,
  type RunRecord,
  type RunStatus,
  type StepExecution,
  type StepStatus,
} from '../../core/model'
import { decodeCursor, encodeCursor } from '../cursor'
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type Claim,
  type CreateRunResult,
  type Lease,
  type RunCommit,
  type RunFilter,
  type RunPage,
  type WorkflowStore,
} from '../store'
import { conditionFailures, isTransactionConflict, toStoreError } from './driver-errors'
import { Expression, UpdateClauses } from './expression'
import {
  DYNAMODB_ITEM_LIMIT,
  DYNAMODB_TRANSACTION_ACTIONS,
  DYNAMODB_TRANSACTION_LIMIT,
  itemSize,
  utf8Length,
} from './item-size'
import {
  ALL_SHARDS,
  ATTR,
  createdSortValue,
  idempotencyKey,
  INDEX,
  isRunSk,
  isStepSk,
  parseCreatedSort,
  PK,
  resourceKeyValue,
  runIdFromPk,
  runKey,
  runPk,
  SK,
  stateKey,
  STATE_SK_PREFIX,
  STEP_SK_PREFIX,
  stepKey,
  workflowKeyValue,
  type ItemKey,
} from './keys'
import {
  byExecutionIndex,
  dueAt,
  fixedRunBytes,
  fromRunItem,
  fromStateItem,
  fromStepItem,
  json,
  keyItem,
  MUTABLE_SCALARS_RESERVE,
  n,
  readOptionalString,
  RUN,
  runStatusOf,
  s,
  STATE,
  STEP,
  stepStatusOf,
  toGuardItem,
  toRunItem,
  toStateItem,
  toStepItem,
  type Item,
} from './mappers'

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

/** Default of {@link DynamoDBStoreOptions.maxItemBytes}. */
export const DEFAULT_MAX_ITEM_BYTES = 350_000

const OPEN_RUN_STATUSES: readonly RunStatus[] = ['PENDING', 'RUNNING', 'PAUSED']
const CLAIMABLE_RUN_STATUSES: readonly RunStatus[] = ['PENDING', 'RUNNING']
const OPEN_STEP_STATUSES: readonly StepStatus[] = ['PENDING', 'RUNNING', 'RETRYING']
const TRANSACTION_ATTEMPTS = 5
const BATCH_ATTEMPTS = 8
const BATCH_GET_KEYS = 100
const BATCH_WRITE_REQUESTS = 25
const DELETE_CONCURRENCY = 4

/** What a listing or sweep asks of one index partition. */
interface PartitionQuery {
  readonly index: string
  /** Equality conditions on the index's partition attributes. */
  readonly partition: ReadonlyArray<readonly [string, AttributeValue]>
  /** The index's sort attributes, in order; `N` attributes compare as numbers when merging partitions. */
  readonly sort: ReadonlyArray<readonly [name: string, type: 'S' | 'N']>
  /** A condition on the sort key (paging, due time). */
  readonly sortCondition?: (expr: Expression) => string
  readonly forward: boolean
  readonly filter?: (expr: Expression) => string
}

/** What happens to a run's children once it ended. */
interface CloseOptions {
  /** Stamp this ttl on every item of the run (run item last); null when retention is off. */
  readonly ttl: number | null
  /** Mark PENDING, RUNNING and RETRYING steps CANCELLED at this instant; null for a commit. */
  readonly cancelAt: number | null
  /** Sort keys written with the ttl already (the steps of the terminal commit). */
  readonly alreadyStamped: ReadonlySet<string>
}

export class DynamoDBStore implements WorkflowStore {
  readonly kind = 'dynamodb' as const
  readonly #client: DynamoDBClient
  readonly #table: string
  /** Null when retention is off. */
  readonly #retentionSeconds: number | null
  readonly #maxItemBytes: number
  readonly #onFollowUpError: (error: Error, runId: string) => void
  #closed = false

  constructor(options: DynamoDBStoreOptions) {
    if (typeof options.tableName !== 'string' || options.tableName.length < 3) {
      throw new InvalidArgumentError('tableName must be a DynamoDB table name (at least 3 characters)')
    }
    const retention = options.retentionSeconds
    if (retention !== undefined && !(Number.isSafeInteger(retention) && retention > 0)) {
      throw new InvalidArgumentError(`retentionSeconds must be a positive integer, got ${String(retention)}`)
    }
    const maxItemBytes = options.maxItemBytes ?? DEFAULT_MAX_ITEM_BYTES
    if (!Number.isSafeInteger(maxItemBytes) || maxItemBytes < 4096 || maxItemBytes > DYNAMODB_ITEM_LIMIT) {
      throw new InvalidArgumentError(`maxItemBytes must be an integer in 4096..${DYNAMODB_ITEM_LIMIT}`)
    }
    this.#client = options.client
    this.#table = options.tableName
    this.#retentionSeconds = retention ?? null
    this.#maxItemBytes = maxItemBytes
    this.#onFollowUpError =
      options.onFollowUpError ??
      ((error, runId) => console.warn(`gorkflow: follow-up writes of run ${runId} failed: ${error.message}`))
  }

  async createRun(run: RunRecord): Promise<CreateRunResult> {
    const ttl = this.#retentionSeconds !== null && isTerminalRunStatus(run.status) ? this.#ttlAt(run.completedAt ?? run.updatedAt) : null
    const item = toRunItem(run, ttl)
    this.#checkItem(`run ${run.runId}`, item)
    const stored = fromRunItem(item)
    const runPut = {
      TableName: this.#table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PK },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    }

    if (run.idempotencyKey === null) {
      await this.#request('createRun', () => this.#client.send(new PutItemCommand(runPut)), (err) => {
        const failure = conditionFailures(err)[0]
        if (failure === undefined) return undefined
        // The SDK retried after a lost reply, and its first attempt had already written this very item.
        const ours = failure.item !== undefined && sameAttributes(failure.item, item)
        return ours ? new AppliedBefore() : new RunAlreadyExistsError(run.runId)
      }).catch(ignoreAppliedBefore)
      return { run: stored, created: true }
    }

    const key = run.idempotencyKey
    const guardPut = {
      TableName: this.#table,
      Item: toGuardItem(run.workflowId, key, run.runId, ttl),
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PK },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    }
    // A guard can outlive its run (TTL deletes items in no particular order): such a stale guard is removed
    // and the create retried, once.
    for (let attempt = 1; ; attempt++) {
      let guardedRunId: string | null = null
      try {
        await this.#request(
          'createRun',
          () => this.#client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: runPut }, { Put: guardPut }] })),
          (err) => {
            const failures = conditionFailures(err)
            const guard = failures.find((f) => f.index === 1)
            if (guard !== undefined) {
              guardedRunId = guard.item === undefined ? null : readOptionalString(guard.item, RUN.runId)
              return new GuardTaken()
            }
            return failures.length > 0 ? new RunAlreadyExistsError(run.runId) : undefined
          },
        )
        return { run: stored, created: true }
      } catch (err) {
        if (!(err instanceof GuardTaken)) throw err
      }
      guardedRunId ??= await this.#guardedRunId(run.workflowId, key)
      if (guardedRunId !== null) {
        const existing = await this.#findRun(guardedRunId)
        if (existing !== null) return { run: existing, created: false }
      }
      if (attempt >= 2) {
        throw new StoreUnavailableError(`idempotency guard of workflow ${run.workflowId} key ${key} points at a missing run`)
      }
      if (guardedRunId !== null) await this.#deleteGuard(run.workflowId, key, guardedRunId)
    }
  }

  async getRun(runId: string): Promise<RunRecord> {
    const run = await this.#findRun(runId)
    if (run === null) throw new RunNotFoundError(runId)
    return run
  }

  async listRuns(filter: RunFilter = {}): Promise<RunPage> {
    const limit = checkLimit(filter.limit ?? DEFAULT_PAGE_SIZE)
    const position = filter.cursor === undefined || filter.cursor === null ? null : decodeCursor(filter.cursor)
    const below = position === null ? null : createdSortValue(position.createdAt, position.runId)
    const { workflowId, status, resourceId } = filter

    // Pick the index whose partition matches the most filters. Only (workflow, resource[, status]) has no index
    // of its own: the resource index is queried and the workflow filtered, as resources are the narrower key.
    const workflowKey: readonly [string, AttributeValue] | null =
      workflowId === undefined ? null : [ATTR.workflowKey, s(workflowKeyValue(workflowId))]
    const resourceKey: readonly [string, AttributeValue] | null =
      resourceId === undefined ? null : [ATTR.resourceKey, s(resourceKeyValue(resourceId))]
    const statusKey: readonly [string, AttributeValue] | null =
      status === undefined ? null : [ATTR.runStatus, s(status)]
    let index: string
    let partitions: Array<ReadonlyArray<readonly [string, AttributeValue]>>
    let filterWorkflow = false
    if (resourceKey !== null && statusKey !== null) {
      index = INDEX.resourceStatus
      partitions = [[resourceKey, statusKey]]
      filterWorkflow = workflowKey !== null
    } else if (resourceKey !== null) {
      index = INDEX.resource
      partitions = [[resourceKey]]
      filterWorkflow = workflowKey !== null
    } else if (workflowKey !== null && statusKey !== null) {
      index = INDEX.workflowStatus
      partitions = [[workflowKey, statusKey]]
    } else if (workflowKey !== null) {
      index = INDEX.workflow
      partitions = [[workflowKey]]
    } else if (statusKey !== null) {
      index = INDEX.status
      partitions = ALL_SHARDS.map((shard) => [statusKey, [ATTR.shard, n(shard)] as const])
    } else {
      index = INDEX.all
      partitions = ALL_SHARDS.map((shard) => [[ATTR.shard, n(shard)] as const])
    }
    const workflowFilter =
      filterWorkflow && workflowId !== undefined
        ? (expr: Expression) => `${expr.name(RUN.workflowId)} = ${expr.value(s(workflowId))}`
        : undefined

    // One more than a page tells whether another page exists, so the last page never has a cursor.
    const entries = await this.#queryPartitions(
      partitions.map((partition) => ({
        index,
        partition,
        sort: CREATED_SORT,
        sortCondition:
          below === null ? undefined : (expr: Expression) => `${expr.name(ATTR.createdSort)} < ${expr.value(s(below))}`,
        forward: false,
        filter: workflowFilter,
      })),
      limit + 1,
    )
    const page = entries.slice(0, limit)
    const runs = (await this.#getRuns(page.map((entry) => readKey(entry)))).filter(
      (run) =>
        // The index may trail the table for a moment: report only runs that still match.
        (workflowId === undefined || run.workflowId === workflowId) &&
        (status === undefined || run.status === status) &&
        (resourceId === undefined || run.resourceId === resourceId),
    )
    const last = page[page.length - 1]
    const nextCursor =
      entries.length > limit && last !== undefined
        ? encodeCursor(parseCreatedSort(readSort(last, ATTR.createdSort)))
        : null
    return { runs, nextCursor }
  }

  async claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<Claim | null> {
    const expiresAt = now + leaseMs
    const expr = new Expression()
    const update = new UpdateClauses(expr)
      .set(RUN.leaseOwner, s(owner))
      .set(RUN.leaseExpiresAt, n(expiresAt))
      // Claimable implies wakeAt <= now < expiresAt, so the run is next due when this lease expires.
      .set(ATTR.dueAt, n(expiresAt))
    const nowValue = expr.value(n(now))
    const lease = expr.name(RUN.leaseExpiresAt)
    const condition = [
      `attribute_exists(${expr.name(PK)})`,
      expr.in(ATTR.runStatus, CLAIMABLE_RUN_STATUSES),
      `(attribute_not_exists(${expr.name(RUN.leaseOwner)}) OR attribute_not_exists(${lease}) OR ${lease} <= ${nowValue} OR ${expr.name(RUN.leaseOwner)} = ${expr.value(s(owner))})`,
      `(attribute_not_exists(${expr.name(RUN.wakeAt)}) OR ${expr.name(RUN.wakeAt)} <= ${nowValue})`,
    ].join(' AND ')

    const result = await this.#request(
      'claimRun',
      () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: keyItem(runKey(runId)),
            UpdateExpression: update.render(),
            ConditionExpression: condition,
            ...expr.attributes(),
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      (err) => {
        const failure = conditionFailures(err)[0]
        if (failure === undefined) return undefined
        return failure.item === undefined ? new RunNotFoundError(runId) : new NotClaimable()
      },
    ).catch((err: unknown) => {
      if (err instanceof NotClaimable) return null
      throw err
    })
    if (result === null) return null
    const item = result.Attributes
    if (item === undefined) throw new StoreUnavailableError(`claimRun of run ${runId} returned no item`)
    const run = fromRunItem(item)
    // A run no commit ever wrote a step for has none: its first claim is a single request.
    const steps = item[RUN.stepsWritten] === undefined ? [] : await this.listStepExecutions(runId)
    return { lease: { runId, owner, expiresAt }, run, steps }
  }

  async commit(lease: Lease, commit: RunCommit): Promise<Lease> {
    const { runId } = lease
    const patch = commit.run
    const terminal = patch.status !== undefined && isTerminalRunStatus(patch.status)
    const ttl = terminal && this.#retentionSeconds !== null ? this.#ttlAt(patch.completedAt ?? commit.now) : null

    const stepItems = commit.steps.map((step) => {
      if (step.runId !== runId) {
        throw new InvalidArgumentError(`step ${step.stepId} belongs to run ${step.runId}, not to run ${runId}`)
      }
      const item = toStepItem(step, ttl)
      this.#checkItem(`step ${step.stepId} of run ${runId}`, item)
      return item
    })
    if (new Set(commit.steps.map((step) => step.stepId)).size !== commit.steps.length) {
      throw new InvalidArgumentError(`commit of run ${runId} lists a step twice`)
    }
    if (stepItems.length + 1 > DYNAMODB_TRANSACTION_ACTIONS) {
      throw new InvalidArgumentError(
        `commit of run ${runId} writes ${stepItems.length} steps; DynamoDB allows ${DYNAMODB_TRANSACTION_ACTIONS - 1} per commit`,
      )
    }
    const transactionBytes = stepItems.reduce((sum, item) => sum + itemSize(item), 0)

    const expr = new Expression()
    const update = new UpdateClauses(expr).set(RUN.updatedAt, n(commit.now))
    let payloadBytes = 0
    if (patch.status !== undefined) update.set(ATTR.runStatus, s(patch.status))
    if (patch.progress !== undefined) update.set(RUN.progress, n(patch.progress))
    if (patch.output !== undefined) {
      const value = json(patch.output)
      payloadBytes += utf8Length(RUN.output) + utf8Length(value.S ?? '')
      update.set(RUN.output, value)
    }
    if (patch.error !== undefined) {
      const value = patch.error === null ? null : json(patch.error)
      if (value !== null) payloadBytes += utf8Length(RUN.error) + utf8Length(value.S ?? '')
      update.setOrRemove(RUN.error, value)
    }
    if (patch.startedAt !== undefined) update.setOrRemove(RUN.startedAt, nullableNumber(patch.startedAt))
    if (patch.completedAt !== undefined) update.setOrRemove(RUN.completedAt, nullableNumber(patch.completedAt))
    if (patch.wakeAt !== undefined) update.setOrRemove(RUN.wakeAt, nullableNumber(patch.wakeAt))
    if (commit.leaseExpiresAt === null) update.remove(RUN.leaseOwner).remove(RUN.leaseExpiresAt)
    else update.set(RUN.leaseExpiresAt, n(commit.leaseExpiresAt))
    if (patch.status !== undefined && patch.status !== 'PENDING' && patch.status !== 'RUNNING') {
      update.remove(ATTR.dueAt)
    } else {
      // A wakeAt this patch does not set was due at claim time (claims require it), so the key is never later
      // than the run's true due time; listDueRuns filters on the real attributes.
      update.set(ATTR.dueAt, n(dueAt(commit.leaseExpiresAt, patch.wakeAt ?? null)))
    }
    if (stepItems.length > 0) update.set(RUN.stepsWritten, { BOOL: true })

    // The run item's fixed part (input, context, tags, ids) is not known here; its size is, as `baseBytes`.
    // The condition refuses the write when fixed part + this commit's payload + scalars would exceed the limit.
    const allowance = this.#maxItemBytes - MUTABLE_SCALARS_RESERVE - payloadBytes
    if (allowance < 0) {
      throw new PayloadTooLargeError(`run ${runId} after this commit`, payloadBytes + MUTABLE_SCALARS_RESERVE, this.#maxItemBytes)
    }
    // DynamoDB caps a transaction's items at 4 MB in total; the run item counts as its largest allowed size.
    if (stepItems.length > 0 && transactionBytes + this.#maxItemBytes > DYNAMODB_TRANSACTION_LIMIT) {
      throw new PayloadTooLargeError(
        `commit of run ${runId} (${stepItems.length} steps)`,
        transactionBytes,
        DYNAMODB_TRANSACTION_LIMIT - this.#maxItemBytes,
      )
    }
    const condition = [
      `attribute_exists(${expr.name(PK)})`,
      `${expr.name(RUN.leaseOwner)} = ${expr.value(s(lease.owner))}`,
      expr.in(ATTR.runStatus, OPEN_RUN_STATUSES),
      `(attribute_not_exists(${expr.name(RUN.baseBytes)}) OR ${expr.name(RUN.baseBytes)} <= ${expr.value(n(allowance))})`,
    ].join(' AND ')
    const runUpdate = {
      TableName: this.#table,
      Key: keyItem(runKey(runId)),
      UpdateExpression: update.render(),
      ConditionExpression: condition,
      ...expr.attributes(),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    }
    const refused = (item: Item | undefined): Error => {
      if (item === undefined) return new RunNotFoundError(runId)
      // A transaction retried by the SDK is deduplicated by its ClientRequestToken; a single UpdateItem is not,
      // so a retry after a lost reply can find its own write (lease released, run ended) and must not fail.
      if (stepItems.length === 0 && commitApplied(item, lease, commit)) return new AppliedBefore()
      const status = runStatusOf(item)
      if (status !== null && isTerminalRunStatus(status)) return new RunAlreadyFinishedError(runId, status)
      if (readOptionalString(item, RUN.leaseOwner) !== lease.owner) return new LeaseLostError(runId)
      const size = fixedRunBytes(item) + payloadBytes + MUTABLE_SCALARS_RESERVE
      if (size > this.#maxItemBytes) return new PayloadTooLargeError(`run ${runId} after this commit`, size, this.#maxItemBytes)
      return new LeaseLostError(runId)
    }

    if (stepItems.length === 0) {
      await this.#request('commit', () => this.#client.send(new UpdateItemCommand(runUpdate)), (err) => {
        const failure = conditionFailures(err)[0]
        return failure === undefined ? undefined : refused(failure.item)
      }).catch(ignoreAppliedBefore)
    } else {
      const items: TransactWriteItem[] = [
        { Update: runUpdate },
        ...stepItems.map((item) => ({ Put: { TableName: this.#table, Item: item } })),
      ]
      await this.#request(
        'commit',
        () => this.#client.send(new TransactWriteItemsCommand({ TransactItems: items })),
        (err) => {
          const failure = conditionFailures(err).find((f) => f.index === 0)
          return failure === undefined ? undefined : refused(failure.item)
        },
      )
    }

    if (ttl !== null) {
      const written = new Set(stepItems.map((item) => item[SK]?.S ?? ''))
      await this.#followUp(runId, { ttl, cancelAt: null, alreadyStamped: written })
    }
    return { runId, owner: lease.owner, expiresAt: commit.leaseExpiresAt ?? lease.expiresAt }
  }

  async listDueRuns(now: number, limit: number): Promise<string[]> {
    checkLimit(limit)
    const entries = await this.#queryPartitions(
      ALL_SHARDS.map((shard) => ({
        index: INDEX.due,
        partition: [[ATTR.shard, n(shard)] as const],
        sort: DUE_SORT,
        sortCondition: (expr) => `${expr.name(ATTR.dueAt)} <= ${expr.value(n(now))}`,
        forward: true,
        // The sort key is never later than the true due time; these conditions on the real attributes drop
        // runs that are not claimable after all (a wakeAt set earlier in the same lease, a PAUSED run).
        filter: (expr) => {
          const nowValue = expr.value(n(now))
          const lease = expr.name(RUN.leaseExpiresAt)
          const wake = expr.name(RUN.wakeAt)
          return [
            expr.in(ATTR.runStatus, CLAIMABLE_RUN_STATUSES),
            `(attribute_not_exists(${expr.name(RUN.leaseOwner)}) OR attribute_not_exists(${lease}) OR ${lease} <= ${nowValue})`,
            `(attribute_not_exists(${wake}) OR ${wake} <= ${nowValue})`,
          ].join(' AND ')
        },
      })),
      limit,
    )
    return entries.map((entry) => runIdFromPk(readSort(entry, PK)))
  }

  async cancelRun(runId: string, now: number): Promise<RunRecord> {
    const ttl = this.#retentionSeconds === null ? null : this.#ttlAt(now)
    const expr = new Expression()
    const update = new UpdateClauses(expr)
      .set(ATTR.runStatus, s('CANCELLED'))
      .set(RUN.cancelRequestedAt, n(now))
      .set(RUN.completedAt, n(now))
      .set(RUN.updatedAt, n(now))
      .remove(RUN.leaseOwner)
      .remove(RUN.leaseExpiresAt)
      .remove(ATTR.dueAt)
    const condition = `attribute_exists(${expr.name(PK)}) AND ${expr.in(ATTR.runStatus, OPEN_RUN_STATUSES)}`
    const retried: { run: RunRecord | null } = { run: null }
    const result = await this.#request(
      'cancelRun',
      () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: keyItem(runKey(runId)),
            UpdateExpression: update.render(),
            ConditionExpression: condition,
            ...expr.attributes(),
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      (err) => {
        const failure = conditionFailures(err)[0]
        if (failure === undefined) return undefined
        if (failure.item === undefined) return new RunNotFoundError(runId)
        const old = fromRunItem(failure.item)
        // The SDK retried after a lost reply and found this very cancellation: it succeeded.
        if (old.status === 'CANCELLED' && old.cancelRequestedAt === now && old.updatedAt === now) {
          retried.run = old
          return new AppliedBefore()
        }
        return new RunAlreadyFinishedError(runId, old.status)
      },
    ).catch((err: unknown) => {
      if (err instanceof AppliedBefore) return null
      throw err
    })
    const attributes = result?.Attributes
    const run = retried.run ?? (attributes === undefined ? null : fromRunItem(attributes))
    if (run === null) throw new StoreUnavailableError(`cancelRun of run ${runId} returned no item`)
    // The run is terminal now, so no commit can add or change a step: the open steps found next are final.
    await this.#followUp(runId, { ttl, cancelAt: now, alreadyStamped: new Set() })
    return run
  }

  async getStepExecution(runId: string, stepId: string): Promise<StepExecution> {
    const item = await this.#getItem('getStepExecution', stepKey(runId, stepId))
    if (item === undefined) throw new StepExecutionNotFoundError(runId, stepId)
    return fromStepItem(item)
  }

  async listStepExecutions(runId: string): Promise<StepExecution[]> {
    const items = await this.#queryRun('listStepExecutions', runId, STEP_SK_PREFIX)
    return items.map(fromStepItem).sort(byExecutionIndex)
  }

  async loadStepOutput(runId: string, stepId: string): Promise<Json> {
    const item = await this.#getItem('loadStepOutput', stepKey(runId, stepId), [STEP.status, STEP.output])
    if (item === undefined) throw new StepOutputNotFoundError(runId, stepId)
    const status = stepStatusOf(item)
    if (status !== 'COMPLETED' && status !== 'SKIPPED') throw new StepOutputNotFoundError(runId, stepId)
    const text = item[STEP.output]?.S
    if (text === undefined) throw new StepOutputNotFoundError(runId, stepId)
    return JSON.parse(text) as Json
  }

  async saveState(runId: string, key: string, value: Json, now: number): Promise<void> {
    const item = toStateItem(runId, key, value, now)
    this.#checkItem(`state key ${JSON.stringify(key)} of run ${runId}`, item)
    await this.#request('saveState', () => this.#client.send(new PutItemCommand({ TableName: this.#table, Item: item })))
  }

  async loadState(runId: string, key: string): Promise<Json> {
    const item = await this.#getItem('loadState', stateKey(runId, key))
    if (item === undefined) throw new StateNotFoundError(runId, key)
    return fromStateItem(item).value
  }

  async getAllState(runId: string): Promise<Record<string, Json>> {
    const items = await this.#queryRun('getAllState', runId, STATE_SK_PREFIX)
    const state: Record<string, Json> = {}
    for (const item of items) {
      const { key, value } = fromStateItem(item)
      // Own data property even for keys like `__proto__`.
      Object.defineProperty(state, key, { value, enumerable: true, writable: true, configurable: true })
    }
    return state
  }

  async deleteState(runId: string, key: string): Promise<void> {
    await this.#request('deleteState', () =>
      this.#client.send(new DeleteItemCommand({ TableName: this.#table, Key: keyItem(stateKey(runId, key)) })),
    )
  }

  async deleteRun(runId: string): Promise<void> {
    if (!(await this.#deleteRunItems(runId))) throw new RunNotFoundError(runId)
  }

  async deleteFinishedRuns(before: number, limit: number): Promise<number> {
    checkLimit(limit)
    // Every terminal status × shard partition of the status index, in parallel (12 Queries), each read oldest
    // created first with a filter on completedAt; the candidates are then deleted oldest completed first.
    const perStatus = await Promise.all(
      TERMINAL_RUN_STATUSES.map((status) =>
        this.#queryPartitions(
          ALL_SHARDS.map((shard) => ({
            index: INDEX.status,
            partition: [[ATTR.runStatus, s(status)], [ATTR.shard, n(shard)]] as const,
            sort: CREATED_SORT,
            forward: true,
            filter: (expr: Expression) => `${expr.name(RUN.completedAt)} < ${expr.value(n(before))}`,
          })),
          limit,
        ),
      ),
    )
    const candidates = perStatus
      .flat()
      .map((entry) => ({ runId: runIdFromPk(readSort(entry, PK)), completedAt: Number(entry[RUN.completedAt]?.N ?? 0) }))
      .sort((a, b) => a.completedAt - b.completedAt || compareCodePoints(a.runId, b.runId))
      .slice(0, limit)
    let deleted = 0
    await forEachLimited(candidates, DELETE_CONCURRENCY, async ({ runId }) => {
      if (await this.#deleteRunItems(runId)) deleted++
    })
    return deleted
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  // ---------------------------------------------------------------------------------------------------------------

  /** Sends one request; maps failures through `refine` first (typed condition errors), then to store errors. */
  async #request<T>(operation: string, send: () => Promise<T>, refine?: (err: unknown) => Error | undefined): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError('the DynamoDB store is closed')
    for (let attempt = 1; ; attempt++) {
      try {
        return await send()
      } catch (err) {
        const refined = refine?.(err)
        if (refined !== undefined) throw refined
        // Two transactions touching one item at once: DynamoDB cancels one; retrying is always safe because
        // every write the store makes is conditional or idempotent.
        if (isTransactionConflict(err) && attempt < TRANSACTION_ATTEMPTS) {
          await sleep(backoffMs(attempt))
          continue
        }
        throw toStoreError(err, operation, this.#table)
      }
    }
  }

  #ttlAt(completedAt: number): number {
    return Math.floor(completedAt / 1000) + (this.#retentionSeconds ?? 0)
  }

  #checkItem(what: string, item: Item): void {
    const size = itemSize(item)
    if (size > this.#maxItemBytes) throw new PayloadTooLargeError(what, size, this.#maxItemBytes)
  }

  async #getItem(operation: string, key: ItemKey, attributes?: readonly string[]): Promise<Item | undefined> {
    const expr = new Expression()
    const projection = attributes?.map((name) => expr.name(name)).join(', ')
    const result = await this.#request(operation, () =>
      this.#client.send(
        new GetItemCommand({
          TableName: this.#table,
          Key: keyItem(key),
          ConsistentRead: true,
          ...(projection === undefined ? {} : { ProjectionExpression: projection, ...expr.attributes() }),
        }),
      ),
    )
    return result.Item
  }

  async #findRun(runId: string): Promise<RunRecord | null> {
    const item = await this.#getItem('getRun', runKey(runId))
    return item === undefined ? null : fromRunItem(item)
  }

  /** Every item of a run's partition whose sort key starts with `prefix` (all pages, strongly consistent). */
  async #queryRun(operation: string, runId: string, prefix: string | null, attributes?: readonly string[]): Promise<Item[]> {
    const expr = new Expression()
    let keyCondition = `${expr.name(PK)} = ${expr.value(s(runPk(runId)))}`
    if (prefix !== null) keyCondition += ` AND begins_with(${expr.name(SK)}, ${expr.value(s(prefix))})`
    const projection = attributes?.map((name) => expr.name(name)).join(', ')
    const input: QueryCommandInput = {
      TableName: this.#table,
      KeyConditionExpression: keyCondition,
      ConsistentRead: true,
      ...(projection === undefined ? {} : { ProjectionExpression: projection }),
      ...expr.attributes(),
    }
    const items: Item[] = []
    let start: Record<string, AttributeValue> | undefined
    do {
      const page = await this.#request(operation, () =>
        this.#client.send(new QueryCommand({ ...input, ExclusiveStartKey: start })),
      )
      items.push(...(page.Items ?? []))
      start = page.LastEvaluatedKey
    } while (start !== undefined)
    return items
  }

  /**
   * The first `need` index entries across several partitions of one index, in the index's order: each partition
   * is queried (in parallel) for its first `need` matching entries, then the results are merged.
   */
  async #queryPartitions(queries: readonly PartitionQuery[], need: number): Promise<Item[]> {
    const perPartition = await Promise.all(queries.map((query) => this.#queryPartition(query, need)))
    const first = queries[0]
    if (first === undefined) return []
    const merged = perPartition.flat()
    merged.sort((a, b) => {
      const order = compareBySort(a, b, first.sort)
      return first.forward ? order : -order
    })
    return merged.slice(0, need)
  }

  async #queryPartition(query: PartitionQuery, need: number): Promise<Item[]> {
    const expr = new Expression()
    const conditions = query.partition.map(([name, value]) => `${expr.name(name)} = ${expr.value(value)}`)
    if (query.sortCondition !== undefined) conditions.push(query.sortCondition(expr))
    const filter = query.filter?.(expr)
    const input: QueryCommandInput = {
      TableName: this.#table,
      IndexName: query.index,
      KeyConditionExpression: conditions.join(' AND '),
      ScanIndexForward: query.forward,
      ...(filter === undefined ? {} : { FilterExpression: filter }),
      ...expr.attributes(),
    }
    const items: Item[] = []
    let start: Record<string, AttributeValue> | undefined
    do {
      const remaining = need - items.length
      // DynamoDB applies Limit before the filter; read ahead when filtering so sparse matches take few pages.
      const pageLimit = filter === undefined ? remaining : Math.min(Math.max(remaining * 4, 100), 1000)
      const page = await this.#request(`query ${query.index}`, () =>
        this.#client.send(new QueryCommand({ ...input, Limit: pageLimit, ExclusiveStartKey: start })),
      )
      items.push(...(page.Items ?? []))
      start = page.LastEvaluatedKey
    } while (start !== undefined && items.length < need)
    return items.slice(0, need)
  }

  /** Runs by key, in the order given; keys whose run no longer exists are skipped. Strongly consistent. */
  async #getRuns(keys: readonly ItemKey[]): Promise<RunRecord[]> {
    const found = new Map<string, RunRecord>()
    const chunks = chunk(keys, BATCH_GET_KEYS)
    await Promise.all(
      chunks.map(async (part) => {
        let pending: Item[] = part.map(keyItem)
        for (let attempt = 1; pending.length > 0; attempt++) {
          if (attempt > BATCH_ATTEMPTS) throw new StoreUnavailableError('DynamoDB kept leaving BatchGetItem keys unprocessed')
          if (attempt > 1) await sleep(backoffMs(attempt - 1))
          const keysToGet = pending
          const result = await this.#request('listRuns', () =>
            this.#client.send(
              new BatchGetItemCommand({
                RequestItems: { [this.#table]: { Keys: keysToGet, ConsistentRead: true } },
              }),
            ),
          )
          for (const item of result.Responses?.[this.#table] ?? []) {
            const run = fromRunItem(item)
            found.set(run.runId, run)
          }
          pending = result.UnprocessedKeys?.[this.#table]?.Keys ?? []
        }
      }),
    )
    return keys.flatMap((key) => {
      const run = found.get(runIdFromPk(key.PK))
      return run === undefined ? [] : [run]
    })
  }

  async #followUp(runId: string, options: CloseOptions): Promise<void> {
    try {
      await this.#closeChildren(runId, options)
    } catch (err) {
      this.#onFollowUpError(err instanceof Error ? err : new Error(String(err)), runId)
    }
  }

  /**
   * After a run ended: marks its open steps CANCELLED (when `cancelAt` is set) and stamps `ttl` on every child
   * item, the guard and finally the run item (when `ttl` is set), in transactions of up to 100 updates. The run
   * item is stamped last, so if this fails midway nothing of the run expires before the run itself is gone from
   * view, and nothing is orphaned; the run then simply keeps no ttl.
   */
  async #closeChildren(
    runId: string,
    options: CloseOptions,
  ): Promise<void> {
    const { ttl, cancelAt } = options
    if (ttl === null && cancelAt === null) return
    const items = await this.#queryRun(
      'closeRun',
      runId,
      ttl === null ? STEP_SK_PREFIX : null,
      [PK, SK, ATTR.ttl, STEP.status, RUN.workflowId, RUN.idempotencyKey],
    )
    const updates: TransactWriteItem[] = []
    let runUpdate: TransactWriteItem | null = null
    for (const item of items) {
      const sk = item[SK]?.S ?? ''
      const key: ItemKey = { PK: runPk(runId), SK: sk }
      const needsTtl = ttl !== null && item[ATTR.ttl]?.N !== String(ttl) && !options.alreadyStamped.has(sk)
      if (isRunSk(sk)) {
        const workflowId = readOptionalString(item, RUN.workflowId)
        const idemKey = readOptionalString(item, RUN.idempotencyKey)
        if (ttl !== null && workflowId !== null && idemKey !== null) {
          updates.push(this.#ttlUpdate(idempotencyKey(workflowId, idemKey), ttl, [RUN.runId, s(runId)]))
        }
        if (needsTtl && ttl !== null) runUpdate = this.#ttlUpdate(key, ttl, null)
        continue
      }
      const open = isStepSk(sk) && OPEN_STEP_STATUSES.includes(stepStatusOf(item))
      if (cancelAt !== null && open) {
        updates.push(this.#cancelStepUpdate(key, cancelAt, needsTtl ? ttl : null))
      } else if (needsTtl && ttl !== null) {
        updates.push(this.#ttlUpdate(key, ttl, null))
      }
    }
    const batches = chunk(updates, DYNAMODB_TRANSACTION_ACTIONS)
    if (runUpdate !== null) {
      const last = batches[batches.length - 1]
      if (last !== undefined && last.length < DYNAMODB_TRANSACTION_ACTIONS) last.push(runUpdate)
      else batches.push([runUpdate])
    }
    for (const batch of batches) await this.#transactUpdates('closeRun', batch)
  }

  #ttlUpdate(key: ItemKey, ttl: number, match: readonly [string, AttributeValue] | null): TransactWriteItem {
    const expr = new Expression()
    let condition = `attribute_exists(${expr.name(PK)})`
    if (match !== null) condition += ` AND ${expr.name(match[0])} = ${expr.value(match[1])}`
    const update = new UpdateClauses(expr).set(ATTR.ttl, n(ttl))
    return {
      Update: {
        TableName: this.#table,
        Key: keyItem(key),
        UpdateExpression: update.render(),
        ConditionExpression: condition,
        ...expr.attributes(),
      },
    }
  }

  #cancelStepUpdate(key: ItemKey, now: number, ttl: number | null): TransactWriteItem {
    const expr = new Expression()
    const update = new UpdateClauses(expr)
      .set(STEP.status, s('CANCELLED'))
      .set(STEP.updatedAt, n(now))
      .set(STEP.completedAt, n(now))
    if (ttl !== null) update.set(ATTR.ttl, n(ttl))
    return {
      Update: {
        TableName: this.#table,
        Key: keyItem(key),
        UpdateExpression: update.render(),
        ConditionExpression: `attribute_exists(${expr.name(PK)}) AND ${expr.in(STEP.status, OPEN_STEP_STATUSES)}`,
        ...expr.attributes(),
      },
    }
  }

  /**
   * Applies conditional updates in one transaction. An update whose condition fails targets an item that was
   * deleted or changed meanwhile (a state key removed, a guard replaced): it is dropped and the rest retried.
   */
  async #transactUpdates(operation: string, updates: TransactWriteItem[]): Promise<void> {
    let pending = updates
    for (let attempt = 1; pending.length > 0; attempt++) {
      let failed: ReadonlySet<number> = new Set()
      try {
        const batch = pending
        await this.#request(
          operation,
          () => this.#client.send(new TransactWriteItemsCommand({ TransactItems: batch })),
          (err) => {
            const failures = conditionFailures(err)
            if (failures.length === 0 || attempt >= TRANSACTION_ATTEMPTS) return undefined
            failed = new Set(failures.map((f) => f.index))
            return new ConditionsFailed()
          },
        )
        return
      } catch (err) {
        if (!(err instanceof ConditionsFailed)) throw err
      }
      pending = pending.filter((_, index) => !failed.has(index))
    }
  }

  async #guardedRunId(workflowId: string, key: string): Promise<string | null> {
    const guard = await this.#getItem('createRun', idempotencyKey(workflowId, key))
    return guard === undefined ? null : readOptionalString(guard, RUN.runId)
  }

  /** Deletes the guard of (workflowId, key) if it still points at `runId`. */
  async #deleteGuard(workflowId: string, key: string, runId: string): Promise<void> {
    const expr = new Expression()
    const condition = `${expr.name(RUN.runId)} = ${expr.value(s(runId))}`
    await this.#request(
      'deleteGuard',
      () =>
        this.#client.send(
          new DeleteItemCommand({
            TableName: this.#table,
            Key: keyItem(idempotencyKey(workflowId, key)),
            ConditionExpression: condition,
            ...expr.attributes(),
          }),
        ),
      // Someone else replaced or removed it first: nothing left to do.
      (err) => (conditionFailures(err).length > 0 ? new AlreadyGone() : undefined),
    ).catch((err: unknown) => {
      if (!(err instanceof AlreadyGone)) throw err
    })
  }

  /**
   * Deletes every item of a run: children first, then the guard, the run item last, so an interrupted delete
   * leaves a run that can be deleted again rather than orphans. Returns whether the run item existed.
   */
  async #deleteRunItems(runId: string): Promise<boolean> {
    const items = await this.#queryRun('deleteRun', runId, null, [PK, SK, RUN.workflowId, RUN.idempotencyKey])
    const runItem = items.find((item) => isRunSk(item[SK]?.S ?? ''))
    const children = items.filter((item) => item !== runItem)
    await Promise.all(
      chunk(children, BATCH_WRITE_REQUESTS).map((part) =>
        this.#batchDelete(part.map((item) => ({ PK: runPk(runId), SK: item[SK]?.S ?? '' }))),
      ),
    )
    if (runItem === undefined) return false
    const workflowId = readOptionalString(runItem, RUN.workflowId)
    const key = readOptionalString(runItem, RUN.idempotencyKey)
    if (workflowId !== null && key !== null) await this.#deleteGuard(workflowId, key, runId)
    await this.#request('deleteRun', () =>
      this.#client.send(new DeleteItemCommand({ TableName: this.#table, Key: keyItem(runKey(runId)) })),
    )
    return true
  }

  async #batchDelete(keys: readonly ItemKey[]): Promise<void> {
    let pending: WriteRequest[] = keys.map((key) => ({ DeleteRequest: { Key: keyItem(key) } }))
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > BATCH_ATTEMPTS) throw new StoreUnavailableError('DynamoDB kept leaving BatchWriteItem requests unprocessed')
      if (attempt > 1) await sleep(backoffMs(attempt - 1))
      const requests = pending
      const result = await this.#request('deleteRun', () =>
        this.#client.send(new BatchWriteItemCommand({ RequestItems: { [this.#table]: requests } })),
      )
      pending = result.UnprocessedItems?.[this.#table] ?? []
    }
  }
}

/** Control-flow markers inside `#request` refinements; never escape the store. */
class GuardTaken extends Error {}
class NotClaimable extends Error {}
class ConditionsFailed extends Error {}
class AlreadyGone extends Error {}
/** A condition failed only because an SDK retry met the write its own first attempt had already made. */
class AppliedBefore extends Error {}
const ignoreAppliedBefore = (err: unknown): void => {
  if (!(err instanceof AppliedBefore)) throw err
}

/** Whether a stored run item already shows exactly what `commit` writes (same instant, fields and lease). */
function commitApplied(item: Item, lease: Lease, commit: RunCommit): boolean {
  const run = fromRunItem(item)
  const patch = commit.run
  const sameJson = (name: string, value: unknown) => item[name]?.S === (value === null ? undefined : JSON.stringify(value))
  if (run.updatedAt !== commit.now) return false
  if (patch.status !== undefined && run.status !== patch.status) return false
  if (patch.progress !== undefined && run.progress !== patch.progress) return false
  if (patch.output !== undefined && item[RUN.output]?.S !== JSON.stringify(patch.output)) return false
  if (patch.error !== undefined && !sameJson(RUN.error, patch.error)) return false
  if (patch.startedAt !== undefined && run.startedAt !== patch.startedAt) return false
  if (patch.completedAt !== undefined && run.completedAt !== patch.completedAt) return false
  if (patch.wakeAt !== undefined && run.wakeAt !== patch.wakeAt) return false
  return commit.leaseExpiresAt === null
    ? run.leaseOwner === null
    : run.leaseOwner === lease.owner && run.leaseExpiresAt === commit.leaseExpiresAt
}

/** Deep equality of two attribute maps, whatever the order of their keys. */
function sameAttributes(a: Item, b: Item): boolean {
  const canonical = (value: unknown): string =>
    Array.isArray(value)
      ? `[${value.map(canonical).join(',')}]`
      : typeof value === 'object' && value !== null
        ? `{${Object.keys(value)
            .sort()
            .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
            .join(',')}}`
        : JSON.stringify(value)
  return canonical(a) === canonical(b)
}

const CREATED_SORT = [[ATTR.createdSort, 'S']] as const
const DUE_SORT = [
  [ATTR.dueAt, 'N'],
  [ATTR.createdSort, 'S'],
] as const

/** Page sizes outside 1..MAX_PAGE_SIZE are refused rather than clamped, as every store does. */
function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${limit}`)
  }
  return limit
}

/** Orders index entries as the index does: by each sort attribute in turn. */
function compareBySort(a: Item, b: Item, sort: PartitionQuery['sort']): number {
  for (const [name, type] of sort) {
    const order =
      type === 'N'
        ? Number(a[name]?.N ?? 0) - Number(b[name]?.N ?? 0)
        : compareCodePoints(readSort(a, name), readSort(b, name))
    if (order !== 0) return order
  }
  return 0
}

function nullableNumber(value: number | null): AttributeValue | null {
  return value === null ? null : n(value)
}

function readKey(item: Item): ItemKey {
  return { PK: readSort(item, PK), SK: readSort(item, SK) }
}

function readSort(item: Item, name: string): string {
  const value = item[name]?.S
  if (value === undefined) throw new StoreUnavailableError(`DynamoDB index entry lacks its "${name}" attribute`)
  return value
}

/** String order by Unicode code point, which is the UTF-8 byte order DynamoDB sorts keys in. */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // UTF-16 order differs from code point order only between surrogates and U+E000..U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff
    const ys = y >= 0xd800 && y <= 0xdfff
    if (xs !== ys) return xs ? 1 : -1
    return x - y
  }
  return a.length - b.length
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

async function forEachLimited<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T
      await task(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
}

/** Exponential backoff with full jitter: up to 20 ms, 40 ms, 80 ms, … capped at 1 s. */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(1000, 10 * 2 ** attempt)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
