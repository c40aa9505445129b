/**
 * @module
 * The store's one table as the operations see it: every DynamoDB request goes through {@link DynamoTable.send},
 * which retries transaction conflicts, turns driver errors into store errors, and hands failed conditions back
 * as a result. A failed condition is an ordinary outcome (a key taken, a lease lost, a guess about the run that
 * was wrong), so the caller reads it from the result and decides; nothing is thrown to say it.
 */
import {
  BatchWriteItemCommand,
  GetItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
  type TransactWriteItem,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb'
import { RunNotFoundError, StoreUnavailableError } from '../../core/errors'
import type { RunRecord } from '../../core/model'
import { conditionFailures, isTransactionConflict, toStoreError, type ConditionFailure } from './driver-errors'
import { Expression, type UpdateClauses } from './expression'
import { PK, runKey, runPk, SK, type ItemKey } from './keys'
import { fromRunItem, keyItem, s, type Item } from './mappers'

/** How often a transaction cancelled for a conflict with another write is sent again. */
export const TRANSACTION_ATTEMPTS = 5
/**
 * Transactions on a concurrency slot item (claims with a slot, releases) meet each other there under load and are
 * cancelled with TransactionConflict; they are retried longer, so a claimant is refused only for a full slot item.
 */
export const SLOT_TRANSACTION_ATTEMPTS = 12
/** Writes planned on a guess (status, slot) are re-planned from the refused write's old item at most this often. */
export const REPLAN_ATTEMPTS = 4
const BATCH_ATTEMPTS = 8
/** BatchWriteItem's limit on requests per call. */
export const BATCH_WRITE_REQUESTS = 25

/** What a request came to: its reply, or the conditions that failed (nothing was written). */
export type Sent<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly failures: readonly ConditionFailure[]; readonly error: unknown }

/** What a conditional UpdateItem of a run came to. */
export type RunItemUpdate =
  /** The run as written (ReturnValues ALL_NEW). */
  | { readonly ok: true; readonly written: Item }
  /** The condition failed; the run as it was. */
  | { readonly ok: false; readonly old: Item }

export class DynamoTable {
  readonly client: DynamoDBClient
  readonly name: string
  #closed = false

  constructor(client: DynamoDBClient, name: string) {
    this.client = client
    this.name = name
  }

  close(): void {
    this.#closed = true
  }

  /** Sends one request; failed conditions come back as `ok: false`, any other failure throws a store error. */
  async send<T>(operation: string, send: () => Promise<T>, attempts = TRANSACTION_ATTEMPTS): Promise<Sent<T>> {
    if (this.#closed) throw new StoreUnavailableError('the DynamoDB store is closed')
    for (let attempt = 1; ; attempt++) {
      try {
        return { ok: true, value: await send() }
      } catch (err) {
        const failures = conditionFailures(err)
        if (failures.length > 0) return { ok: false, failures, error: err }
        // Two transactions touching one item at once: DynamoDB cancels one; retrying is always safe because
        // every write the store makes is conditional or idempotent.
        if (isTransactionConflict(err) && attempt < attempts) {
          await sleep(backoffMs(attempt))
          continue
        }
        throw toStoreError(err, operation, this.name)
      }
    }
  }

  /** Sends a request whose failed condition (if it has one) is a store failure, not an outcome. */
  async request<T>(operation: string, send: () => Promise<T>, attempts?: number): Promise<T> {
    const sent = await this.send(operation, send, attempts)
    if (!sent.ok) throw this.failure(sent.error, operation)
    return sent.value
  }

  /** The store error for a failure no caller expects (a condition nobody asked about, an unknown driver error). */
  failure(error: unknown, operation: string): Error {
    return toStoreError(error, operation, this.name)
  }

  /**
   * One conditional UpdateItem of run `runId`: the run as written, or as it was when the condition failed.
   * @throws RunNotFoundError when the run does not exist
   */
  async updateRunItem(operation: string, runId: string, update: UpdateClauses, condition: string): Promise<RunItemUpdate> {
    const sent = await this.send(operation, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.name,
          Key: keyItem(runKey(runId)),
          UpdateExpression: update.render(),
          ConditionExpression: condition,
          ...update.expr.attributes(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    )
    if (!sent.ok) {
      const old = sent.failures[0]?.item
      if (old === undefined) throw new RunNotFoundError(runId)
      return { ok: false, old }
    }
    if (sent.value.Attributes === undefined) throw new StoreUnavailableError(`${operation} of run ${runId} returned no item`)
    return { ok: true, written: sent.value.Attributes }
  }

  async getItem(operation: string, key: ItemKey, attributes?: readonly string[]): Promise<Item | undefined> {
    const expr = new Expression()
    const projection = attributes?.map((name) => expr.name(name)).join(', ')
    const result = await this.request(operation, () =>
      this.client.send(
        new GetItemCommand({
          TableName: this.name,
          Key: keyItem(key),
          ConsistentRead: true,
          ...(projection === undefined ? {} : { ProjectionExpression: projection, ...expr.attributes() }),
        }),
      ),
    )
    return result.Item
  }

  async findRun(runId: string): Promise<RunRecord | null> {
    const item = await this.getItem('getRun', runKey(runId))
    return item === undefined ? null : fromRunItem(item)
  }

  /** Every item of a run's partition whose sort key starts with `prefix` (all pages, strongly consistent). */
  async queryRun(operation: string, runId: string, prefix: string | null, attributes?: readonly string[]): Promise<Item[]> {
    const expr = new Expression()
    let keyCondition = `${expr.name(PK)} = ${expr.value(s(runPk(runId)))}`
    if (prefix !== null) keyCondition += ` AND begins_with(${expr.name(SK)}, ${expr.value(s(prefix))})`
    const projection = attributes?.map((name) => expr.name(name)).join(', ')
    const input: QueryCommandInput = {
      TableName: this.name,
      KeyConditionExpression: keyCondition,
      ConsistentRead: true,
      ...(projection === undefined ? {} : { ProjectionExpression: projection }),
      ...expr.attributes(),
    }
    const items: Item[] = []
    let start: Record<string, AttributeValue> | undefined
    do {
      const page = await this.request(operation, () =>
        this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: start })),
      )
      items.push(...(page.Items ?? []))
      start = page.LastEvaluatedKey
    } while (start !== undefined)
    return items
  }

  /**
   * Applies conditional updates in one transaction. An update whose condition fails targets an item that was
   * deleted or changed meanwhile (a state key removed, a guard replaced): it is dropped and the rest retried.
   */
  async transactUpdates(operation: string, updates: TransactWriteItem[]): Promise<void> {
    let pending = updates
    for (let attempt = 1; pending.length > 0; attempt++) {
      const batch = pending
      const sent = await this.send(operation, () => this.client.send(new TransactWriteItemsCommand({ TransactItems: batch })))
      if (sent.ok) return
      if (attempt >= TRANSACTION_ATTEMPTS) throw this.failure(sent.error, operation)
      const failed = new Set(sent.failures.map((f) => f.index))
      pending = pending.filter((_, index) => !failed.has(index))
    }
  }

  /** Deletes items by key with BatchWriteItem (at most {@link BATCH_WRITE_REQUESTS}), resending unprocessed ones. */
  async batchDelete(operation: string, keys: readonly ItemKey[]): Promise<void> {
    const requests: WriteRequest[] = keys.map((key) => ({ DeleteRequest: { Key: keyItem(key) } }))
    await this.untilProcessed('BatchWriteItem requests', requests, async (pending) => {
      const result = await this.request(operation, () =>
        this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.name]: [...pending] } })),
      )
      return result.UnprocessedItems?.[this.name] ?? []
    })
  }

  /** Resends a batch's unprocessed part with backoff, at most {@link BATCH_ATTEMPTS} times in all. */
  async untilProcessed<T>(what: string, first: readonly T[], send: (pending: readonly T[]) => Promise<readonly T[]>): Promise<void> {
    let pending = first
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > BATCH_ATTEMPTS) throw new StoreUnavailableError(`DynamoDB kept leaving ${what} unprocessed`)
      if (attempt > 1) await sleep(backoffMs(attempt - 1))
      pending = await send(pending)
    }
  }
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/** Exponential backoff with full jitter: up to 20 ms, 40 ms, 80 ms, … capped at 1 s. */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(1000, 10 * 2 ** attempt)
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
