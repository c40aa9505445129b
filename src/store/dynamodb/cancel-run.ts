/**
 * @module
 * `cancelRun` on DynamoDB: one conditional write that ends the run and, like a terminal commit, releases its
 * concurrency slot in the same transaction. Whether it holds one is guessed (known when this store claimed it)
 * and checked by the condition; a wrong guess costs one more request. Open steps are cancelled and retention is
 * stamped by the follow-up writes (retention.ts).
 */
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb'
import { RunAlreadyFinishedError, RunNotFoundError, StoreUnavailableError } from '../../core/errors'
import { isTerminalRunStatus, type RunRecord } from '../../core/model'
import { OPEN_RUN_STATUSES } from './commit'
import { heldSlotOf, releaseSlotUpdate, type SlotRef } from './concurrency-slots'
import { Expression, UpdateClauses } from './expression'
import { ATTR, PK, runKey } from './keys'
import { fromRunItem, keyItem, n, RUN, s, type Item } from './mappers'
import type { StoreContext } from './store-context'
import { REPLAN_ATTEMPTS, SLOT_TRANSACTION_ATTEMPTS, type DynamoTable } from './table'

/** How one cancellation attempt ended. */
type CancelAttempt =
  /** Cancelled; the run as it is now (null when it could not be read back). */
  | { readonly kind: 'cancelled'; readonly run: RunRecord | null }
  /** The slot guess was wrong: plan again with what the run item shows. */
  | { readonly kind: 'replan'; readonly release: SlotRef | null }
  /** The run cannot be cancelled. */
  | { readonly kind: 'refused'; readonly error: Error }

export async function cancelRun(ctx: StoreContext, runId: string, now: number): Promise<RunRecord> {
  const { table, retention, hints } = ctx
  const ttl = retention.ttlFor(now)
  let release: SlotRef | null = hints.heldSlot(runId)
  for (let attempt = 1; ; attempt++) {
    const outcome = await cancelOnce(table, runId, now, release, attempt < REPLAN_ATTEMPTS)
    if (outcome.kind === 'refused') throw outcome.error
    if (outcome.kind === 'replan') {
      release = outcome.release
      continue
    }
    if (outcome.run === null) throw new StoreUnavailableError(`cancelRun of run ${runId} returned no item`)
    hints.forget(runId)
    // The run is terminal now, so no commit can add or change a step: the open steps found next are final.
    await retention.closeRun(table, runId, { ttl, cancelAt: now, alreadyStamped: new Set() })
    return outcome.run
  }
}

/** One conditional cancellation, releasing `release` in the same transaction when the run holds that slot. */
async function cancelOnce(
  table: DynamoTable,
  runId: string,
  now: number,
  release: SlotRef | null,
  mayReplan: boolean,
): Promise<CancelAttempt> {
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
  if (release === null) {
    const result = await table.updateRunItem('cancelRun', runId, update, condition)
    if (result.ok) return { kind: 'cancelled', run: fromRunItem(result.written) }
    const old = fromRunItem(result.old)
    // The SDK retried after a lost reply and found this very cancellation: it succeeded.
    if (old.status === 'CANCELLED' && old.cancelRequestedAt === now && old.updatedAt === now) return { kind: 'cancelled', run: old }
    return readRefusal(runId, result.old, mayReplan)
  }
  const runUpdate = {
    TableName: table.name,
    Key: keyItem(runKey(runId)),
    UpdateExpression: update.render(),
    ConditionExpression: condition,
    ...expr.attributes(),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  }
  const sent = await table.send(
    'cancelRun',
    () =>
      table.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Update: runUpdate }, { Update: releaseSlotUpdate(table.name, runId, release) }],
        }),
      ),
    SLOT_TRANSACTION_ATTEMPTS,
  )
  if (!sent.ok) {
    const failure = sent.failures.find((f) => f.index === 0)
    if (failure === undefined) throw table.failure(sent.error, 'cancelRun')
    if (failure.item === undefined) throw new RunNotFoundError(runId)
    return readRefusal(runId, failure.item, mayReplan)
  }
  // A transaction returns no item; the run is terminal now, so this read sees exactly the cancellation (or a
  // later retry link).
  return { kind: 'cancelled', run: await table.findRun(runId) }
}

/** The refusal of a run that exists and is not this very cancellation. */
function readRefusal(runId: string, item: Item, mayReplan: boolean): CancelAttempt {
  const status = fromRunItem(item).status
  if (isTerminalRunStatus(status)) return { kind: 'refused', error: new RunAlreadyFinishedError(runId, status) }
  if (mayReplan) return { kind: 'replan', release: heldSlotOf(item) }
  return { kind: 'refused', error: new StoreUnavailableError(`cancelRun of run ${runId}: the run kept changing`) }
}
