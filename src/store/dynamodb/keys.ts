/**
 * @module
 * The single-table layout of the DynamoDB store: the only place key strings, attribute names and index names are
 * spelled. Everything of one run lives under its partition key `RUN#<runId>`; the idempotency guard of a run lives
 * in its own partition, because its key must be derivable from (workflowId, idempotencyKey) alone.
 *
 * | item             | PK                          | SK              |
 * | ---------------- | --------------------------- | --------------- |
 * | run              | `RUN#<runId>`               | `RUN`           |
 * | step execution   | `RUN#<runId>`               | `STEP#<stepId>` |
 * | state key        | `RUN#<runId>`               | `STATE#<key>`   |
 * | delivered event  | `RUN#<runId>`               | `EVENT#<name>`  |
 * | idempotency guard| `IDEM#<workflowId>#<key>`   | `IDEM`          |
 * | concurrency slots| `SLOTS#<workflowId>#<res>`  | `SLOTS`         |
 * | schedule state   | `SCHEDULES`                 | `WF#<workflowId>` |
 * | tag              | `RUN#<runId>`               | `TAG#<key, value>` |
 *
 * (The guard and slot partition keys JSON-encode their pair, so `a#b` + `c` and `a` + `b#c` never collide.)
 * Global secondary indexes exist only on run items (sparse: step, state, event, guard and slot items lack their
 * key attributes). Several use DynamoDB's multi-attribute GSI keys (up to 4 partition attributes, Nov 2025), so a
 * commit that changes `runStatus` keeps the (workflow, status) and (resource, status) indexes right by writing
 * that one attribute, without knowing or reading the run's workflow or resource.
 */

/** Table key attribute names. */
export const PK = 'PK'
export const SK = 'SK'

/**
 * Low-cardinality index partitions (all runs, a status, due runs) are spread over this many shards, chosen by a
 * hash of the run id at creation. Readers query every shard and merge. Changing it orphans existing runs from the
 * sharded indexes, so it is a constant of the table format, not an option.
 */
export const SHARD_COUNT = 4

/** Run item attributes that are index keys. Step, state and guard items never carry them. */
export const ATTR = {
  /** `WF#<workflowId>`; immutable. Synthetic so an empty workflow id is still a valid key. */
  workflowKey: 'gsiWorkflow',
  /** `RES#<resourceId>`; immutable; absent when the run has no resource. */
  resourceKey: 'gsiResource',
  /** The run's status, plain (`RUNNING`). Written by every status change. */
  runStatus: 'runStatus',
  /** 0..SHARD_COUNT-1; immutable. */
  shard: 'shard',
  /** `<createdAt, 15 digits>#<runId>`; immutable. Sorts newest first when queried backwards. */
  createdSort: 'createdSk',
  /**
   * max(leaseExpiresAt, wakeAt) as a number; present only while the run is PENDING or RUNNING (a PAUSED run keeps
   * it as `parkedDueAt`, which no index uses). The due index
   * sorts by (dueAt, createdSk), so ties go to the oldest run, and a commit sets it without knowing createdAt.
   */
  dueAt: 'dueAt',
  /**
   * A completion webhook's next attempt (epoch ms); present while it is neither delivered nor given up. The webhook
   * index also keys on `completedAt`, so a run enters that index only once it is terminal: the terminal write adds
   * nothing for it.
   */
  webhookDueAt: 'webhookDueAt',
  /** `TAG#<JSON [key, value]>` on tag items only; immutable. */
  tagKey: 'gsiTag',
  /** Epoch seconds after which DynamoDB's TTL deletes the item; set when the run ends and retention is on. */
  ttl: 'ttl',
} as const

export const INDEX = {
  /** Every run, newest first. HASH shard, RANGE createdSk. */
  all: 'byCreated',
  /** HASH gsiWorkflow, RANGE createdSk. */
  workflow: 'byWorkflow',
  /** HASH (runStatus, shard), RANGE createdSk. Also used by retention cleanup. */
  status: 'byStatus',
  /** HASH gsiResource, RANGE createdSk. */
  resource: 'byResource',
  /** HASH (gsiWorkflow, runStatus), RANGE createdSk. */
  workflowStatus: 'byWorkflowStatus',
  /** HASH (gsiResource, runStatus), RANGE createdSk. */
  resourceStatus: 'byResourceStatus',
  /** HASH shard, RANGE (dueAt, createdSk): the sweeper's queue, oldest due first. */
  due: 'byDue',
  /** HASH gsiTag, RANGE createdSk: the runs carrying one tag, newest first (tag items only). */
  tag: 'byTag',
  /** HASH shard, RANGE (webhookDueAt, completedAt): terminal runs whose completion webhook is due, earliest first. */
  webhookDue: 'byWebhookDue',
} as const

const RUN_PREFIX = 'RUN#'
const RUN_SK = 'RUN'
const STEP_PREFIX = 'STEP#'
const STATE_PREFIX = 'STATE#'
const EVENT_PREFIX = 'EVENT#'
const IDEM_PREFIX = 'IDEM#'
const IDEM_SK = 'IDEM'
const SLOTS_PREFIX = 'SLOTS#'
const SLOTS_SK = 'SLOTS'
const TIME_DIGITS = 15

export interface ItemKey {
  readonly PK: string
  readonly SK: string
}

export const runPk = (runId: string): string => `${RUN_PREFIX}${runId}`
export const runKey = (runId: string): ItemKey => ({ PK: runPk(runId), SK: RUN_SK })
export const stepKey = (runId: string, stepId: string): ItemKey => ({ PK: runPk(runId), SK: `${STEP_PREFIX}${stepId}` })
export const stateKey = (runId: string, key: string): ItemKey => ({ PK: runPk(runId), SK: `${STATE_PREFIX}${key}` })
/** An event delivered to a run (`deliverEvent`); one per name. */
export const eventKey = (runId: string, name: string): ItemKey => ({ PK: runPk(runId), SK: `${EVENT_PREFIX}${name}` })
/** The guard that makes (workflowId, idempotencyKey) unique across runs. */
export const idempotencyKey = (workflowId: string, key: string): ItemKey => ({
  // JSON-encoded so `a#b` + `c` and `a` + `b#c` cannot collide.
  PK: `${IDEM_PREFIX}${JSON.stringify([workflowId, key])}`,
  SK: IDEM_SK,
})

/**
 * The concurrency slots of (workflowId, resourceId): a string set `holders` of the run ids holding one. A claim
 * adds its run under the condition that the set has room; the run's terminal commit or cancellation removes it.
 */
export const slotKey = (workflowId: string, resourceId: string): ItemKey => ({
  PK: `${SLOTS_PREFIX}${JSON.stringify([workflowId, resourceId])}`,
  SK: SLOTS_SK,
})

/**
 * Schedule states share one partition: one small item per scheduled workflow, so listing them all is one Query.
 */
export const SCHEDULES_PK = 'SCHEDULES'
export const scheduleKey = (workflowId: string): ItemKey => ({ PK: SCHEDULES_PK, SK: `WF#${workflowId}` })

/**
 * One tag of a run, as its own item in the run's partition (so deleting and expiring the run take it along), keyed
 * into the tag index by {@link tagIndexValue}. JSON-encoded so `a:b` + `c` and `a` + `b:c` cannot collide.
 */
export const tagItemKey = (runId: string, key: string, value: string): ItemKey => ({
  PK: runPk(runId),
  SK: `TAG#${JSON.stringify([key, value])}`,
})
export const tagIndexValue = (key: string, value: string): string => `TAG#${JSON.stringify([key, value])}`

/** Sort-key prefixes for `begins_with` queries within a run's partition. */
export const STEP_SK_PREFIX = STEP_PREFIX
export const STATE_SK_PREFIX = STATE_PREFIX
export const RUN_SK_VALUE = RUN_SK

export const isRunSk = (sk: string): boolean => sk === RUN_SK
export const isStepSk = (sk: string): boolean => sk.startsWith(STEP_PREFIX)
export const stateKeyFromSk = (sk: string): string => sk.slice(STATE_PREFIX.length)

/** The run id of a run partition key. */
export function runIdFromPk(pk: string): string {
  if (!pk.startsWith(RUN_PREFIX)) throw new Error(`not a run partition key: ${pk}`)
  return pk.slice(RUN_PREFIX.length)
}

export const workflowKeyValue = (workflowId: string): string => `WF#${workflowId}`
export const resourceKeyValue = (resourceId: string): string => `RES#${resourceId}`

/** Zero-padded epoch milliseconds, so lexical order is chronological (valid for 0 ≤ ms < 10^15, year 33658). */
export function padTime(ms: number): string {
  const clamped = Math.min(Math.max(Math.trunc(ms), 0), 10 ** TIME_DIGITS - 1)
  return String(clamped).padStart(TIME_DIGITS, '0')
}

export const createdSortValue = (createdAt: number, runId: string): string => `${padTime(createdAt)}#${runId}`

/** Position (createdAt, runId) encoded in a createdSk value. */
export function parseCreatedSort(value: string): { createdAt: number; runId: string } {
  return { createdAt: Number(value.slice(0, TIME_DIGITS)), runId: value.slice(TIME_DIGITS + 1) }
}

/** Stable shard of a run: FNV-1a of the run id, modulo {@link SHARD_COUNT}. */
export function shardOf(runId: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < runId.length; i++) {
    hash ^= runId.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % SHARD_COUNT
}

export const ALL_SHARDS: readonly number[] = Array.from({ length: SHARD_COUNT }, (_, i) => i)
