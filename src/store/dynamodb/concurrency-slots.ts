/**
 * @module
 * Per-resource concurrency on DynamoDB. A run with a `concurrencyLimit` and a `resourceId` takes a place in the
 * slot item of its (workflowId, resourceId) before it runs: the item's `holders` string set holds the run ids,
 * and a claim adds itself only while the set is smaller than the limit. The run item carries `holdsSlot` while
 * it is a holder; the terminal commit, `cancelRun` and `deleteRun` take it out again.
 */
import type { Update } from '@aws-sdk/client-dynamodb'
import { Expression } from './expression'
import { slotKey } from './keys'
import { keyItem, n, readOptionalNumber, readOptionalString, readString, RUN, s, SLOT, type Item } from './mappers'

/** The concurrency slot item a run takes a place in, and its limit. */
export interface SlotRef {
  readonly workflowId: string
  readonly resourceId: string
  readonly limit: number
}

/** The slot item of a run with a concurrency limit and a resource; null for runs without one. */
export function slotRefOf(item: Item): SlotRef | null {
  const limit = readOptionalNumber(item, RUN.concurrencyLimit)
  const resourceId = readOptionalString(item, RUN.resourceId)
  if (limit === null || resourceId === null) return null
  return { workflowId: readString(item, RUN.workflowId), resourceId, limit }
}

/** The slot a run item holds a place in, or null. */
export function heldSlotOf(item: Item): SlotRef | null {
  return item[RUN.holdsSlot] === undefined ? null : slotRefOf(item)
}

/**
 * The slot item update that adds `runId` to the holders, conditioned on a free place (or on holding one
 * already, so a resent claim is no refusal).
 */
export function takeSlotUpdate(tableName: string, runId: string, slot: SlotRef): Update {
  const expr = new Expression()
  const holders = expr.name(SLOT.holders)
  const self = expr.value(s(runId))
  const update = `ADD ${holders} ${expr.value({ SS: [runId] })} SET ${expr.name(SLOT.workflowId)} = ${expr.value(
    s(slot.workflowId),
  )}, ${expr.name(SLOT.resourceId)} = ${expr.value(s(slot.resourceId))}`
  const condition = `attribute_not_exists(${holders}) OR size(${holders}) < ${expr.value(n(slot.limit))} OR contains(${holders}, ${self})`
  return {
    TableName: tableName,
    Key: keyItem(slotKey(slot.workflowId, slot.resourceId)),
    UpdateExpression: update,
    ConditionExpression: condition,
    ...expr.attributes(),
  }
}

/**
 * The slot item update that takes `runId` out of the holders. Unconditional: releasing twice changes nothing.
 * The item itself stays (an empty holder set is no attribute at all) and gets no `ttl`: it may hold other,
 * longer-lived runs, and a TTL deletion would silently reset its count.
 */
export function releaseSlotUpdate(tableName: string, runId: string, slot: SlotRef): Update {
  const expr = new Expression()
  const expression = `DELETE ${expr.name(SLOT.holders)} ${expr.value({ SS: [runId] })}`
  return {
    TableName: tableName,
    Key: keyItem(slotKey(slot.workflowId, slot.resourceId)),
    UpdateExpression: expression,
    ...expr.attributes(),
  }
}
