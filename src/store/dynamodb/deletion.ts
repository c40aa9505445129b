/**
 * @module
 * Deleting runs on DynamoDB: `deleteRun` and `deleteFinishedRuns`. Children go first, then the idempotency guard
 * and the concurrency slot, the run item last, so an interrupted delete leaves a run that can be deleted again
 * rather than orphans.
 */
import { DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb'
import { TERMINAL_RUN_STATUSES } from '../../core/model'
import { checkPageLimit } from '../rules'
import { heldSlotOf, releaseSlotUpdate } from './concurrency-slots'
import type { Expression } from './expression'
import { deleteGuard } from './idempotency'
import { ALL_SHARDS, ATTR, INDEX, isRunSk, PK, runIdFromPk, runKey, runPk, SK } from './keys'
import { compareCodePoints, CREATED_SORT, queryPartitions, readSort } from './listing'
import { keyItem, n, readOptionalString, RUN, s } from './mappers'
import type { StoreContext } from './store-context'
import { BATCH_WRITE_REQUESTS, chunk } from './table'

const DELETE_CONCURRENCY = 4

/** Deletes every item of a run (see the module). Returns whether the run item existed. */
export async function deleteRunItems({ table, hints }: StoreContext, runId: string): Promise<boolean> {
  hints.forget(runId)
  const items = await table.queryRun('deleteRun', runId, null, [
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
      table.batchDelete('deleteRun', part.map((item) => ({ PK: runPk(runId), SK: item[SK]?.S ?? '' }))),
    ),
  )
  if (runItem === undefined) return false
  const workflowId = readOptionalString(runItem, RUN.workflowId)
  const key = readOptionalString(runItem, RUN.idempotencyKey)
  if (workflowId !== null && key !== null) await deleteGuard(table, workflowId, key, runId)
  // A run deleted before it ended may still hold a concurrency slot: free it (before the run item goes, so a
  // failure here leaves a run that can be deleted again).
  const slot = heldSlotOf(runItem)
  if (slot !== null) {
    const release = releaseSlotUpdate(table.name, runId, slot)
    await table.request('deleteRun', () => table.client.send(new UpdateItemCommand(release)))
  }
  await table.request('deleteRun', () =>
    table.client.send(new DeleteItemCommand({ TableName: table.name, Key: keyItem(runKey(runId)) })),
  )
  return true
}

export async function deleteFinishedRuns(ctx: StoreContext, before: number, limit: number): Promise<number> {
  checkPageLimit(limit)
  // Every terminal status × shard partition of the status index, in parallel (12 Queries), each read oldest
  // created first with a filter on completedAt; the candidates are then deleted oldest completed first.
  const perStatus = await Promise.all(
    TERMINAL_RUN_STATUSES.map((status) =>
      queryPartitions(
        ctx.table,
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
    if (await deleteRunItems(ctx, runId)) deleted++
  })
  return deleted
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
