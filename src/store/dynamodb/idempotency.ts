/**
 * @module
 * Idempotent starts. A run with an `idempotencyKey` is created together with a guard item keyed by (workflowId,
 * key) that names the run; the guard's `attribute_not_exists` condition makes the key unique, also under
 * concurrent duplicates. A guard can outlive its run (TTL deletes items in no particular order), so a guard
 * whose run is gone is deleted and the create retried.
 */
import { DeleteItemCommand, type Put } from '@aws-sdk/client-dynamodb'
import { Expression } from './expression'
import { idempotencyKey, PK } from './keys'
import { keyItem, readOptionalString, RUN, s, toGuardItem } from './mappers'
import type { DynamoTable } from './table'

/** The Put of the guard of (workflowId, key), refused with the existing guard when the key is taken. */
export function guardPut(tableName: string, workflowId: string, key: string, runId: string, ttl: number | null): Put {
  return {
    TableName: tableName,
    Item: toGuardItem(workflowId, key, runId, ttl),
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': PK },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  }
}

/** The run the guard of (workflowId, key) names, or null when there is no guard. */
export async function guardedRunId(table: DynamoTable, workflowId: string, key: string): Promise<string | null> {
  const guard = await table.getItem('createRun', idempotencyKey(workflowId, key))
  return guard === undefined ? null : readOptionalString(guard, RUN.runId)
}

/** Deletes the guard of (workflowId, key) if it still points at `runId`. */
export async function deleteGuard(table: DynamoTable, workflowId: string, key: string, runId: string): Promise<void> {
  const expr = new Expression()
  const condition = `${expr.name(RUN.runId)} = ${expr.value(s(runId))}`
  // A failed condition means someone else replaced or removed the guard first: nothing left to do.
  await table.send('deleteGuard', () =>
    table.client.send(
      new DeleteItemCommand({
        TableName: table.name,
        Key: keyItem(idempotencyKey(workflowId, key)),
        ConditionExpression: condition,
        ...expr.attributes(),
      }),
    ),
  )
}
