/**
 * @module
 * Schedule states on DynamoDB: one item per scheduled workflow in the `SCHEDULES` partition (keys.ts). Listing is
 * one Query; an update is one UpdateItem, or two when another engine recorded a later tick meanwhile.
 */
import { QueryCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb'
import { StoreUnavailableError } from '../../core/errors'
import type { SchedulePatch, ScheduleState } from '../../core/store'
import { Expression } from './expression'
import { PK, SCHEDULES_PK, scheduleKey } from './keys'
import { keyItem, n, readNumber, readOptionalNumber, readString, s, type Item } from './mappers'
import type { DynamoTable } from './table'

const ATTR = { workflowId: 'workflowId', paused: 'paused', lastTickAt: 'lastTickAt', updatedAt: 'updatedAt' } as const

/** Every schedule state, in workflowId order (the sort key's). */
export async function listScheduleStates(table: DynamoTable): Promise<ScheduleState[]> {
  const items: Item[] = []
  let start: Record<string, AttributeValue> | undefined
  do {
    const expr = new Expression()
    const page = await table.request('listScheduleStates', () =>
      table.client.send(
        new QueryCommand({
          TableName: table.name,
          KeyConditionExpression: `${expr.name(PK)} = ${expr.value(s(SCHEDULES_PK))}`,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...expr.attributes(),
        }),
      ),
    )
    items.push(...(page.Items ?? []))
    start = page.LastEvaluatedKey
  } while (start !== undefined)
  return items.map(fromScheduleItem)
}

/** Upserts one state; `lastTickAt` is written only when later than the stored one (a condition, not a read). */
export async function updateScheduleState(
  table: DynamoTable,
  workflowId: string,
  patch: SchedulePatch,
  now: number,
): Promise<ScheduleState> {
  const first = await update(table, workflowId, patch, now)
  if (first !== null) return first
  // A later tick is stored already: apply the rest of the patch and keep it.
  const rest = await update(table, workflowId, { ...(patch.paused === undefined ? {} : { paused: patch.paused }) }, now)
  if (rest === null) throw new StoreUnavailableError(`updateScheduleState of ${workflowId} failed its condition twice`)
  return rest
}

async function update(table: DynamoTable, workflowId: string, patch: SchedulePatch, now: number): Promise<ScheduleState | null> {
  const expr = new Expression()
  const paused = expr.name(ATTR.paused)
  const sets = [
    `${expr.name(ATTR.workflowId)} = ${expr.value(s(workflowId))}`,
    `${expr.name(ATTR.updatedAt)} = ${expr.value(n(now))}`,
    patch.paused === undefined
      ? `${paused} = if_not_exists(${paused}, ${expr.value({ BOOL: false })})`
      : `${paused} = ${expr.value({ BOOL: patch.paused })}`,
  ]
  let condition: string | undefined
  if (patch.lastTickAt !== undefined) {
    const last = expr.name(ATTR.lastTickAt)
    const tick = expr.value(n(patch.lastTickAt))
    sets.push(`${last} = ${tick}`)
    condition = `attribute_not_exists(${last}) OR ${last} < ${tick}`
  }
  const sent = await table.send('updateScheduleState', () =>
    table.client.send(
      new UpdateItemCommand({
        TableName: table.name,
        Key: keyItem(scheduleKey(workflowId)),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ...(condition === undefined ? {} : { ConditionExpression: condition }),
        ...expr.attributes(),
        ReturnValues: 'ALL_NEW',
      }),
    ),
  )
  if (!sent.ok) return null
  const item = sent.value.Attributes
  if (item === undefined) throw new StoreUnavailableError(`updateScheduleState of ${workflowId} returned no item`)
  return fromScheduleItem(item)
}

function fromScheduleItem(item: Item): ScheduleState {
  return {
    workflowId: readString(item, ATTR.workflowId),
    paused: item[ATTR.paused]?.BOOL === true,
    lastTickAt: readOptionalNumber(item, ATTR.lastTickAt),
    updatedAt: readNumber(item, ATTR.updatedAt),
  }
}
