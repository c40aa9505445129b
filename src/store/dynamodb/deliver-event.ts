/**
 * @module
 * `deliverEvent` on DynamoDB. One transaction puts the event (once per name) and, in the same write, either
 * wakes the run (it waits for this event: wakeAt = dueAt = now) or only checks that it is open; both add the name
 * to the run item's `deliveredEvents`, so a later commit that would wait for it sees it delivered. Which of the two
 * is guessed — waiting, as events usually answer a wait — and checked by the condition; a wrong guess is corrected
 * from the old run item the refusal returns, which is then also the run to return (the run is unchanged). A woken
 * run is read back, as a transaction returns no item. So: 2 requests either way, 3 for a PAUSED waiting run.
 */
import { TransactWriteItemsCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb'
import {
  EventAlreadyDeliveredError,
  RunAlreadyFinishedError,
  RunNotFoundError,
  StoreUnavailableError,
} from '../../core/errors'
import { isTerminalRunStatus, type Json, type RunRecord } from '../../core/model'
import { CLAIMABLE_RUN_STATUSES } from '../rules'
import { OPEN_RUN_STATUSES } from './commit'
import type { ConditionFailure } from './driver-errors'
import { Expression, UpdateClauses } from './expression'
import { ATTR, PK, runKey } from './keys'
import { fromRunItem, keyItem, n, readOptionalString, RUN, runStatusOf, s, toEventItem, type Item } from './mappers'
import type { StoreContext } from './store-context'
import { REPLAN_ATTEMPTS } from './table'

/** How the delivery writes the run: wake it (due now, or parked-due now while PAUSED), or only record the name. */
type DeliverMode = 'wake' | 'wakeParked' | 'check'

/** What a refused delivery means. */
type DeliveryRefusal =
  /** The guess of the mode was wrong: send again in `mode`; `run` is the run as it was (unchanged). */
  | { readonly kind: 'replan'; readonly mode: DeliverMode; readonly run: Item }
  | { readonly kind: 'refused'; readonly error: Error }

export async function deliverEvent(
  { table, budget }: StoreContext,
  runId: string,
  name: string,
  payload: Json,
  now: number,
): Promise<RunRecord> {
  const eventItem = toEventItem(runId, name, payload, now)
  budget.check(`event ${JSON.stringify(name)} of run ${runId}`, eventItem)
  const eventPut = {
    TableName: table.name,
    Item: eventItem,
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': PK },
  }
  let mode: DeliverMode = 'wake'
  let lastSeen: Item | undefined
  for (let attempt = 1; ; attempt++) {
    const runAction = runActionOf(table.name, runId, name, now, mode)
    const sent = await table.send('deliverEvent', () =>
      table.client.send(new TransactWriteItemsCommand({ TransactItems: [runAction, { Put: eventPut }] })),
    )
    if (!sent.ok) {
      const refusal = readRefusal(sent.failures, runId, name, attempt < REPLAN_ATTEMPTS)
      if (refusal.kind === 'refused') throw refusal.error
      mode = refusal.mode
      lastSeen = refusal.run
      continue
    }
    // Only the name was added to the run item (not part of the record): the run is as the refused attempt returned it.
    if (mode === 'check' && lastSeen !== undefined) return fromRunItem(lastSeen)
    const run = await table.findRun(runId)
    if (run === null) throw new RunNotFoundError(runId)
    return run
  }
}

/** The transaction's action on the run item in `mode`. */
function runActionOf(tableName: string, runId: string, name: string, now: number, mode: DeliverMode): TransactWriteItem {
  const expr = new Expression()
  const open = expr.in(ATTR.runStatus, mode === 'wake' ? CLAIMABLE_RUN_STATUSES : mode === 'wakeParked' ? ['PAUSED'] : OPEN_RUN_STATUSES)
  const waitEvent = expr.name(RUN.waitEvent)
  const nameValue = expr.value(s(name))
  const deliveredName = { SS: [name] }
  if (mode === 'check') {
    return {
      Update: {
        TableName: tableName,
        Key: keyItem(runKey(runId)),
        UpdateExpression: new UpdateClauses(expr).add(RUN.deliveredEvents, deliveredName).render(),
        ConditionExpression: `attribute_exists(${expr.name(PK)}) AND ${open} AND (attribute_not_exists(${waitEvent}) OR ${waitEvent} <> ${nameValue})`,
        ...expr.attributes(),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    }
  }
  const update = new UpdateClauses(expr)
    .set(RUN.wakeAt, n(now))
    .set(RUN.updatedAt, n(now))
    .set(mode === 'wake' ? ATTR.dueAt : RUN.parkedDueAt, n(now))
    .add(RUN.deliveredEvents, deliveredName)
  return {
    Update: {
      TableName: tableName,
      Key: keyItem(runKey(runId)),
      UpdateExpression: update.render(),
      ConditionExpression: `attribute_exists(${expr.name(PK)}) AND ${open} AND ${waitEvent} = ${nameValue}`,
      ...expr.attributes(),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  }
}

/** What the failed conditions of a delivery mean: the run's (action 0) first, then the event's (action 1). */
function readRefusal(failures: readonly ConditionFailure[], runId: string, name: string, mayReplan: boolean): DeliveryRefusal {
  const run = failures.find((f) => f.index === 0)
  if (run !== undefined) {
    if (run.item === undefined) return { kind: 'refused', error: new RunNotFoundError(runId) }
    const status = runStatusOf(run.item)
    if (status === null || isTerminalRunStatus(status)) {
      return { kind: 'refused', error: new RunAlreadyFinishedError(runId, status ?? 'CANCELLED') }
    }
  }
  if (failures.some((f) => f.index === 1)) return { kind: 'refused', error: new EventAlreadyDeliveredError(runId, name) }
  if (run?.item === undefined || !mayReplan) {
    return { kind: 'refused', error: new StoreUnavailableError(`deliverEvent to run ${runId}: the run kept changing`) }
  }
  const waiting = readOptionalString(run.item, RUN.waitEvent) === name
  const mode: DeliverMode = !waiting ? 'check' : runStatusOf(run.item) === 'PAUSED' ? 'wakeParked' : 'wake'
  return { kind: 'replan', mode, run: run.item }
}
