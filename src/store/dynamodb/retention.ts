/**
 * @module
 * What happens to a run's items once the run ended: with retention on, every item gets a `ttl` so DynamoDB's
 * TTL deletes the run; a cancelled run's open steps become CANCELLED. Both are follow-up writes after the write
 * that ended the run, so they never fail it: a failure is reported to `onFollowUpError` and the run simply keeps
 * no `ttl` (nothing of it is orphaned, and `deleteFinishedRuns` can still remove it).
 */
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { Expression, UpdateClauses } from './expression'
import { ATTR, idempotencyKey, isRunSk, isStepSk, PK, runPk, SK, STEP_SK_PREFIX, type ItemKey } from './keys'
import { keyItem, n, readOptionalString, RUN, s, STEP, stepStatusOf, type Item } from './mappers'
import { OPEN_STEP_STATUSES } from '../rules'
import { chunk, type DynamoTable } from './table'
import { DYNAMODB_TRANSACTION_ACTIONS } from './item-size'

/** What happens to a run's children once it ended. */
export interface CloseOptions {
  /** Stamp this ttl on every item of the run (run item last); null when retention is off. */
  readonly ttl: number | null
  /** Mark PENDING, RUNNING and RETRYING steps CANCELLED at this instant; null for a commit. */
  readonly cancelAt: number | null
  /** Sort keys written with the ttl already (the steps of the terminal commit). */
  readonly alreadyStamped: ReadonlySet<string>
}

export class Retention {
  /** Seconds a run is kept after it ends; null when retention is off. */
  readonly seconds: number | null
  readonly #onFollowUpError: (error: Error, runId: string) => void

  constructor(seconds: number | null, onFollowUpError: (error: Error, runId: string) => void) {
    this.seconds = seconds
    this.#onFollowUpError = onFollowUpError
  }

  /** The `ttl` (epoch s) of a run that ended at `completedAt` (epoch ms); null when retention is off. */
  ttlFor(completedAt: number): number | null {
    return this.seconds === null ? null : Math.floor(completedAt / 1000) + this.seconds
  }

  /** The follow-up writes of a run that ended; never throws (see the module). */
  async closeRun(table: DynamoTable, runId: string, options: CloseOptions): Promise<void> {
    try {
      await closeChildren(table, runId, options)
    } catch (err) {
      this.#onFollowUpError(err instanceof Error ? err : new Error(String(err)), runId)
    }
  }
}

/**
 * After a run ended: marks its open steps CANCELLED (when `cancelAt` is set) and stamps `ttl` on every child
 * item, the guard and finally the run item (when `ttl` is set), in transactions of up to 100 updates. The run
 * item is stamped last, so if this fails midway nothing of the run expires before the run itself is gone from
 * view, and nothing is orphaned; the run then simply keeps no ttl.
 */
async function closeChildren(table: DynamoTable, runId: string, options: CloseOptions): Promise<void> {
  const { ttl, cancelAt } = options
  if (ttl === null && cancelAt === null) return
  const items = await table.queryRun(
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
        updates.push(ttlUpdate(table.name, idempotencyKey(workflowId, idemKey), ttl, [RUN.runId, s(runId)]))
      }
      if (needsTtl && ttl !== null) runUpdate = ttlUpdate(table.name, key, ttl, null)
      continue
    }
    const open = isStepSk(sk) && OPEN_STEP_STATUSES.includes(stepStatusOf(item))
    if (cancelAt !== null && open) {
      updates.push(cancelStepUpdate(table.name, key, cancelAt, needsTtl ? ttl : null))
    } else if (needsTtl && ttl !== null) {
      updates.push(ttlUpdate(table.name, key, ttl, null))
    }
  }
  const batches = chunk(updates, DYNAMODB_TRANSACTION_ACTIONS)
  if (runUpdate !== null) {
    const last = batches[batches.length - 1]
    if (last !== undefined && last.length < DYNAMODB_TRANSACTION_ACTIONS) last.push(runUpdate)
    else batches.push([runUpdate])
  }
  for (const batch of batches) await table.transactUpdates('closeRun', batch)
}

function ttlUpdate(
  tableName: string,
  key: ItemKey,
  ttl: number,
  match: readonly [string, Item[string]] | null,
): TransactWriteItem {
  const expr = new Expression()
  let condition = `attribute_exists(${expr.name(PK)})`
  if (match !== null) condition += ` AND ${expr.name(match[0])} = ${expr.value(match[1])}`
  const update = new UpdateClauses(expr).set(ATTR.ttl, n(ttl))
  return {
    Update: {
      TableName: tableName,
      Key: keyItem(key),
      UpdateExpression: update.render(),
      ConditionExpression: condition,
      ...expr.attributes(),
    },
  }
}

function cancelStepUpdate(tableName: string, key: ItemKey, now: number, ttl: number | null): TransactWriteItem {
  const expr = new Expression()
  const update = new UpdateClauses(expr)
    .set(STEP.status, s('CANCELLED'))
    .set(STEP.updatedAt, n(now))
    .set(STEP.completedAt, n(now))
  if (ttl !== null) update.set(ATTR.ttl, n(ttl))
  return {
    Update: {
      TableName: tableName,
      Key: keyItem(key),
      UpdateExpression: update.render(),
      ConditionExpression: `attribute_exists(${expr.name(PK)}) AND ${expr.in(STEP.status, OPEN_STEP_STATUSES)}`,
      ...expr.attributes(),
    },
  }
}
