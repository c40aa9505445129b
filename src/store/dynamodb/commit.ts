/**
 * @module
 * `commit` on DynamoDB: one UpdateItem of the run, or one TransactWriteItems when the commit writes steps or
 * releases a concurrency slot, conditioned on the lease owner, on the run's status and on the item's size.
 * The write is planned on guesses (the run's status as this store last saw it, whether it holds a slot) that the
 * condition checks; a refused write's old item says which guess was wrong, and the commit is planned again.
 */
import { TransactWriteItemsCommand, UpdateItemCommand, type AttributeValue, type TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { InvalidArgumentError, LeaseLostError, RunAlreadyFinishedError, RunNotFoundError } from '../../core/errors'
import { isTerminalRunStatus, type RunStatus } from '../../core/model'
import type { CommitResult, Lease, RunCommit } from '../../core/store'
import { CLAIMABLE_RUN_STATUSES, checkCommitSteps, dueTime } from '../rules'
import { heldSlotOf, releaseSlotUpdate, type SlotRef } from './concurrency-slots'
import { awaitedEventUndelivered, awaitedEventWasDelivered } from './awaited-event'
import { Expression, UpdateClauses } from './expression'
import { payloadBytesOf } from './item-budget'
import { DYNAMODB_TRANSACTION_ACTIONS } from './item-size'
import { ATTR, PK, runKey, SK } from './keys'
import {
  dueAttributeOf,
  fromRunItem,
  json,
  keyItem,
  n,
  readOptionalString,
  RUN,
  runStatusOf,
  s,
  toStepItem,
  waitEventOf,
  type Item,
} from './mappers'
import type { StoreContext } from './store-context'
import { REPLAN_ATTEMPTS, SLOT_TRANSACTION_ATTEMPTS, TRANSACTION_ATTEMPTS, type Sent } from './table'

/** Statuses a run is open in: PAUSED as well as the claimable ones. */
export const OPEN_RUN_STATUSES: readonly RunStatus[] = [...CLAIMABLE_RUN_STATUSES, 'PAUSED']

/** How a commit writes the status: which statuses its condition accepts, the status it sets, and the result. */
export interface CommitPlan {
  readonly from: readonly RunStatus[]
  /** Null: the status is left as it is. */
  readonly set: RunStatus | null
  /** The run's status after the commit. */
  readonly result: RunStatus
}

/** What a refused commit write means, read from the run item as it was. */
export type CommitRefusal =
  /** An SDK retry after a lost reply met this very commit: it succeeded. */
  | { readonly kind: 'applied' }
  /** A guess was wrong (status or slot): plan again with what the item shows. */
  | { readonly kind: 'replan'; readonly observed: RunStatus; readonly release: SlotRef | null }
  /** The event the run would wait for was already delivered: write the commit again with wakeAt = now. */
  | { readonly kind: 'wakeNow' }
  /** The commit cannot apply; the owner gets this error. */
  | { readonly kind: 'refused'; readonly error: Error }

export async function commit(ctx: StoreContext, lease: Lease, commit: RunCommit): Promise<CommitResult> {
  const { table, budget, retention, hints } = ctx
  const { runId } = lease
  const patch = commit.run
  const terminal = patch.status !== undefined && isTerminalRunStatus(patch.status)
  const ttl = terminal ? retention.ttlFor(patch.completedAt ?? commit.now) : null

  checkCommitSteps(runId, commit.steps)
  const stepItems = commit.steps.map((step) => {
    const item = toStepItem(step, ttl)
    budget.check(`step ${step.stepId} of run ${runId}`, item)
    return item
  })
  if (new Set(commit.steps.map((step) => step.stepId)).size !== commit.steps.length) {
    throw new InvalidArgumentError(`commit of run ${runId} lists a step twice`)
  }
  if (stepItems.length + 1 > DYNAMODB_TRANSACTION_ACTIONS) {
    throw new InvalidArgumentError(
      `commit of run ${runId} writes ${stepItems.length} steps; DynamoDB allows ${DYNAMODB_TRANSACTION_ACTIONS - 1} per commit`,
    )
  }

  const outputValue = patch.output === undefined ? undefined : json(patch.output)
  const errorValue = patch.error === undefined ? undefined : patch.error === null ? null : json(patch.error)
  const waitingValue = patch.waitingFor === undefined ? undefined : patch.waitingFor === null ? null : json(patch.waitingFor)
  const waitEvent = patch.waitingFor === undefined ? undefined : waitEventOf(patch.waitingFor)
  // Bytes this commit adds to the run item beyond its fixed part and the reserved scalars.
  const payloadBytes = payloadBytesOf([
    [RUN.output, outputValue],
    [RUN.error, errorValue],
    [RUN.waitingFor, waitingValue],
    [RUN.waitEvent, waitEvent ? s(waitEvent) : undefined],
  ])
  // The run item's fixed part (input, context, tags, ids) is not known here; its size is, as `baseBytes`.
  // The condition refuses the write when fixed part + this commit's payload + scalars would exceed the limit.
  const allowance = budget.commitAllowance(runId, payloadBytes)
  budget.checkCommitTransaction(runId, stepItems)

  // The write is planned on a guess of the run's status (as this store last saw it, else RUNNING, the usual
  // case) and, for a terminal commit, of whether it holds a concurrency slot (known when this store claimed
  // it). The condition checks the guess; when it was wrong, the refused write's old item tells the truth and
  // the commit is sent again (one more request: a commit that meets a pause made through another store, a
  // terminal commit of a slot holder this store did not claim).
  let observed: RunStatus | null = hints.get(runId)?.status ?? null
  let release: SlotRef | null = terminal ? hints.heldSlot(runId) : null
  // Set when the awaited event was found delivered: the commit is written again with wakeAt = now.
  let wakeNow = false
  for (let attempt = 1; ; attempt++) {
    const plan = planCommit(patch.status, observed)
    const withSlot = release !== null
    if (stepItems.length + 1 + (withSlot ? 1 : 0) > DYNAMODB_TRANSACTION_ACTIONS) {
      throw new InvalidArgumentError(
        `the terminal commit of run ${runId} also releases its concurrency slot, so it may write at most ` +
          `${DYNAMODB_TRANSACTION_ACTIONS - 2} steps`,
      )
    }
    const expr = new Expression()
    const update = new UpdateClauses(expr).set(RUN.updatedAt, n(commit.now))
    if (plan.set !== null) update.set(ATTR.runStatus, s(plan.set))
    if (patch.progress !== undefined) update.set(RUN.progress, n(patch.progress))
    if (outputValue !== undefined) update.set(RUN.output, outputValue)
    if (errorValue !== undefined) update.setOrRemove(RUN.error, errorValue)
    if (patch.startedAt !== undefined) update.setOrRemove(RUN.startedAt, nullableNumber(patch.startedAt))
    if (patch.completedAt !== undefined) update.setOrRemove(RUN.completedAt, nullableNumber(patch.completedAt))
    const wake = wakeNow ? commit.now : patch.wakeAt
    if (wake !== undefined) update.setOrRemove(RUN.wakeAt, nullableNumber(wake))
    if (waitingValue !== undefined) update.setOrRemove(RUN.waitingFor, waitingValue)
    if (waitEvent !== undefined) update.setOrRemove(RUN.waitEvent, waitEvent === null ? null : s(waitEvent))
    if (commit.leaseExpiresAt === null) update.remove(RUN.leaseOwner).remove(RUN.leaseExpiresAt)
    else update.set(RUN.leaseExpiresAt, n(commit.leaseExpiresAt))
    // A wakeAt this patch does not set was due at claim time (claims require it), so the key is never later
    // than the run's true due time; listDueRuns filters on the real attributes.
    setDueAttribute(update, plan.result, dueTime(commit.leaseExpiresAt, wake ?? null))
    if (stepItems.length > 0) update.set(RUN.stepsWritten, { BOOL: true })
    if (withSlot) update.remove(RUN.holdsSlot)

    const conditions = [
      `attribute_exists(${expr.name(PK)})`,
      `${expr.name(RUN.leaseOwner)} = ${expr.value(s(lease.owner))}`,
      expr.in(ATTR.runStatus, plan.from),
      `(attribute_not_exists(${expr.name(RUN.baseBytes)}) OR ${expr.name(RUN.baseBytes)} <= ${expr.value(n(allowance))})`,
    ]
    if (terminal) conditions.push(`${withSlot ? 'attribute_exists' : 'attribute_not_exists'}(${expr.name(RUN.holdsSlot)})`)
    const eventGuard = wakeNow ? null : awaitedEventUndelivered(expr, patch, commit.now)
    if (eventGuard !== null) conditions.push(eventGuard)
    const runUpdate = {
      TableName: table.name,
      Key: keyItem(runKey(runId)),
      UpdateExpression: update.render(),
      ConditionExpression: conditions.join(' AND '),
      ...expr.attributes(),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    }
    const single = stepItems.length === 0 && !withSlot
    let sent: Sent<unknown>
    if (single) {
      sent = await table.send('commit', () => table.client.send(new UpdateItemCommand(runUpdate)))
    } else {
      const items: TransactWriteItem[] = [{ Update: runUpdate }]
      if (release !== null) items.push({ Update: releaseSlotUpdate(table.name, runId, release) })
      items.push(...stepItems.map((item) => ({ Put: { TableName: table.name, Item: item } })))
      sent = await table.send(
        'commit',
        () => table.client.send(new TransactWriteItemsCommand({ TransactItems: items })),
        withSlot ? SLOT_TRANSACTION_ATTEMPTS : TRANSACTION_ATTEMPTS,
      )
    }
    if (!sent.ok) {
      const failure = sent.failures.find((f) => f.index === 0)
      if (failure === undefined) throw table.failure(sent.error, 'commit')
      if (failure.item === undefined) throw new RunNotFoundError(runId)
      const refusal = readRefusal(failure.item, {
        runId,
        lease,
        commit: wakeNow ? { ...commit, run: { ...patch, wakeAt: commit.now } } : commit,
        plan,
        terminal,
        eventGuarded: eventGuard !== null,
        withSlot,
        // A transaction retried by the SDK is deduplicated by its ClientRequestToken; a single UpdateItem is
        // not, so a retry after a lost reply can find its own write (lease released, run ended).
        mayBeOwnWrite: single,
        overflow: budget.commitOverflow(runId, failure.item, payloadBytes),
        mayReplan: attempt < REPLAN_ATTEMPTS,
      })
      if (refusal.kind === 'refused') throw refusal.error
      if (refusal.kind === 'wakeNow') {
        wakeNow = true
        continue
      }
      if (refusal.kind === 'replan') {
        observed = refusal.observed
        release = refusal.release
        continue
      }
    }

    if (terminal) hints.forget(runId)
    else hints.rememberStatus(runId, plan.result)
    if (ttl !== null) {
      const written = new Set(stepItems.map((item) => item[SK]?.S ?? ''))
      await retention.closeRun(table, runId, { ttl, cancelAt: null, alreadyStamped: written })
    }
    return {
      lease: { runId, owner: lease.owner, expiresAt: commit.leaseExpiresAt ?? lease.expiresAt },
      status: plan.result,
      awaitedEventDelivered: wakeNow,
    }
  }
}

/**
 * How a commit writes the status. `observed` is the run's status as a refused attempt returned it, or null
 * before the first attempt (then RUNNING is assumed: the engine's usual case).
 */
export function planCommit(status: RunStatus | undefined, observed: RunStatus | null): CommitPlan {
  if (status === 'RUNNING') {
    // RUNNING starts a PENDING run; a PAUSED one stays PAUSED (an operator's pause that came meanwhile stands).
    if (observed === 'PAUSED') return { from: ['PAUSED'], set: null, result: 'PAUSED' }
    return { from: CLAIMABLE_RUN_STATUSES, set: 'RUNNING', result: 'RUNNING' }
  }
  if (status !== undefined) return { from: OPEN_RUN_STATUSES, set: status, result: status }
  const current = observed ?? 'RUNNING'
  return { from: [current], set: null, result: current }
}

interface RefusedAttempt {
  readonly runId: string
  readonly lease: Lease
  readonly commit: RunCommit
  readonly plan: CommitPlan
  readonly terminal: boolean
  readonly withSlot: boolean
  /** The write was conditioned on the awaited event being undelivered. */
  readonly eventGuarded: boolean
  readonly mayBeOwnWrite: boolean
  /** The size refusal the old item implies, if any. */
  readonly overflow: Error | null
  readonly mayReplan: boolean
}

/** What a refused commit attempt means, from the run item as it was: checked in the order the owner needs. */
function readRefusal(item: Item, attempt: RefusedAttempt): CommitRefusal {
  const { runId, lease, plan } = attempt
  if (attempt.mayBeOwnWrite && commitApplied(item, lease, attempt.commit, plan.result)) return { kind: 'applied' }
  const status = runStatusOf(item)
  if (status !== null && isTerminalRunStatus(status)) return { kind: 'refused', error: new RunAlreadyFinishedError(runId, status) }
  if (readOptionalString(item, RUN.leaseOwner) !== lease.owner) return { kind: 'refused', error: new LeaseLostError(runId) }
  if (attempt.eventGuarded && attempt.mayReplan && awaitedEventWasDelivered(item, attempt.commit.run)) return { kind: 'wakeNow' }
  if (attempt.overflow !== null) return { kind: 'refused', error: attempt.overflow }
  const holds = item[RUN.holdsSlot] !== undefined
  if (attempt.mayReplan && status !== null && (!plan.from.includes(status) || (attempt.terminal && holds !== attempt.withSlot))) {
    return { kind: 'replan', observed: status, release: attempt.terminal ? heldSlotOf(item) : null }
  }
  return { kind: 'refused', error: new LeaseLostError(runId) }
}

/** Whether a stored run item already shows exactly what `commit` writes (same instant, fields and lease). */
function commitApplied(item: Item, lease: Lease, commit: RunCommit, status: RunStatus): boolean {
  const run = fromRunItem(item)
  const patch = commit.run
  const sameJson = (name: string, value: unknown) => item[name]?.S === (value === null ? undefined : JSON.stringify(value))
  if (run.updatedAt !== commit.now) return false
  if (run.status !== status) return false
  if (patch.waitingFor !== undefined && !sameJson(RUN.waitingFor, patch.waitingFor)) return false
  if (patch.progress !== undefined && run.progress !== patch.progress) return false
  if (patch.output !== undefined && item[RUN.output]?.S !== JSON.stringify(patch.output)) return false
  if (patch.error !== undefined && !sameJson(RUN.error, patch.error)) return false
  if (patch.startedAt !== undefined && run.startedAt !== patch.startedAt) return false
  if (patch.completedAt !== undefined && run.completedAt !== patch.completedAt) return false
  if (patch.wakeAt !== undefined && run.wakeAt !== patch.wakeAt) return false
  return commit.leaseExpiresAt === null
    ? run.leaseOwner === null
    : run.leaseOwner === lease.owner && run.leaseExpiresAt === commit.leaseExpiresAt
}

/** Puts a run's due time where its status keeps it (`dueAt` or `parkedDueAt`) and removes the other. */
export function setDueAttribute(update: UpdateClauses, status: RunStatus, due: number): void {
  const target = dueAttributeOf(status)
  for (const attribute of [ATTR.dueAt, RUN.parkedDueAt]) {
    if (attribute === target) update.set(attribute, n(due))
    else update.remove(attribute)
  }
}

function nullableNumber(value: number | null): AttributeValue | null {
  return value === null ? null : n(value)
}
