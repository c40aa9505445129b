/**
 * @module
 * `claimRun` on DynamoDB. A run that needs no concurrency slot (no limit, or one it already holds) is claimed by
 * one conditional UpdateItem. A run that must first take a slot is claimed by one TransactWriteItems that takes
 * its place in the slot item as well (see concurrency-slots.ts). Which write to try first is a guess (the run's
 * hint); each refused write returns the run as it was, which decides the next attempt.
 */
import { TransactWriteItemsCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb'
import { RunNotFoundError, StoreUnavailableError } from '../../core/errors'
import type { Claim } from '../../core/store'
import { CLAIMABLE_RUN_STATUSES, isClaimable } from '../rules'
import { slotRefOf, takeSlotUpdate, type SlotRef } from './concurrency-slots'
import { Expression, UpdateClauses } from './expression'
import { ATTR, PK, runKey } from './keys'
import { fromRunItem, keyItem, n, RUN, s, type Item } from './mappers'
import type { StoreContext } from './store-context'
import { REPLAN_ATTEMPTS, SLOT_TRANSACTION_ATTEMPTS, type DynamoTable } from './table'

/** How one claim attempt ended. */
type ClaimOutcome =
  /** Claimed; `item` is the run as written, or undefined when it must be read back (after a transaction). */
  | { readonly kind: 'claimed'; readonly item: Item | undefined }
  /** Not claimable at all (status, lease, wakeAt). */
  | { readonly kind: 'unclaimable' }
  /** Claimable, but the slot item is full. */
  | { readonly kind: 'noSlot'; readonly ref: SlotRef }
  /** Claimable once it has a slot: retry with the slot transaction. */
  | { readonly kind: 'needsSlot'; readonly ref: SlotRef; readonly item: Item }
  /** It holds its slot already: retry with the plain claim. */
  | { readonly kind: 'holdsSlot' }
  /** The run changed between the attempts: try again. */
  | { readonly kind: 'retry' }

export async function claimRun(
  ctx: StoreContext,
  runId: string,
  owner: string,
  now: number,
  leaseMs: number,
  listSteps: (runId: string) => Promise<Claim['steps']>,
): Promise<Claim | null> {
  const { table, hints } = ctx
  const expiresAt = now + leaseMs
  // Which write to try first: the plain claim, unless this store saw the run wait for a slot before.
  const hint = hints.get(runId)
  let slot: SlotRef | null = hint !== undefined && !hint.held ? hint.slot : null
  let known: Item | undefined
  for (let attempt = 1; attempt <= REPLAN_ATTEMPTS; attempt++) {
    const outcome =
      slot === null
        ? await claimPlain(table, runId, owner, now, expiresAt)
        : await claimWithSlot(table, runId, owner, now, expiresAt, slot, known)
    switch (outcome.kind) {
      case 'claimed': {
        // After a slot transaction that was not pinned to a known item (it returns none): read the run back.
        const item = outcome.item ?? (await table.getItem('claimRun', runKey(runId)))
        if (item === undefined) throw new StoreUnavailableError(`claimRun of run ${runId} found no run after claiming it`)
        const run = fromRunItem(item)
        hints.remember(runId, { status: run.status, slot: slotRefOf(item), held: item[RUN.holdsSlot] !== undefined })
        // A run no commit ever wrote a step for has none: its first claim is a single request.
        const steps = item[RUN.stepsWritten] === undefined ? [] : await listSteps(runId)
        return { lease: { runId, owner, expiresAt }, run, steps }
      }
      case 'unclaimable':
        return null
      case 'noSlot':
        hints.remember(runId, { status: null, slot: outcome.ref, held: false })
        return null
      case 'needsSlot':
        known = outcome.item
        slot = outcome.ref
        break
      case 'holdsSlot':
        slot = null
        break
      case 'retry':
        break
    }
  }
  // The run kept changing under this claim (other claimants): not claimable now; a sweeper will try again.
  return null
}

/**
 * isClaimable() of ../rules.ts as a condition on a run item: claimable now by `owner`, or by anybody (due) when
 * `owner` is null. Both claim writes and the sweeper's filter (listing.ts) use it.
 */
export function claimableCondition(expr: Expression, owner: string | null, now: number): string {
  const nowValue = expr.value(n(now))
  const lease = expr.name(RUN.leaseExpiresAt)
  const leaseOwner = expr.name(RUN.leaseOwner)
  const wake = expr.name(RUN.wakeAt)
  const ownLease = owner === null ? '' : ` OR ${leaseOwner} = ${expr.value(s(owner))}`
  return [
    expr.in(ATTR.runStatus, CLAIMABLE_RUN_STATUSES),
    `(attribute_not_exists(${leaseOwner}) OR attribute_not_exists(${lease}) OR ${lease} <= ${nowValue}${ownLease})`,
    `(attribute_not_exists(${wake}) OR ${wake} <= ${nowValue})`,
  ].join(' AND ')
}

/**
 * The claim of a run that needs no slot (no limit, or one it already holds): one conditional UpdateItem, whose
 * condition also requires that. A run that needs a slot fails it and is claimed with {@link claimWithSlot}.
 */
async function claimPlain(table: DynamoTable, runId: string, owner: string, now: number, expiresAt: number): Promise<ClaimOutcome> {
  const expr = new Expression()
  const update = new UpdateClauses(expr)
    .set(RUN.leaseOwner, s(owner))
    .set(RUN.leaseExpiresAt, n(expiresAt))
    // Claimable implies wakeAt <= now < expiresAt, so the run is next due when this lease expires.
    .set(ATTR.dueAt, n(expiresAt))
  const condition = [
    `attribute_exists(${expr.name(PK)})`,
    claimableCondition(expr, owner, now),
    `(attribute_not_exists(${expr.name(RUN.concurrencyLimit)}) OR attribute_not_exists(${expr.name(RUN.resourceId)}) OR attribute_exists(${expr.name(RUN.holdsSlot)}))`,
  ].join(' AND ')
  const result = await table.updateRunItem('claimRun', runId, update, condition)
  return result.ok ? { kind: 'claimed', item: result.written } : refusedClaim(result.old, owner, now)
}

/**
 * The claim of a run that must first take a concurrency slot: one TransactWriteItems that claims the run (as
 * {@link claimPlain} does, and marks it `holdsSlot`) and adds it to the slot item's holders, on the condition
 * that the holders are fewer than the run's limit. Contended slot items are retried with more patience than
 * other transactions, so concurrent claimants never see a spurious refusal.
 *
 * A transaction returns no item. When the run is `known` (the refused plain claim returned it), the run's
 * update is also conditioned on what every other write changes (status, updatedAt, lease owner and expiry,
 * wakeAt, stepsWritten), so the claimed run is exactly `known` with this claim's lease; otherwise it is read
 * back.
 */
async function claimWithSlot(
  table: DynamoTable,
  runId: string,
  owner: string,
  now: number,
  expiresAt: number,
  slot: SlotRef,
  known: Item | undefined,
): Promise<ClaimOutcome> {
  const runExpr = new Expression()
  const changes: Item = {
    [RUN.leaseOwner]: s(owner),
    [RUN.leaseExpiresAt]: n(expiresAt),
    [ATTR.dueAt]: n(expiresAt),
    [RUN.holdsSlot]: { BOOL: true },
  }
  const runUpdate = new UpdateClauses(runExpr)
  for (const [name, value] of Object.entries(changes)) runUpdate.set(name, value)
  const conditions = [
    `attribute_exists(${runExpr.name(PK)})`,
    claimableCondition(runExpr, owner, now),
    `attribute_not_exists(${runExpr.name(RUN.holdsSlot)})`,
  ]
  if (known !== undefined) {
    for (const name of [ATTR.runStatus, RUN.updatedAt, RUN.leaseOwner, RUN.leaseExpiresAt, RUN.wakeAt, RUN.stepsWritten]) {
      const value = known[name]
      conditions.push(
        value === undefined ? `attribute_not_exists(${runExpr.name(name)})` : `${runExpr.name(name)} = ${runExpr.value(value)}`,
      )
    }
  }
  const items: TransactWriteItem[] = [
    {
      Update: {
        TableName: table.name,
        Key: keyItem(runKey(runId)),
        UpdateExpression: runUpdate.render(),
        ConditionExpression: conditions.join(' AND '),
        ...runExpr.attributes(),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
    { Update: takeSlotUpdate(table.name, runId, slot) },
  ]
  const sent = await table.send(
    'claimRun',
    () => table.client.send(new TransactWriteItemsCommand({ TransactItems: items })),
    SLOT_TRANSACTION_ATTEMPTS,
  )
  if (sent.ok) return { kind: 'claimed', item: known === undefined ? undefined : { ...known, ...changes } }
  const run = sent.failures.find((f) => f.index === 0)
  if (run === undefined) return { kind: 'noSlot', ref: slot }
  if (run.item === undefined) throw new RunNotFoundError(runId)
  return refusedClaim(run.item, owner, now)
}

/** Why a claim's condition failed, read from the run item as it was. */
function refusedClaim(item: Item, owner: string, now: number): ClaimOutcome {
  if (!isClaimable(fromRunItem(item), owner, now)) return { kind: 'unclaimable' }
  if (item[RUN.holdsSlot] !== undefined) return { kind: 'holdsSlot' }
  const ref = slotRefOf(item)
  return ref === null ? { kind: 'retry' } : { kind: 'needsSlot', ref, item }
}
