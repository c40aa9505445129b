/**
 * @module
 * Completion webhook deliveries on DynamoDB (README, "Completion webhooks"): the due ones come from the sparse
 * `byWebhookDue` index (keys.ts), which holds a run only while it is terminal (`completedAt`) and has a delivery to
 * make (`webhookDueAt`); an attempt is recorded by one UpdateItem conditioned on the attempt count.
 */
import type { WebhookDelivery } from '../../core/model'
import { checkPageLimit } from '../rules'
import { Expression, UpdateClauses } from './expression'
import { ALL_SHARDS, ATTR, INDEX, PK, runIdFromPk } from './keys'
import { queryPartitions, readSort } from './listing'
import { n, RUN } from './mappers'
import type { DynamoTable } from './table'

const WEBHOOK_DUE_SORT = [
  [ATTR.webhookDueAt, 'N'],
  [RUN.completedAt, 'N'],
] as const

/**
 * `listDueWebhooks`: 4 Queries (one per shard, in parallel) of the webhook index, earliest due first. The index is
 * eventually consistent: a run may show up a moment after it ended, or once more after its attempt was recorded,
 * which the deliverer's own check of the run it reads (strongly) sorts out.
 */
export async function listDueWebhooks(table: DynamoTable, now: number, limit: number): Promise<string[]> {
  checkPageLimit(limit)
  const entries = await queryPartitions(
    table,
    ALL_SHARDS.map((shard) => ({
      index: INDEX.webhookDue,
      partition: [[ATTR.shard, n(shard)] as const],
      sort: WEBHOOK_DUE_SORT,
      sortCondition: (expr: Expression) => `${expr.name(ATTR.webhookDueAt)} <= ${expr.value(n(now))}`,
      forward: true,
    })),
    limit,
  )
  return entries.map((entry) => runIdFromPk(readSort(entry, PK)))
}

/** `recordWebhookAttempt`: 1 conditional UpdateItem. @throws RunNotFoundError */
export async function recordWebhookAttempt(
  table: DynamoTable,
  runId: string,
  expectedAttempts: number,
  next: WebhookDelivery,
): Promise<boolean> {
  const expr = new Expression()
  const update = new UpdateClauses(expr)
    .set(RUN.webhookAttempts, n(next.attempts))
    .setOrRemove(RUN.webhookLastStatus, next.lastStatus === null ? null : n(next.lastStatus))
    .setOrRemove(RUN.webhookDeliveredAt, next.deliveredAt === null ? null : n(next.deliveredAt))
    // Removing it takes the run out of the webhook index: delivered, or given up.
    .setOrRemove(ATTR.webhookDueAt, next.deliveredAt === null && next.nextAttemptAt !== null ? n(next.nextAttemptAt) : null)
  const condition = `attribute_exists(${expr.name(PK)}) AND ${expr.name(RUN.webhookAttempts)} = ${expr.value(n(expectedAttempts))}`
  const result = await table.updateRunItem('recordWebhookAttempt', runId, update, condition)
  // Refused: another sweeper counted this attempt first (or an SDK retry met this very write; the attempt is then
  // not sent, and is tried again at the `nextAttemptAt` written).
  return result.ok
}
