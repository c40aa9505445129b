/**
 * @module
 * `createRun` on DynamoDB: a PutItem of the run, or one TransactWriteItems when it carries steps or an
 * idempotency guard (see idempotency.ts). The run's `attribute_not_exists` condition decides for every item.
 */
import { PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb'
import { InvalidArgumentError, RunAlreadyExistsError, StoreUnavailableError } from '../../core/errors'
import { isTerminalRunStatus, type RunRecord, type StepExecution } from '../../core/model'
import type { CreateRunResult } from '../../core/store'
import { checkNewRunSteps } from '../rules'
import { deleteGuard, guardedRunId, guardPut } from './idempotency'
import { DYNAMODB_TRANSACTION_ACTIONS } from './item-size'
import { ATTR, createdSortValue, PK, tagIndexValue, tagItemKey } from './keys'
import { fromRunItem, keyItem, n, readOptionalString, RUN, s, toRunItem, toStepItem, type Item } from './mappers'
import type { StoreContext } from './store-context'

export async function createRun(
  { table, budget, retention }: StoreContext,
  run: RunRecord,
  steps: readonly StepExecution[],
): Promise<CreateRunResult> {
  checkNewRunSteps(run, steps)
  const ttl = isTerminalRunStatus(run.status) ? retention.ttlFor(run.completedAt ?? run.updatedAt) : null
  // stepsWritten tells a claim to query the steps (as a commit that writes steps sets it).
  const item = steps.length > 0 ? { ...toRunItem(run, ttl), [RUN.stepsWritten]: { BOOL: true } } : toRunItem(run, ttl)
  budget.check(`run ${run.runId}`, item)
  const stored = fromRunItem(item)
  const runPut = {
    TableName: table.name,
    Item: item,
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': PK },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  }
  // Step items ride in the run's transaction, unconditioned: the run's condition decides for all of them.
  const stepPuts = steps.map((step) => {
    const stepItem = toStepItem(step, ttl)
    budget.check(`step ${step.stepId} of run ${run.runId}`, stepItem)
    return { Put: { TableName: table.name, Item: stepItem } }
  })
  // One item per tag in the index `byTag` (one write unit each, in the same transaction): tags never change, so
  // nothing else writes them; they live in the run's partition, so deletion and TTL take them along.
  const tagPuts = Object.entries(run.tags).map(([key, value]) => {
    const tagItem: Item = {
      ...keyItem(tagItemKey(run.runId, key, value)),
      [ATTR.tagKey]: s(tagIndexValue(key, value)),
      [ATTR.createdSort]: s(createdSortValue(run.createdAt, run.runId)),
      ...(ttl === null ? {} : { [ATTR.ttl]: n(ttl) }),
    }
    budget.check(`tag ${key} of run ${run.runId}`, tagItem)
    return { Put: { TableName: table.name, Item: tagItem } }
  })
  const childPuts = [...stepPuts, ...tagPuts]
  if (childPuts.length + 2 > DYNAMODB_TRANSACTION_ACTIONS) {
    throw new InvalidArgumentError(
      `run ${run.runId} is created with ${steps.length} steps and ${tagPuts.length} tags; DynamoDB allows ${DYNAMODB_TRANSACTION_ACTIONS - 2} together`,
    )
  }

  if (run.idempotencyKey === null && childPuts.length > 0) {
    // The SDK's idempotency token makes a retried transaction after a lost reply a no-op, not a failure.
    const sent = await table.send('createRun', () =>
      table.client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: runPut }, ...childPuts] })),
    )
    if (!sent.ok) {
      throw sent.failures.some((f) => f.index === 0) ? new RunAlreadyExistsError(run.runId) : table.failure(sent.error, 'createRun')
    }
    return { run: stored, created: true }
  }
  if (run.idempotencyKey === null) {
    const sent = await table.send('createRun', () => table.client.send(new PutItemCommand(runPut)))
    // A refusal that shows this very item: the SDK retried after a lost reply, and its first attempt wrote it.
    const old = sent.ok ? undefined : sent.failures[0]?.item
    if (!sent.ok && !(old !== undefined && sameAttributes(old, item))) throw new RunAlreadyExistsError(run.runId)
    return { run: stored, created: true }
  }

  const key = run.idempotencyKey
  const guard = guardPut(table.name, run.workflowId, key, run.runId, ttl)
  // A guard can outlive its run: such a stale guard is removed and the create retried, once.
  for (let attempt = 1; ; attempt++) {
    const sent = await table.send('createRun', () =>
      table.client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: runPut }, { Put: guard }, ...childPuts] })),
    )
    if (sent.ok) return { run: stored, created: true }
    const taken = sent.failures.find((f) => f.index === 1)
    if (taken === undefined) throw new RunAlreadyExistsError(run.runId)
    const guarded =
      (taken.item === undefined ? null : readOptionalString(taken.item, RUN.runId)) ??
      (await guardedRunId(table, run.workflowId, key))
    if (guarded !== null) {
      const existing = await table.findRun(guarded)
      if (existing !== null) return { run: existing, created: false }
    }
    if (attempt >= 2) {
      throw new StoreUnavailableError(`idempotency guard of workflow ${run.workflowId} key ${key} points at a missing run`)
    }
    if (guarded !== null) await deleteGuard(table, run.workflowId, key, guarded)
  }
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
