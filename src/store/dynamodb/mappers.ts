/**
 * @module
 * Item ↔ record mapping for the DynamoDB store. Records are core types; items are raw `AttributeValue` maps (no
 * marshalling library, so sizes are computed on exactly what is sent). JSON payloads (input, output, context,
 * tags, errors) are stored as JSON text in string attributes: binary-safe for any `Json`, and their size is the
 * size of the text. Times are numbers (epoch ms); a null scalar is an absent attribute, which also keeps the
 * sparse indexes sparse.
 *
 * A few attributes exist for the store's conditions only and are not part of the record: `waitEvent` (the name of
 * the event the run waits for, so `deliverEvent` can compare it), `deliveredEvents` (the names of the events
 * delivered, so a commit can compare them), `parkedDueAt` (the due time of a PAUSED run) and
 * `holdsSlot` (the run is in its concurrency slot item's holder set).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb'
import { StoreUnavailableError } from '../../core/errors'
import {
  RUN_STATUSES,
  STEP_STATUSES,
  type DeliveredEvent,
  type Json,
  type RunRecord,
  type RunStatus,
  type StepError,
  type StepExecution,
  type StepStatus,
  type WaitingFor,
  type WebhookDelivery,
  type WorkflowError,
  awaitedEventName,
} from '../../core/model'
import { dueTime, isClaimableStatus } from '../rules'
import { itemSize } from './item-size'
import {
  ATTR,
  createdSortValue,
  eventKey,
  idempotencyKey,
  PK,
  resourceKeyValue,
  runKey,
  shardOf,
  stateKey,
  SK,
  stepKey,
  workflowKeyValue,
  type ItemKey,
} from './keys'

export type Item = Record<string, AttributeValue>

/** Run attributes (beside the index keys in {@link ATTR}) and the step/state attribute names. */
export const RUN = {
  runId: 'runId',
  workflowId: 'workflowId',
  workflowVersion: 'workflowVersion',
  /** Absent for runs stored before fingerprints existed. */
  workflowFingerprint: 'workflowFingerprint',
  progress: 'progress',
  input: 'input',
  output: 'output',
  error: 'error',
  resourceId: 'resourceId',
  tags: 'tags',
  context: 'context',
  idempotencyKey: 'idempotencyKey',
  createdAt: 'createdAt',
  startedAt: 'startedAt',
  completedAt: 'completedAt',
  updatedAt: 'updatedAt',
  leaseOwner: 'leaseOwner',
  leaseExpiresAt: 'leaseExpiresAt',
  wakeAt: 'wakeAt',
  cancelRequestedAt: 'cancelRequestedAt',
  /** JSON text of the run's `waitingFor`; absent when null. */
  waitingFor: 'waitingFor',
  /** Name of the event the run waits for: present exactly when `waitingFor.kind` is `event` or `child`. */
  waitEvent: 'waitEvent',
  /** String set of the names of the events delivered to the run, so a commit's condition can see them. */
  deliveredEvents: 'deliveredEvents',
  retryOf: 'retryOf',
  retriedBy: 'retriedBy',
  /** The parent of a child run; absent for a top-level run. */
  parentRunId: 'parentRunId',
  concurrencyLimit: 'concurrencyLimit',
  /** W3C traceparent the run was started under; absent when null. */
  traceparent: 'traceparent',
  /**
   * The completion webhook (absent without one): its URL, attempts, last HTTP status and delivery time; its next
   * attempt is the index attribute `webhookDueAt`. Counted as fixed by `baseBytes`: they change only once the run is
   * terminal, when no commit follows, and by a few bytes that the released lease owner has freed.
   */
  webhookUrl: 'webhookUrl',
  webhookAttempts: 'webhookAttempts',
  webhookLastStatus: 'webhookLastStatus',
  webhookDeliveredAt: 'webhookDeliveredAt',
  /** A PAUSED run's due time (what `dueAt` was, and becomes again on resume); absent in every other status. */
  parkedDueAt: 'parkedDueAt',
  /** Present (true) while the run is one of its slot item's holders; removed when it releases the slot. */
  holdsSlot: 'holdsSlot',
  /** Size of the attributes a commit never changes; lets a commit's condition bound the item size. */
  baseBytes: 'baseBytes',
  /** Present once any step was written: a claim of a run without it needs no step query. */
  stepsWritten: 'stepsWritten',
} as const

export const STEP = {
  runId: 'runId',
  stepId: 'stepId',
  executionIndex: 'executionIndex',
  status: 'status',
  attempt: 'attempt',
  interruptions: 'interruptions',
  input: 'input',
  output: 'output',
  error: 'error',
  startedAt: 'startedAt',
  completedAt: 'completedAt',
  durationMs: 'durationMs',
  wakeAt: 'wakeAt',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
} as const

export const STATE = { runId: 'runId', key: 'stateKey', value: 'value', updatedAt: 'updatedAt' } as const

export const EVENT = { runId: 'runId', name: 'eventName', payload: 'payload', receivedAt: 'receivedAt' } as const

/** The concurrency slot item of (workflowId, resourceId). */
export const SLOT = { holders: 'holders', workflowId: 'workflowId', resourceId: 'resourceId' } as const

/** Run attributes a claim, commit or cancel may write; everything else on a run item is fixed at creation. */
const MUTABLE_RUN_ATTRIBUTES: ReadonlySet<string> = new Set([
  ATTR.runStatus,
  ATTR.dueAt,
  ATTR.ttl,
  RUN.progress,
  RUN.output,
  RUN.error,
  RUN.startedAt,
  RUN.completedAt,
  RUN.updatedAt,
  RUN.leaseOwner,
  RUN.leaseExpiresAt,
  RUN.wakeAt,
  RUN.cancelRequestedAt,
  RUN.stepsWritten,
  RUN.waitingFor,
  RUN.waitEvent,
  RUN.retriedBy,
  RUN.parkedDueAt,
  RUN.holdsSlot,
])

/**
 * Upper bound of the mutable scalar attributes of a run item (status, times, lease owner, keys, ttl, the slot
 * flag, `retriedBy`): names plus values, with room for a 200-character lease owner and a 400-byte `retriedBy`.
 * Output, error and `waitingFor` are counted separately, from the commit.
 */
export const MUTABLE_SCALARS_RESERVE = 1536

/** The key attributes of an item. */
export const keyItem = (key: ItemKey): Item => ({ [PK]: { S: key.PK }, [SK]: { S: key.SK } })

export const s = (value: string): AttributeValue => ({ S: value })
export const n = (value: number): AttributeValue => ({ N: String(value) })
export const json = (
  value: Json | WorkflowError | StepError | WaitingFor | Readonly<Record<string, string>>,
): AttributeValue => ({
  S: JSON.stringify(value),
})

/** The attribute that holds a run's due time in this status: `dueAt` (indexed), `parkedDueAt` (PAUSED), or none. */
export function dueAttributeOf(status: RunStatus): string | null {
  return isClaimableStatus(status) ? ATTR.dueAt : status === 'PAUSED' ? RUN.parkedDueAt : null
}

/** The `waitEvent` attribute value for a `waitingFor`: the awaited event's name, or null when it awaits none. */
export const waitEventOf = (waitingFor: WaitingFor | null): string | null =>
  awaitedEventName(waitingFor)

/** The full run item for a new run, with its index keys and `baseBytes`. */
export function toRunItem(run: RunRecord, ttl: number | null): Item {
  const item: Item = {
    ...keyItem(runKey(run.runId)),
    [RUN.runId]: s(run.runId),
    [RUN.workflowId]: s(run.workflowId),
    [RUN.workflowVersion]: s(run.workflowVersion),
    [RUN.input]: json(run.input),
    [RUN.tags]: json(run.tags),
    [RUN.context]: json(run.context),
    [RUN.createdAt]: n(run.createdAt),
    [ATTR.workflowKey]: s(workflowKeyValue(run.workflowId)),
    [ATTR.shard]: n(shardOf(run.runId)),
    [ATTR.createdSort]: s(createdSortValue(run.createdAt, run.runId)),
  }
  if (run.resourceId !== null) {
    item[RUN.resourceId] = s(run.resourceId)
    item[ATTR.resourceKey] = s(resourceKeyValue(run.resourceId))
  }
  if (run.idempotencyKey !== null) item[RUN.idempotencyKey] = s(run.idempotencyKey)
  if (run.retryOf !== null) item[RUN.retryOf] = s(run.retryOf)
  if (run.parentRunId !== null) item[RUN.parentRunId] = s(run.parentRunId)
  if (run.workflowFingerprint !== null) item[RUN.workflowFingerprint] = s(run.workflowFingerprint)
  setOptionalNumber(item, RUN.concurrencyLimit, run.concurrencyLimit)
  if (run.traceparent !== null) item[RUN.traceparent] = s(run.traceparent)
  if (run.webhook !== null) Object.assign(item, webhookAttributes(run.webhook))
  // Everything above is fixed for the run's lifetime; `baseBytes` counts it (and itself, at most 30 bytes).
  item[RUN.baseBytes] = n(itemSize(item) + 30)

  item[ATTR.runStatus] = s(run.status)
  item[RUN.progress] = n(run.progress)
  item[RUN.output] = json(run.output)
  if (run.error !== null) item[RUN.error] = json(run.error)
  setOptionalNumber(item, RUN.startedAt, run.startedAt)
  setOptionalNumber(item, RUN.completedAt, run.completedAt)
  item[RUN.updatedAt] = n(run.updatedAt)
  if (run.leaseOwner !== null) item[RUN.leaseOwner] = s(run.leaseOwner)
  setOptionalNumber(item, RUN.leaseExpiresAt, run.leaseExpiresAt)
  setOptionalNumber(item, RUN.wakeAt, run.wakeAt)
  setOptionalNumber(item, RUN.cancelRequestedAt, run.cancelRequestedAt)
  if (run.waitingFor !== null) item[RUN.waitingFor] = json(run.waitingFor)
  const waitEvent = waitEventOf(run.waitingFor)
  if (waitEvent !== null) item[RUN.waitEvent] = s(waitEvent)
  if (run.retriedBy !== null) item[RUN.retriedBy] = s(run.retriedBy)
  const dueAttribute = dueAttributeOf(run.status)
  if (dueAttribute !== null) item[dueAttribute] = n(dueTime(run.leaseExpiresAt, run.wakeAt))
  if (ttl !== null) item[ATTR.ttl] = n(ttl)
  return item
}

/** Size of the attributes of a stored run item that no commit changes (what `baseBytes` recorded). */
export function fixedRunBytes(item: Item): number {
  const fixed: Item = {}
  for (const [name, value] of Object.entries(item)) if (!MUTABLE_RUN_ATTRIBUTES.has(name)) fixed[name] = value
  return itemSize(fixed)
}

export function fromRunItem(item: Item): RunRecord {
  const runId = readString(item, RUN.runId)
  return {
    runId,
    workflowId: readString(item, RUN.workflowId),
    workflowVersion: readString(item, RUN.workflowVersion),
    workflowFingerprint: readOptionalString(item, RUN.workflowFingerprint),
    status: readEnum(item, ATTR.runStatus, RUN_STATUSES),
    progress: readNumber(item, RUN.progress),
    input: readJson(item, RUN.input) as Json,
    output: readJson(item, RUN.output) as Json,
    error: (readOptionalJson(item, RUN.error) as WorkflowError | null) ?? null,
    resourceId: readOptionalString(item, RUN.resourceId),
    tags: readJson(item, RUN.tags) as Record<string, string>,
    context: readJson(item, RUN.context) as Json,
    idempotencyKey: readOptionalString(item, RUN.idempotencyKey),
    createdAt: readNumber(item, RUN.createdAt),
    startedAt: readOptionalNumber(item, RUN.startedAt),
    completedAt: readOptionalNumber(item, RUN.completedAt),
    updatedAt: readNumber(item, RUN.updatedAt),
    leaseOwner: readOptionalString(item, RUN.leaseOwner),
    leaseExpiresAt: readOptionalNumber(item, RUN.leaseExpiresAt),
    wakeAt: readOptionalNumber(item, RUN.wakeAt),
    cancelRequestedAt: readOptionalNumber(item, RUN.cancelRequestedAt),
    waitingFor: (readOptionalJson(item, RUN.waitingFor) as WaitingFor | null) ?? null,
    retryOf: readOptionalString(item, RUN.retryOf),
    retriedBy: readOptionalString(item, RUN.retriedBy),
    parentRunId: readOptionalString(item, RUN.parentRunId),
    concurrencyLimit: readOptionalNumber(item, RUN.concurrencyLimit),
    traceparent: readOptionalString(item, RUN.traceparent),
    webhook: webhookOf(item),
  }
}

/** The attributes of a webhook's delivery state; `webhookDueAt` only while it is due some time. */
export function webhookAttributes(webhook: WebhookDelivery): Item {
  const item: Item = { [RUN.webhookUrl]: s(webhook.url), [RUN.webhookAttempts]: n(webhook.attempts) }
  setOptionalNumber(item, RUN.webhookLastStatus, webhook.lastStatus)
  setOptionalNumber(item, RUN.webhookDeliveredAt, webhook.deliveredAt)
  if (webhook.deliveredAt === null) setOptionalNumber(item, ATTR.webhookDueAt, webhook.nextAttemptAt)
  return item
}

function webhookOf(item: Item): WebhookDelivery | null {
  const url = readOptionalString(item, RUN.webhookUrl)
  if (url === null) return null
  return {
    url,
    attempts: readNumber(item, RUN.webhookAttempts),
    lastStatus: readOptionalNumber(item, RUN.webhookLastStatus),
    nextAttemptAt: readOptionalNumber(item, ATTR.webhookDueAt),
    deliveredAt: readOptionalNumber(item, RUN.webhookDeliveredAt),
  }
}

/** Status of a stored run item, or null for an item that is not a run. */
export function runStatusOf(item: Item): RunStatus | null {
  const value = item[ATTR.runStatus]?.S
  return value !== undefined && (RUN_STATUSES as readonly string[]).includes(value) ? (value as RunStatus) : null
}

export function toStepItem(step: StepExecution, ttl: number | null): Item {
  const item: Item = {
    ...keyItem(stepKey(step.runId, step.stepId)),
    [STEP.runId]: s(step.runId),
    [STEP.stepId]: s(step.stepId),
    [STEP.executionIndex]: n(step.executionIndex),
    [STEP.status]: s(step.status),
    [STEP.attempt]: n(step.attempt),
    [STEP.interruptions]: n(step.interruptions),
    [STEP.input]: json(step.input),
    [STEP.output]: json(step.output),
    [STEP.durationMs]: n(step.durationMs),
    [STEP.createdAt]: n(step.createdAt),
    [STEP.updatedAt]: n(step.updatedAt),
  }
  if (step.error !== null) item[STEP.error] = json(step.error)
  setOptionalNumber(item, STEP.startedAt, step.startedAt)
  setOptionalNumber(item, STEP.completedAt, step.completedAt)
  setOptionalNumber(item, STEP.wakeAt, step.wakeAt)
  if (ttl !== null) item[ATTR.ttl] = n(ttl)
  return item
}

export function fromStepItem(item: Item): StepExecution {
  return {
    runId: readString(item, STEP.runId),
    stepId: readString(item, STEP.stepId),
    executionIndex: readNumber(item, STEP.executionIndex),
    status: readEnum(item, STEP.status, STEP_STATUSES),
    attempt: readNumber(item, STEP.attempt),
    // Absent on items written before interruptions were counted.
    interruptions: readOptionalNumber(item, STEP.interruptions) ?? 0,
    input: readJson(item, STEP.input) as Json,
    output: readJson(item, STEP.output) as Json,
    error: (readOptionalJson(item, STEP.error) as StepError | null) ?? null,
    startedAt: readOptionalNumber(item, STEP.startedAt),
    completedAt: readOptionalNumber(item, STEP.completedAt),
    durationMs: readNumber(item, STEP.durationMs),
    wakeAt: readOptionalNumber(item, STEP.wakeAt),
    createdAt: readNumber(item, STEP.createdAt),
    updatedAt: readNumber(item, STEP.updatedAt),
  }
}

export function stepStatusOf(item: Item): StepStatus {
  return readEnum(item, STEP.status, STEP_STATUSES)
}

export function toStateItem(runId: string, key: string, value: Json, now: number): Item {
  return {
    ...keyItem(stateKey(runId, key)),
    [STATE.runId]: s(runId),
    [STATE.key]: s(key),
    [STATE.value]: json(value),
    [STATE.updatedAt]: n(now),
  }
}

export function fromStateItem(item: Item): { key: string; value: Json } {
  return { key: readString(item, STATE.key), value: readJson(item, STATE.value) as Json }
}

/** An event item; its payload is JSON text like every other payload. */
export function toEventItem(runId: string, name: string, payload: Json, receivedAt: number): Item {
  return {
    ...keyItem(eventKey(runId, name)),
    [EVENT.runId]: s(runId),
    [EVENT.name]: s(name),
    [EVENT.payload]: json(payload),
    [EVENT.receivedAt]: n(receivedAt),
  }
}

export function fromEventItem(item: Item): DeliveredEvent {
  return {
    name: readString(item, EVENT.name),
    payload: readJson(item, EVENT.payload) as Json,
    receivedAt: readNumber(item, EVENT.receivedAt),
  }
}

/** The guard item of an idempotent run: it only points at the run. */
export function toGuardItem(workflowId: string, key: string, runId: string, ttl: number | null): Item {
  const item: Item = { ...keyItem(idempotencyKey(workflowId, key)), [RUN.runId]: s(runId) }
  if (ttl !== null) item[ATTR.ttl] = n(ttl)
  return item
}

export function readString(item: Item, name: string): string {
  const value = item[name]?.S
  if (value === undefined) throw malformed(item, name)
  return value
}

export function readOptionalString(item: Item, name: string): string | null {
  return item[name]?.S ?? null
}

export function readNumber(item: Item, name: string): number {
  const text = item[name]?.N
  const value = text === undefined ? Number.NaN : Number(text)
  if (!Number.isFinite(value)) throw malformed(item, name)
  return value
}

export function readOptionalNumber(item: Item, name: string): number | null {
  return item[name]?.N === undefined ? null : readNumber(item, name)
}

function readJson(item: Item, name: string): unknown {
  try {
    return JSON.parse(readString(item, name)) as unknown
  } catch (err) {
    throw malformed(item, name, err)
  }
}

function readOptionalJson(item: Item, name: string): unknown {
  return item[name] === undefined ? null : readJson(item, name)
}

function readEnum<T extends string>(item: Item, name: string, allowed: readonly T[]): T {
  const value = readString(item, name)
  if (!(allowed as readonly string[]).includes(value)) throw malformed(item, name)
  return value as T
}

function setOptionalNumber(item: Item, name: string, value: number | null): void {
  if (value !== null) item[name] = n(value)
}

function malformed(item: Item, name: string, cause?: unknown): StoreUnavailableError {
  const where = `${item.PK?.S ?? '?'} / ${item.SK?.S ?? '?'}`
  return new StoreUnavailableError(`DynamoDB item ${where} has a missing or malformed attribute "${name}"`, { cause })
}
