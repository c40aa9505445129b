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
 * - listDueRuns: 4 Queries (one per shard, in parallel).
 * - getRun, getStepExecution, loadStepOutput, loadState, saveState, deleteState: 1.
 *   listStepExecutions, getAllState: 1 Query per 1 MB page.
 * - deleteRun: 1 Query + ⌈children / 25⌉ BatchWriteItem + 1 DeleteItem (+ 1 for the idempotency guard, + 1 to
 *   release the slot of a run deleted while it held one).
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
  EventAlreadyDeliveredError,
  EventNotFoundError,
  InvalidArgumentError,
  LeaseLostError,
  PayloadTooLargeError,
  RunAlreadyExistsError,
  RunAlreadyFinishedError,
  RunNotFoundError,
  RunStateConflictError,
  StateNotFoundError,
  StepExecutionNotFoundError,
  StepOutputNotFoundError,
  StoreUnavailableError,
} from '../../core/errors'
import {
  isTerminalRunStatus,
  TERMINAL_RUN_STATUSES,
  type DeliveredEvent,
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
  byExecutionIndex,
  checkNewRunSteps,
  type Claim,
  type CommitResult,
  type CreateRunResult,
  type Lease,
  type RunCommit,
  type RunFilter,
  type RunPage,
  type RunPatch,
  type RunTransition,
  type WorkflowStore,
} from '../../core/store'
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
  eventKey,
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
  slotKey,
  stateKey,
  STATE_SK_PREFIX,
  STEP_SK_PREFIX,
  stepKey,
  workflowKeyValue,
  type ItemKey,
} from './keys'
import {
  dueAt,
  dueAttributeOf,
  fixedRunBytes,
  fromEventItem,
  fromRunItem,
  fromStateItem,
  fromStepItem,
  isSweepable,
  json,
  keyItem,
  MUTABLE_SCALARS_RESERVE,
  n,
  readOptionalNumber,
  readOptionalString,
  readString,
  RUN,
  runStatusOf,
  s,
  SLOT,
  STEP,
  stepStatusOf,
  toEventItem,
  toGuardItem,
  toRunItem,
  toStateItem,
  toStepItem,
  waitEventOf,
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
/**
 * Transactions on a concurrency slot item (claims with a slot, releases) meet each other there under load and are
 * cancelled with TransactionConflict; they are retried longer, so a claimant is refused only for a full slot item.
 */
const SLOT_TRANSACTION_ATTEMPTS = 12
/** Writes planned on a guess (status, slot) are re-planned from the refused write's old item at most this often. */
const COMMIT_ATTEMPTS = 4
const CLAIM_ATTEMPTS = 4
/** Runs this store remembers hints about (see `#hints`); the oldest are forgotten beyond this. */
const MAX_HINTS = 10_000
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

/** The concurrency slot item a run takes a place in, and its limit. */
interface SlotRef {
  readonly workflowId: string
  readonly resourceId: string
  readonly limit: number
}

/** See `DynamoDBStore.#hints`. */
interface RunHint {
  readonly status: RunStatus | null
  readonly slot: SlotRef | null
  readonly held: boolean
}

/** How one claim attempt ended. */
type ClaimOutcome =
  /** Claimed; `item` is the run as written, or undefined when it must be read back (after a transaction). */
  | { readonly kind: 'claimed'; readonly item: Item | undefined }
  /** Not claimable at all (status, lease, wakeAt). */
  | { readonly kind: 'unclaimable' }
  /** Claimable, but the slot item is full. */
  | { readonly kind: 'noSlot'; readonly ref: SlotRef }
  /** Claimable once it has a slot: retry with the slot transaction. */
  | { readonly kind: 'needsSlot'; readonly ref: SlotRef; readonly item: Item }
  /** It holds its slot already: retry with the plain claim. */
  | { readonly kind: 'holdsSlot' }
  /** The run changed between the attempts: try again. */
  | { readonly kind: 'retry' }

/** How `deliverEvent` writes the run: wake it (due now, or parked-due now while PAUSED), or only record the name. */
type DeliverMode = 'wake' | 'wakeParked' | 'check'

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
  /**
   * What this store last saw of runs it claimed or committed: their status, their concurrency slot item and
   * whether they hold a place in it. Only guesses that pick the first write to try (a commit's status condition,
   * a claim straight to the slot transaction, a terminal commit that releases the slot in the same transaction);
   * every such write is conditional on its guess, and a wrong one is corrected from the refused write's old
   * item at the cost of one request. Bounded; never needed for correctness.
   */
  readonly #hints = new Map<string, RunHint>()
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

  async createRun(run: RunRecord, steps: readonly StepExecution[] = []): Promise<CreateRunResult> {
    checkNewRunSteps(run, steps)
    const ttl = this.#retentionSeconds !== null && isTerminalRunStatus(run.status) ? this.#ttlAt(run.completedAt ?? run.updatedAt) : null
    // stepsWritten tells a claim to query the steps (as a commit that writes steps sets it).
    const item = steps.length > 0 ? { ...toRunItem(run, ttl), [RUN.stepsWritten]: { BOOL: true } } : toRunItem(run, ttl)
    this.#checkItem(`run ${run.runId}`, item)
    const stored = fromRunItem(item)
    const runPut = {
      TableName: this.#table,
      Item: item,
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PK },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    }
    // Step items ride in the run's transaction, unconditioned: the run's condition decides for all of them.
    const stepPuts = steps.map((step) => {
      const stepItem = toStepItem(step, ttl)
      this.#checkItem(`step ${step.stepId} of run ${run.runId}`, stepItem)
      return { Put: { TableName: this.#table, Item: stepItem } }
    })
    if (stepPuts.length + 2 > DYNAMODB_TRANSACTION_ACTIONS) {
      throw new InvalidArgumentError(`run ${run.runId} is created with ${steps.length} steps; DynamoDB allows ${DYNAMODB_TRANSACTION_ACTIONS - 2}`)
    }

    if (run.idempotencyKey === null && stepPuts.length > 0) {
      // The SDK's idempotency token makes a retried transaction after a lost reply a no-op, not a failure.
      await this.#request(
        'createRun',
        () => this.#client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: runPut }, ...stepPuts] })),
        (err) => (conditionFailures(err).some((f) => f.index === 0) ? new RunAlreadyExistsError(run.runId) : undefined),
      )
      return { run: stored, created: true }
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
          () => this.#client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: runPut }, { Put: guardPut }, ...stepPuts] })),
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
    // Which write to try first: the plain claim, unless this store saw the run wait for a slot before.
    const hint = this.#hints.get(runId)
    let slot: SlotRef | null = hint !== undefined && !hint.held ? hint.slot : null
    let known: Item | undefined
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      const outcome =
        slot === null
          ? await this.#claimPlain(runId, owner, now, expiresAt)
          : await this.#claimWithSlot(runId, owner, now, expiresAt, slot, known)
      switch (outcome.kind) {
        case 'claimed': {
          // After a slot transaction that was not pinned to a known item (it returns none): read the run back.
          const item = outcome.item ?? (await this.#getItem('claimRun', runKey(runId)))
          if (item === undefined) throw new StoreUnavailableError(`claimRun of run ${runId} found no run after claiming it`)
          const run = fromRunItem(item)
          this.#remember(runId, { status: run.status, slot: slotRefOf(item), held: item[RUN.holdsSlot] !== undefined })
          // A run no commit ever wrote a step for has none: its first claim is a single request.
          const steps = item[RUN.stepsWritten] === undefined ? [] : await this.listStepExecutions(runId)
          return { lease: { runId, owner, expiresAt }, run, steps }
        }
        case 'unclaimable':
          return null
        case 'noSlot':
          this.#remember(runId, { status: null, slot: outcome.ref, held: false })
          return null
        case 'needsSlot':
          known = outcome.item
          slot = outcome.ref
          break
        case 'holdsSlot':
          slot = null
          break
        case 'retry':
          break
      }
    }
    // The run kept changing under this claim (other claimants): not claimable now; a sweeper will try again.
    return null
  }

  /**
   * The claim of a run that needs no slot (no limit, or one it already holds): one conditional UpdateItem, whose
   * condition also requires that. A run that needs a slot fails it and is claimed with {@link #claimWithSlot}.
   */
  async #claimPlain(runId: string, owner: string, now: number, expiresAt: number): Promise<ClaimOutcome> {
    const expr = new Expression()
    const update = new UpdateClauses(expr)
      .set(RUN.leaseOwner, s(owner))
      .set(RUN.leaseExpiresAt, n(expiresAt))
      // Claimable implies wakeAt <= now < expiresAt, so the run is next due when this lease expires.
      .set(ATTR.dueAt, n(expiresAt))
    const condition = [
      ...claimConditions(expr, owner, now),
      `(attribute_not_exists(${expr.name(RUN.concurrencyLimit)}) OR attribute_not_exists(${expr.name(RUN.resourceId)}) OR attribute_exists(${expr.name(RUN.holdsSlot)}))`,
    ].join(' AND ')
    const result = await this.#updateRunItem('claimRun', runId, update, condition, (old) => refusedClaim(old, owner, now))
    return 'refused' in result ? result.refused : { kind: 'claimed', item: result.written }
  }

  /**
   * The claim of a run that must first take a concurrency slot: one TransactWriteItems that claims the run (as
   * {@link #claimPlain} does, and marks it `holdsSlot`) and adds it to the slot item's holders, on the condition
   * that the holders are fewer than the run's limit. Contended slot items are retried with more patience than
   * other transactions, so concurrent claimants never see a spurious refusal.
   *
   * A transaction returns no item. When the run is `known` (the refused plain claim returned it), the run's
   * update is also conditioned on what every other write changes (status, updatedAt, lease owner and expiry,
   * wakeAt, stepsWritten), so the claimed run is exactly `known` with this claim's lease; otherwise it is read
   * back.
   */
  async #claimWithSlot(
    runId: string,
    owner: string,
    now: number,
    expiresAt: number,
    slot: SlotRef,
    known: Item | undefined,
  ): Promise<ClaimOutcome> {
    const runExpr = new Expression()
    const changes: Item = {
      [RUN.leaseOwner]: s(owner),
      [RUN.leaseExpiresAt]: n(expiresAt),
      [ATTR.dueAt]: n(expiresAt),
      [RUN.holdsSlot]: { BOOL: true },
    }
    const runUpdate = new UpdateClauses(runExpr)
    for (const [name, value] of Object.entries(changes)) runUpdate.set(name, value)
    const conditions = [...claimConditions(runExpr, owner, now), `attribute_not_exists(${runExpr.name(RUN.holdsSlot)})`]
    if (known !== undefined) {
      for (const name of [ATTR.runStatus, RUN.updatedAt, RUN.leaseOwner, RUN.leaseExpiresAt, RUN.wakeAt, RUN.stepsWritten]) {
        const value = known[name]
        conditions.push(
          value === undefined
            ? `attribute_not_exists(${runExpr.name(name)})`
            : `${runExpr.name(name)} = ${runExpr.value(value)}`,
        )
      }
    }
    const runCondition = conditions.join(' AND ')

    const slotExpr = new Expression()
    const holders = slotExpr.name(SLOT.holders)
    const self = slotExpr.value(s(runId))
    const slotUpdate = `ADD ${holders} ${slotExpr.value({ SS: [runId] })} SET ${slotExpr.name(SLOT.workflowId)} = ${slotExpr.value(
      s(slot.workflowId),
    )}, ${slotExpr.name(SLOT.resourceId)} = ${slotExpr.value(s(slot.resourceId))}`
    const slotCondition = `attribute_not_exists(${holders}) OR size(${holders}) < ${slotExpr.value(n(slot.limit))} OR contains(${holders}, ${self})`

    const items: TransactWriteItem[] = [
      {
        Update: {
          TableName: this.#table,
          Key: keyItem(runKey(runId)),
          UpdateExpression: runUpdate.render(),
          ConditionExpression: runCondition,
          ...runExpr.attributes(),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      {
        Update: {
          TableName: this.#table,
          Key: keyItem(slotKey(slot.workflowId, slot.resourceId)),
          UpdateExpression: slotUpdate,
          ConditionExpression: slotCondition,
          ...slotExpr.attributes(),
        },
      },
    ]
    const refused: { outcome: ClaimOutcome | null } = { outcome: null }
    const claimed = await this.#request(
      'claimRun',
      () => this.#client.send(new TransactWriteItemsCommand({ TransactItems: items })),
      (err) => {
        const failures = conditionFailures(err)
        if (failures.length === 0) return undefined
        const run = failures.find((f) => f.index === 0)
        if (run !== undefined) {
          if (run.item === undefined) return new RunNotFoundError(runId)
          refused.outcome = refusedClaim(run.item, owner, now)
        } else {
          refused.outcome = { kind: 'noSlot', ref: slot }
        }
        return new NotClaimable()
      },
      SLOT_TRANSACTION_ATTEMPTS,
    ).then(
      () => true,
      (err: unknown) => {
        if (err instanceof NotClaimable) return false
        throw err
      },
    )
    if (claimed) return { kind: 'claimed', item: known === undefined ? undefined : { ...known, ...changes } }
    return refused.outcome ?? { kind: 'unclaimable' }
  }

  async commit(lease: Lease, commit: RunCommit): Promise<CommitResult> {
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

    // Bytes this commit adds to the run item beyond its fixed part and the reserved scalars.
    let payloadBytes = 0
    const outputValue = patch.output === undefined ? undefined : json(patch.output)
    if (outputValue !== undefined) payloadBytes += utf8Length(RUN.output) + utf8Length(outputValue.S ?? '')
    const errorValue = patch.error === undefined ? undefined : patch.error === null ? null : json(patch.error)
    if (errorValue) payloadBytes += utf8Length(RUN.error) + utf8Length(errorValue.S ?? '')
    const waitingValue = patch.waitingFor === undefined ? undefined : patch.waitingFor === null ? null : json(patch.waitingFor)
    const waitEvent = patch.waitingFor === undefined ? undefined : waitEventOf(patch.waitingFor)
    if (waitingValue) payloadBytes += utf8Length(RUN.waitingFor) + utf8Length(waitingValue.S ?? '')
    if (waitEvent) payloadBytes += utf8Length(RUN.waitEvent) + utf8Length(waitEvent)
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

    // The write is planned on a guess of the run's status (as this store last saw it, else RUNNING, the usual
    // case) and, for a terminal commit, of whether it holds a concurrency slot (known when this store claimed
    // it). The condition checks the guess; when it was wrong, the refused write's old item tells the truth and
    // the commit is sent again (one more request: a commit that meets a pause made through another store, a
    // terminal commit of a slot holder this store did not claim).
    const hint = this.#hints.get(runId)
    let observed: RunStatus | null = hint?.status ?? null
    let release: SlotRef | null = terminal ? this.#heldSlot(runId) : null
    // Set when the awaited event was found delivered: the commit is written again with wakeAt = now.
    let wakeNow = false
    for (let attempt = 1; ; attempt++) {
      const plan = planCommit(patch.status, observed)
      const withSlot = release !== null
      if (stepItems.length + 1 + (withSlot ? 1 : 0) > DYNAMODB_TRANSACTION_ACTIONS) {
        throw new InvalidArgumentError(
          `the terminal commit of run ${runId} also releases its concurrency slot, so it may write at most ` +
            `${DYNAMODB_TRANSACTION_ACTIONS - 2} steps`,
        )
      }
      const expr = new Expression()
      const update = new UpdateClauses(expr).set(RUN.updatedAt, n(commit.now))
      if (plan.set !== null) update.set(ATTR.runStatus, s(plan.set))
      if (patch.progress !== undefined) update.set(RUN.progress, n(patch.progress))
      if (outputValue !== undefined) update.set(RUN.output, outputValue)
      if (errorValue !== undefined) update.setOrRemove(RUN.error, errorValue)
      if (patch.startedAt !== undefined) update.setOrRemove(RUN.startedAt, nullableNumber(patch.startedAt))
      if (patch.completedAt !== undefined) update.setOrRemove(RUN.completedAt, nullableNumber(patch.completedAt))
      const wake = wakeNow ? commit.now : patch.wakeAt
      if (wake !== undefined) update.setOrRemove(RUN.wakeAt, nullableNumber(wake))
      if (waitingValue !== undefined) update.setOrRemove(RUN.waitingFor, waitingValue)
      if (waitEvent !== undefined) update.setOrRemove(RUN.waitEvent, waitEvent === null ? null : s(waitEvent))
      if (commit.leaseExpiresAt === null) update.remove(RUN.leaseOwner).remove(RUN.leaseExpiresAt)
      else update.set(RUN.leaseExpiresAt, n(commit.leaseExpiresAt))
      // A wakeAt this patch does not set was due at claim time (claims require it), so the key is never later
      // than the run's true due time; listDueRuns filters on the real attributes.
      setDueAttribute(update, plan.result, dueAt(commit.leaseExpiresAt, wake ?? null))
      if (stepItems.length > 0) update.set(RUN.stepsWritten, { BOOL: true })
      if (withSlot) update.remove(RUN.holdsSlot)

      const conditions = [
        `attribute_exists(${expr.name(PK)})`,
        `${expr.name(RUN.leaseOwner)} = ${expr.value(s(lease.owner))}`,
        expr.in(ATTR.runStatus, plan.from),
        `(attribute_not_exists(${expr.name(RUN.baseBytes)}) OR ${expr.name(RUN.baseBytes)} <= ${expr.value(n(allowance))})`,
      ]
      if (terminal) conditions.push(`${withSlot ? 'attribute_exists' : 'attribute_not_exists'}(${expr.name(RUN.holdsSlot)})`)
      const eventGuard = wakeNow ? null : awaitedEventUndelivered(expr, patch, commit.now)
      if (eventGuard !== null) conditions.push(eventGuard)
      const runUpdate = {
        TableName: this.#table,
        Key: keyItem(runKey(runId)),
        UpdateExpression: update.render(),
        ConditionExpression: conditions.join(' AND '),
        ...expr.attributes(),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
      }
      const single = stepItems.length === 0 && !withSlot
      const retry: { observed: RunStatus | null; release: SlotRef | null; wakeNow: boolean } = { observed, release, wakeNow }
      const written = wakeNow ? { ...commit, run: { ...patch, wakeAt: commit.now } } : commit
      const refused = (item: Item | undefined): Error => {
        if (item === undefined) return new RunNotFoundError(runId)
        // A transaction retried by the SDK is deduplicated by its ClientRequestToken; a single UpdateItem is not,
        // so a retry after a lost reply can find its own write (lease released, run ended) and must not fail.
        if (single && commitApplied(item, lease, written, plan.result)) return new AppliedBefore()
        const status = runStatusOf(item)
        if (status !== null && isTerminalRunStatus(status)) return new RunAlreadyFinishedError(runId, status)
        if (readOptionalString(item, RUN.leaseOwner) !== lease.owner) return new LeaseLostError(runId)
        if (eventGuard !== null && attempt < COMMIT_ATTEMPTS && awaitedEventWasDelivered(item, patch)) {
          retry.wakeNow = true
          return new GuessedWrong()
        }
        const size = fixedRunBytes(item) + payloadBytes + MUTABLE_SCALARS_RESERVE
        if (size > this.#maxItemBytes) return new PayloadTooLargeError(`run ${runId} after this commit`, size, this.#maxItemBytes)
        const holds = item[RUN.holdsSlot] !== undefined
        if (attempt < COMMIT_ATTEMPTS && status !== null && (!plan.from.includes(status) || (terminal && holds !== withSlot))) {
          retry.observed = status
          retry.release = terminal ? heldSlotOf(item) : null
          return new GuessedWrong()
        }
        return new LeaseLostError(runId)
      }

      try {
        if (single) {
          await this.#request('commit', () => this.#client.send(new UpdateItemCommand(runUpdate)), (err) => {
            const failure = conditionFailures(err)[0]
            return failure === undefined ? undefined : refused(failure.item)
          }).catch(ignoreAppliedBefore)
        } else {
          const items: TransactWriteItem[] = [{ Update: runUpdate }]
          if (release !== null) items.push({ Update: this.#releaseSlotUpdate(runId, release) })
          items.push(...stepItems.map((item) => ({ Put: { TableName: this.#table, Item: item } })))
          await this.#request(
            'commit',
            () => this.#client.send(new TransactWriteItemsCommand({ TransactItems: items })),
            (err) => {
              const failure = conditionFailures(err).find((f) => f.index === 0)
              return failure === undefined ? undefined : refused(failure.item)
            },
            withSlot ? SLOT_TRANSACTION_ATTEMPTS : TRANSACTION_ATTEMPTS,
          )
        }
      } catch (err) {
        if (!(err instanceof GuessedWrong)) throw err
        observed = retry.observed
        release = retry.release
        wakeNow = retry.wakeNow
        continue
      }

      if (terminal) this.#hints.delete(runId)
      else if (hint !== undefined) this.#remember(runId, { ...hint, status: plan.result })
      if (ttl !== null) {
        const written = new Set(stepItems.map((item) => item[SK]?.S ?? ''))
        await this.#followUp(runId, { ttl, cancelAt: null, alreadyStamped: written })
      }
      return {
        lease: { runId, owner: lease.owner, expiresAt: commit.leaseExpiresAt ?? lease.expiresAt },
        status: plan.result,
        awaitedEventDelivered: wakeNow,
      }
    }
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
    // Like a terminal commit, a cancellation releases the run's concurrency slot in the same write. Whether it
    // holds one is guessed (known when this store claimed it) and checked by the condition; a wrong guess costs
    // one more request.
    let release: SlotRef | null = this.#heldSlot(runId)
    for (let attempt = 1; ; attempt++) {
      const withSlot = release !== null
      const expr = new Expression()
      const update = new UpdateClauses(expr)
        .set(ATTR.runStatus, s('CANCELLED'))
        .set(RUN.cancelRequestedAt, n(now))
        .set(RUN.completedAt, n(now))
        .set(RUN.updatedAt, n(now))
        .remove(RUN.leaseOwner)
        .remove(RUN.leaseExpiresAt)
        .remove(ATTR.dueAt)
        .remove(RUN.parkedDueAt)
      if (withSlot) update.remove(RUN.holdsSlot)
      const condition = [
        `attribute_exists(${expr.name(PK)})`,
        expr.in(ATTR.runStatus, OPEN_RUN_STATUSES),
        `${withSlot ? 'attribute_exists' : 'attribute_not_exists'}(${expr.name(RUN.holdsSlot)})`,
      ].join(' AND ')
      const retried: { release: SlotRef | null } = { release }
      // The refusal of a run that exists and is not this very cancellation; GuessedWrong sends it again.
      const refused = (item: Item): Error => {
        const status = fromRunItem(item).status
        if (isTerminalRunStatus(status)) return new RunAlreadyFinishedError(runId, status)
        if (attempt < COMMIT_ATTEMPTS) {
          retried.release = heldSlotOf(item)
          return new GuessedWrong()
        }
        return new StoreUnavailableError(`cancelRun of run ${runId}: the run kept changing`)
      }
      let run: RunRecord | null
      try {
        if (!withSlot) {
          const result = await this.#updateRunItem('cancelRun', runId, update, condition, (item) => {
            const old = fromRunItem(item)
            // The SDK retried after a lost reply and found this very cancellation: it succeeded.
            if (old.status === 'CANCELLED' && old.cancelRequestedAt === now && old.updatedAt === now) return old
            throw refused(item)
          })
          run = 'refused' in result ? result.refused : fromRunItem(result.written)
        } else {
          const slot = release as SlotRef
          const runUpdate = {
            TableName: this.#table,
            Key: keyItem(runKey(runId)),
            UpdateExpression: update.render(),
            ConditionExpression: condition,
            ...expr.attributes(),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
          }
          await this.#request(
            'cancelRun',
            () =>
              this.#client.send(
                new TransactWriteItemsCommand({
                  TransactItems: [{ Update: runUpdate }, { Update: this.#releaseSlotUpdate(runId, slot) }],
                }),
              ),
            (err) => {
              const failure = conditionFailures(err).find((f) => f.index === 0)
              if (failure === undefined) return undefined
              return failure.item === undefined ? new RunNotFoundError(runId) : refused(failure.item)
            },
            SLOT_TRANSACTION_ATTEMPTS,
          )
          // A transaction returns no item; the run is terminal now, so this read sees exactly the cancellation
          // (or a later retry link).
          run = await this.#findRun(runId)
        }
      } catch (err) {
        if (!(err instanceof GuessedWrong)) throw err
        release = retried.release
        continue
      }
      if (run === null) throw new StoreUnavailableError(`cancelRun of run ${runId} returned no item`)
      this.#hints.delete(runId)
      // The run is terminal now, so no commit can add or change a step: the open steps found next are final.
      await this.#followUp(runId, { ttl, cancelAt: now, alreadyStamped: new Set() })
      return run
    }
  }

  async transitionRun(runId: string, transition: RunTransition): Promise<RunRecord> {
    const { from, to, now } = transition
    if (isTerminalRunStatus(to)) {
      // Ending a run also stamps retention, cancels open steps and releases its slot: cancelRun and commit do that.
      throw new InvalidArgumentError(`transitionRun moves a run between open statuses; ${to} is terminal (use cancelRun)`)
    }
    // The due key moves with the status (PENDING/RUNNING keep `dueAt`, PAUSED keeps `parkedDueAt`), so the write
    // depends on which kind of status the run leaves. `from` mixing both kinds is tried one kind at a time.
    const groups = [
      from.filter((status) => isSweepable(status)),
      from.filter((status) => status === 'PAUSED'),
    ].filter((group) => group.length > 0)
    let group: readonly RunStatus[] | undefined = groups[0]
    for (let attempt = 1; group !== undefined; attempt++) {
      const leaving = group
      const expr = new Expression()
      const update = new UpdateClauses(expr).set(ATTR.runStatus, s(to)).set(RUN.updatedAt, n(now))
      const wasSweepable = isSweepable(leaving[0] as RunStatus)
      if (wasSweepable !== isSweepable(to)) {
        // SET parkedDueAt = dueAt REMOVE dueAt (or back): one UpdateItem moves the due time without reading it.
        const [source, target] = wasSweepable ? [ATTR.dueAt, RUN.parkedDueAt] : [RUN.parkedDueAt, ATTR.dueAt]
        update.setOperand(target, `if_not_exists(${expr.name(source)}, ${expr.value(n(0))})`).remove(source)
      }
      const condition = `attribute_exists(${expr.name(PK)}) AND ${expr.in(ATTR.runStatus, leaving)}`
      const result = await this.#updateRunItem('transitionRun', runId, update, condition, (item) => {
        const old = fromRunItem(item)
        // The SDK retried after a lost reply and found this very transition: it succeeded.
        if (old.status === to && old.updatedAt === now) return { applied: old }
        if (isTerminalRunStatus(old.status)) throw new RunAlreadyFinishedError(runId, old.status)
        const other = groups.find((g) => g !== leaving && g.includes(old.status))
        if (other !== undefined && attempt < COMMIT_ATTEMPTS) return { next: other }
        throw new RunStateConflictError(runId, old.status, `run ${runId} is ${old.status}, not ${from.join(' or ')}`)
      })
      if ('refused' in result) {
        const { applied, next } = result.refused
        if (applied !== undefined) return applied
        group = next
        continue
      }
      const hint = this.#hints.get(runId)
      if (hint !== undefined) this.#remember(runId, { ...hint, status: to })
      return fromRunItem(result.written)
    }
    // `from` names no open status: whatever the run is, it is not in `from`.
    const run = await this.getRun(runId)
    if (isTerminalRunStatus(run.status)) throw new RunAlreadyFinishedError(runId, run.status)
    throw new RunStateConflictError(runId, run.status, `run ${runId} is ${run.status}, not ${from.join(' or ') || 'in any status'}`)
  }

  async deliverEvent(runId: string, name: string, payload: Json, now: number): Promise<RunRecord> {
    const eventItem = toEventItem(runId, name, payload, now)
    this.#checkItem(`event ${JSON.stringify(name)} of run ${runId}`, eventItem)
    const eventPut = {
      TableName: this.#table,
      Item: eventItem,
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': PK },
    }
    // One transaction puts the event (once per name) and, in the same write, either wakes the run (it waits for
    // this event: wakeAt = dueAt = now) or only checks that it is open; both add the name to `deliveredEvents`. Which of the two is guessed — waiting,
    // as events usually answer a wait — and checked by the condition; a wrong guess is corrected from the old run
    // item the refusal returns, which is then also the run to return (the run is unchanged). A woken run is read
    // back, as a transaction returns no item. So: 2 requests either way, 3 for a PAUSED waiting run.
    let mode: DeliverMode = 'wake'
    let lastSeen: Item | undefined
    for (let attempt = 1; ; attempt++) {
      const expr = new Expression()
      const open = expr.in(ATTR.runStatus, mode === 'wake' ? CLAIMABLE_RUN_STATUSES : mode === 'wakeParked' ? ['PAUSED'] : OPEN_RUN_STATUSES)
      const waitEvent = expr.name(RUN.waitEvent)
      const nameValue = expr.value(s(name))
      let runAction: TransactWriteItem
      // Every mode records the name on the run item, so a later commit that would wait for it sees it delivered.
      const deliveredName = { SS: [name] }
      if (mode === 'check') {
        runAction = {
          Update: {
            TableName: this.#table,
            Key: keyItem(runKey(runId)),
            UpdateExpression: new UpdateClauses(expr).add(RUN.deliveredEvents, deliveredName).render(),
            ConditionExpression: `attribute_exists(${expr.name(PK)}) AND ${open} AND (attribute_not_exists(${waitEvent}) OR ${waitEvent} <> ${nameValue})`,
            ...expr.attributes(),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        }
      } else {
        const update = new UpdateClauses(expr)
          .set(RUN.wakeAt, n(now))
          .set(RUN.updatedAt, n(now))
          .set(mode === 'wake' ? ATTR.dueAt : RUN.parkedDueAt, n(now))
          .add(RUN.deliveredEvents, deliveredName)
        runAction = {
          Update: {
            TableName: this.#table,
            Key: keyItem(runKey(runId)),
            UpdateExpression: update.render(),
            ConditionExpression: `attribute_exists(${expr.name(PK)}) AND ${open} AND ${waitEvent} = ${nameValue}`,
            ...expr.attributes(),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        }
      }
      const seen: { run: Item | undefined; next: DeliverMode | null } = { run: undefined, next: null }
      const delivered = await this.#request(
        'deliverEvent',
        () => this.#client.send(new TransactWriteItemsCommand({ TransactItems: [runAction, { Put: eventPut }] })),
        (err) => {
          const failures = conditionFailures(err)
          if (failures.length === 0) return undefined
          const run = failures.find((f) => f.index === 0)
          if (run !== undefined) {
            if (run.item === undefined) return new RunNotFoundError(runId)
            const status = runStatusOf(run.item)
            if (status === null || isTerminalRunStatus(status)) return new RunAlreadyFinishedError(runId, status ?? 'CANCELLED')
          }
          if (failures.some((f) => f.index === 1)) return new EventAlreadyDeliveredError(runId, name)
          if (run?.item === undefined || attempt >= COMMIT_ATTEMPTS) {
            return new StoreUnavailableError(`deliverEvent to run ${runId}: the run kept changing`)
          }
          seen.run = run.item
          const waiting = readOptionalString(run.item, RUN.waitEvent) === name
          seen.next = !waiting ? 'check' : runStatusOf(run.item) === 'PAUSED' ? 'wakeParked' : 'wake'
          return new GuessedWrong()
        },
      ).then(
        () => true,
        (err: unknown) => {
          if (err instanceof GuessedWrong) return false
          throw err
        },
      )
      if (!delivered) {
        mode = seen.next ?? 'check'
        lastSeen = seen.run
        continue
      }
      // Only the name was added to the run item (not part of the record): the run is as the refused attempt returned it.
      if (mode === 'check' && lastSeen !== undefined) return fromRunItem(lastSeen)
      return this.getRun(runId)
    }
  }

  async loadEvent(runId: string, name: string): Promise<DeliveredEvent> {
    const item = await this.#getItem('loadEvent', eventKey(runId, name))
    if (item === undefined) throw new EventNotFoundError(runId, name)
    return fromEventItem(item)
  }

  async linkRetry(runId: string, retriedBy: string, now: number): Promise<RunRecord> {
    const expr = new Expression()
    const update = new UpdateClauses(expr).set(RUN.retriedBy, s(retriedBy)).set(RUN.updatedAt, n(now))
    // Any status, terminal included: only `retriedBy` and `updatedAt` change.
    const condition = `attribute_exists(${expr.name(PK)}) AND attribute_not_exists(${expr.name(RUN.retriedBy)})`
    const result = await this.#updateRunItem('linkRetry', runId, update, condition, (item) => {
      const old = fromRunItem(item)
      // The SDK retried after a lost reply and found this very link: it succeeded.
      if (old.retriedBy === retriedBy && old.updatedAt === now) return old
      throw new RunStateConflictError(runId, old.status, `run ${runId} was already retried by ${old.retriedBy ?? '?'}`)
    })
    return 'refused' in result ? result.refused : fromRunItem(result.written)
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
  async #request<T>(
    operation: string,
    send: () => Promise<T>,
    refine?: (err: unknown) => Error | undefined,
    attempts = TRANSACTION_ATTEMPTS,
  ): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError('the DynamoDB store is closed')
    for (let attempt = 1; ; attempt++) {
      try {
        return await send()
      } catch (err) {
        const refined = refine?.(err)
        if (refined !== undefined) throw refined
        // Two transactions touching one item at once: DynamoDB cancels one; retrying is always safe because
        // every write the store makes is conditional or idempotent.
        if (isTransactionConflict(err) && attempt < attempts) {
          await sleep(backoffMs(attempt))
          continue
        }
        throw toStoreError(err, operation, this.#table)
      }
    }
  }

  /**
   * One conditional UpdateItem of run `runId`: the run as written, or, when the condition failed, what
   * `onRefused` makes of the run as it was (it may throw). A run that does not exist is RunNotFoundError.
   */
  async #updateRunItem<T>(
    operation: string,
    runId: string,
    update: UpdateClauses,
    condition: string,
    onRefused: (old: Item) => T,
  ): Promise<{ readonly written: Item } | { readonly refused: T }> {
    const result = await this.#request(
      operation,
      () =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.#table,
            Key: keyItem(runKey(runId)),
            UpdateExpression: update.render(),
            ConditionExpression: condition,
            ...update.expr.attributes(),
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      (err) => {
        const failure = conditionFailures(err)[0]
        if (failure === undefined) return undefined
        return failure.item === undefined ? new RunNotFoundError(runId) : new RunUpdateRefused(failure.item)
      },
    ).catch((err: unknown) => {
      if (err instanceof RunUpdateRefused) return err
      throw err
    })
    if (result instanceof RunUpdateRefused) return { refused: onRefused(result.old) }
    if (result.Attributes === undefined) throw new StoreUnavailableError(`${operation} of run ${runId} returned no item`)
    return { written: result.Attributes }
  }

  /**
   * The slot item update that takes `runId` out of the holders. Unconditional: releasing twice changes nothing.
   * The item itself stays (an empty holder set is no attribute at all) and gets no `ttl`: it may hold other,
   * longer-lived runs, and a TTL deletion would silently reset its count.
   */
  #releaseSlotUpdate(runId: string, slot: SlotRef) {
    const expr = new Expression()
    const expression = `DELETE ${expr.name(SLOT.holders)} ${expr.value({ SS: [runId] })}`
    return {
      TableName: this.#table,
      Key: keyItem(slotKey(slot.workflowId, slot.resourceId)),
      UpdateExpression: expression,
      ...expr.attributes(),
    }
  }

  /** The slot this store saw `runId` hold, if any. */
  #heldSlot(runId: string): SlotRef | null {
    const hint = this.#hints.get(runId)
    return hint !== undefined && hint.held ? hint.slot : null
  }

  #remember(runId: string, hint: RunHint): void {
    this.#hints.delete(runId)
    if (this.#hints.size >= MAX_HINTS) {
      const oldest = this.#hints.keys().next().value
      if (oldest !== undefined) this.#hints.delete(oldest)
    }
    this.#hints.set(runId, hint)
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
    this.#hints.delete(runId)
    const items = await this.#queryRun('deleteRun', runId, null, [
      PK,
      SK,
      RUN.workflowId,
      RUN.idempotencyKey,
      RUN.resourceId,
      RUN.concurrencyLimit,
      RUN.holdsSlot,
    ])
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
    // A run deleted before it ended may still hold a concurrency slot: free it (before the run item goes, so a
    // failure here leaves a run that can be deleted again).
    const slot = heldSlotOf(runItem)
    if (slot !== null) {
      const release = this.#releaseSlotUpdate(runId, slot)
      await this.#request('deleteRun', () => this.#client.send(new UpdateItemCommand(release)))
    }
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
/** A write planned on a guess (the run's status, its slot) met a run that differs: plan again and resend. */
class GuessedWrong extends Error {}
/** A condition failed only because an SDK retry met the write its own first attempt had already made. */
class AppliedBefore extends Error {}
/** The condition of `#updateRunItem` failed; carries the run item as it was. */
class RunUpdateRefused extends Error {
  constructor(readonly old: Item) {
    super()
  }
}
const ignoreAppliedBefore = (err: unknown): void => {
  if (!(err instanceof AppliedBefore)) throw err
}

/** Whether a stored run item already shows exactly what `commit` writes (same instant, fields and lease). */
/**
 * The commit's part of the wake-up guarantee (see the port's rules): when the run, as the commit leaves it, waits
 * for an event and the commit asks for a wakeAt later than `now`, a condition that the event is not among the
 * run's `deliveredEvents` (which deliverEvent extends in the same write as it records the event). A refusal for
 * that reason ({@link awaitedEventWasDelivered}) is answered by writing the commit again with wakeAt = now.
 * Null when the commit cannot leave the run so.
 */
function awaitedEventUndelivered(expr: Expression, patch: RunPatch, now: number): string | null {
  if (patch.waitingFor !== undefined) {
    if (patch.waitingFor?.kind !== 'event') return null
    if (patch.wakeAt !== undefined && (patch.wakeAt === null || patch.wakeAt <= now)) return null
    const notDelivered = `NOT contains(${expr.name(RUN.deliveredEvents)}, ${expr.value(s(patch.waitingFor.name))})`
    if (patch.wakeAt !== undefined) return notDelivered
    const wake = expr.name(RUN.wakeAt)
    return `(attribute_not_exists(${wake}) OR ${wake} <= ${expr.value(n(now))} OR ${notDelivered})`
  }
  if (patch.wakeAt === undefined || patch.wakeAt === null || patch.wakeAt <= now) return null
  const waitEvent = expr.name(RUN.waitEvent)
  return `(attribute_not_exists(${waitEvent}) OR NOT contains(${expr.name(RUN.deliveredEvents)}, ${waitEvent}))`
}

/** Whether a refused commit's old run item shows the event the run would wait for as delivered. */
function awaitedEventWasDelivered(item: Item, patch: RunPatch): boolean {
  const awaited =
    patch.waitingFor === undefined
      ? readOptionalString(item, RUN.waitEvent)
      : patch.waitingFor?.kind === 'event'
        ? patch.waitingFor.name
        : null
  return awaited !== null && (item[RUN.deliveredEvents]?.SS ?? []).includes(awaited)
}

function commitApplied(item: Item, lease: Lease, commit: RunCommit, status: RunStatus): boolean {
  const run = fromRunItem(item)
  const patch = commit.run
  const sameJson = (name: string, value: unknown) => item[name]?.S === (value === null ? undefined : JSON.stringify(value))
  if (run.updatedAt !== commit.now) return false
  if (run.status !== status) return false
  if (patch.waitingFor !== undefined && !sameJson(RUN.waitingFor, patch.waitingFor)) return false
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

/**
 * How a commit writes the status: which statuses its condition accepts, the status it sets (null: unchanged) and
 * the status the run has afterwards. `observed` is the run's status as a refused attempt returned it, or null
 * before the first attempt (then RUNNING is assumed: the engine's usual case).
 */
function planCommit(
  status: RunStatus | undefined,
  observed: RunStatus | null,
): { readonly from: readonly RunStatus[]; readonly set: RunStatus | null; readonly result: RunStatus } {
  if (status === 'RUNNING') {
    // RUNNING starts a PENDING run; a PAUSED one stays PAUSED (an operator's pause that came meanwhile stands).
    if (observed === 'PAUSED') return { from: ['PAUSED'], set: null, result: 'PAUSED' }
    return { from: CLAIMABLE_RUN_STATUSES, set: 'RUNNING', result: 'RUNNING' }
  }
  if (status !== undefined) return { from: OPEN_RUN_STATUSES, set: status, result: status }
  const current = observed ?? 'RUNNING'
  return { from: [current], set: null, result: current }
}

/** Puts a run's due time where its status keeps it (`dueAt` or `parkedDueAt`) and removes the other. */
function setDueAttribute(update: UpdateClauses, status: RunStatus, due: number): void {
  const target = dueAttributeOf(status)
  for (const attribute of [ATTR.dueAt, RUN.parkedDueAt]) {
    if (attribute === target) update.set(attribute, n(due))
    else update.remove(attribute)
  }
}

/** The claim conditions shared by both claim writes: open and claimable now by `owner`. */
function claimConditions(expr: Expression, owner: string, now: number): string[] {
  const nowValue = expr.value(n(now))
  const lease = expr.name(RUN.leaseExpiresAt)
  return [
    `attribute_exists(${expr.name(PK)})`,
    expr.in(ATTR.runStatus, CLAIMABLE_RUN_STATUSES),
    `(attribute_not_exists(${expr.name(RUN.leaseOwner)}) OR attribute_not_exists(${lease}) OR ${lease} <= ${nowValue} OR ${expr.name(RUN.leaseOwner)} = ${expr.value(s(owner))})`,
    `(attribute_not_exists(${expr.name(RUN.wakeAt)}) OR ${expr.name(RUN.wakeAt)} <= ${nowValue})`,
  ]
}

/** Why a claim's condition failed, read from the run item as it was. */
function refusedClaim(item: Item, owner: string, now: number): ClaimOutcome {
  const run = fromRunItem(item)
  const claimable =
    (run.status === 'PENDING' || run.status === 'RUNNING') &&
    (run.leaseOwner === null || run.leaseExpiresAt === null || run.leaseExpiresAt <= now || run.leaseOwner === owner) &&
    (run.wakeAt === null || run.wakeAt <= now)
  if (!claimable) return { kind: 'unclaimable' }
  if (item[RUN.holdsSlot] !== undefined) return { kind: 'holdsSlot' }
  const ref = slotRefOf(item)
  return ref === null ? { kind: 'retry' } : { kind: 'needsSlot', ref, item }
}

/** The slot item of a run with a concurrency limit and a resource; null for runs without one. */
function slotRefOf(item: Item): SlotRef | null {
  const limit = readOptionalNumber(item, RUN.concurrencyLimit)
  const resourceId = readOptionalString(item, RUN.resourceId)
  if (limit === null || resourceId === null) return null
  return { workflowId: readString(item, RUN.workflowId), resourceId, limit }
}

/** The slot a run item holds a place in, or null. */
function heldSlotOf(item: Item): SlotRef | null {
  return item[RUN.holdsSlot] === undefined ? null : slotRefOf(item)
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
