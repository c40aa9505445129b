/**
 * @module
 * Listings on DynamoDB: `listRuns` and the sweeper's `listDueRuns`, served by the sparse GSIs of keys.ts and
 * never by a scan. A listing over several index partitions (the shards of an unfiltered listing) queries each
 * for its first entries in parallel and merges them in the index's order.
 */
import { BatchGetItemCommand, QueryCommand, type AttributeValue, type QueryCommandInput } from '@aws-sdk/client-dynamodb'
import { StoreUnavailableError } from '../../core/errors'
import type { RunRecord, RunStatus } from '../../core/model'
import { DEFAULT_PAGE_SIZE, type RunFilter, type RunPage } from '../../core/store'
import { decodeCursor, encodeCursor } from '../cursor'
import { checkPageLimit, checkTagFilter, dueInstant, hasTags } from '../rules'
import { claimableCondition } from './claim-run'
import { Expression } from './expression'
import {
  ALL_SHARDS,
  ATTR,
  createdSortValue,
  INDEX,
  parseCreatedSort,
  PK,
  resourceKeyValue,
  runIdFromPk,
  runKey,
  SK,
  tagIndexValue,
  workflowKeyValue,
  type ItemKey,
} from './keys'
import { fromRunItem, keyItem, n, RUN, s, type Item } from './mappers'
import { chunk, type DynamoTable } from './table'

/** What a listing or sweep asks of one index partition. */
export interface PartitionQuery {
  readonly index: string
  /** Equality conditions on the index's partition attributes. */
  readonly partition: ReadonlyArray<readonly [string, AttributeValue]>
  /** The index's sort attributes, in order; `N` attributes compare as numbers when merging partitions. */
  readonly sort: ReadonlyArray<readonly [name: string, type: 'S' | 'N']>
  /** A condition on the sort key (paging, due time). */
  readonly sortCondition?: (expr: Expression) => string
  readonly forward: boolean
  readonly filter?: (expr: Expression) => string
}

export const CREATED_SORT = [[ATTR.createdSort, 'S']] as const
const DUE_SORT = [
  [ATTR.dueAt, 'N'],
  [ATTR.createdSort, 'S'],
] as const
const BATCH_GET_KEYS = 100

export async function listRuns(table: DynamoTable, filter: RunFilter): Promise<RunPage> {
  const limit = checkPageLimit(filter.limit ?? DEFAULT_PAGE_SIZE)
  const position = filter.cursor === undefined || filter.cursor === null ? null : decodeCursor(filter.cursor)
  const below = position === null ? null : createdSortValue(position.createdAt, position.runId)
  const { workflowId, status, resourceId } = filter
  const tags = checkTagFilter(filter.tags)
  if (tags.length > 0) return listRunsByTags(table, filter, tags, limit, below)

  // Pick the index whose partition matches the most filters. Only (workflow, resource[, status]) has no index
  // of its own: the resource index is queried and the workflow filtered, as resources are the narrower key.
  const workflowKey: readonly [string, AttributeValue] | null =
    workflowId === undefined ? null : [ATTR.workflowKey, s(workflowKeyValue(workflowId))]
  const resourceKey: readonly [string, AttributeValue] | null =
    resourceId === undefined ? null : [ATTR.resourceKey, s(resourceKeyValue(resourceId))]
  const statusKey: readonly [string, AttributeValue] | null = status === undefined ? null : [ATTR.runStatus, s(status)]
  let index: string
  let partitions: Array<ReadonlyArray<readonly [string, AttributeValue]>>
  let filterWorkflow = false
  if (resourceKey !== null && statusKey !== null) {
    index = INDEX.resourceStatus
    partitions = [[resourceKey, statusKey]]
    filterWorkflow = workflowKey !== null
  } else if (resourceKey !== null) {
    index = INDEX.resource
    partitions = [[resourceKey]]
    filterWorkflow = workflowKey !== null
  } else if (workflowKey !== null && statusKey !== null) {
    index = INDEX.workflowStatus
    partitions = [[workflowKey, statusKey]]
  } else if (workflowKey !== null) {
    index = INDEX.workflow
    partitions = [[workflowKey]]
  } else if (statusKey !== null) {
    index = INDEX.status
    partitions = ALL_SHARDS.map((shard) => [statusKey, [ATTR.shard, n(shard)] as const])
  } else {
    index = INDEX.all
    partitions = ALL_SHARDS.map((shard) => [[ATTR.shard, n(shard)] as const])
  }
  const workflowFilter =
    filterWorkflow && workflowId !== undefined
      ? (expr: Expression) => `${expr.name(RUN.workflowId)} = ${expr.value(s(workflowId))}`
      : undefined

  // One more than a page tells whether another page exists, so the last page never has a cursor.
  const entries = await queryPartitions(
    table,
    partitions.map((partition) => ({
      index,
      partition,
      sort: CREATED_SORT,
      sortCondition:
        below === null ? undefined : (expr: Expression) => `${expr.name(ATTR.createdSort)} < ${expr.value(s(below))}`,
      forward: false,
      filter: workflowFilter,
    })),
    limit + 1,
  )
  const page = entries.slice(0, limit)
  const runs = (await getRuns(table, page.map((entry) => readKey(entry)))).filter(
    (run) =>
      // The index may trail the table for a moment: report only runs that still match.
      (workflowId === undefined || run.workflowId === workflowId) &&
      (status === undefined || run.status === status) &&
      (resourceId === undefined || run.resourceId === resourceId),
  )
  const last = page[page.length - 1]
  const nextCursor =
    entries.length > limit && last !== undefined ? encodeCursor(parseCreatedSort(readSort(last, ATTR.createdSort))) : null
  return { runs, nextCursor }
}

/**
 * Runs carrying every tag: the first tag's partition of the tag index, newest first, in rounds of entries whose
 * runs are read (BatchGetItem) and checked against the other tags and filters until a page and one more are found
 * or the partition ends. Cost: the first tag's entries down to the page's end, and a read of each of their runs.
 */
async function listRunsByTags(
  table: DynamoTable,
  filter: RunFilter,
  tags: readonly (readonly [string, string])[],
  limit: number,
  below: string | null,
): Promise<RunPage> {
  const [key, value] = tags[0] as readonly [string, string]
  const round = Math.max(limit + 1, 25)
  const found: RunRecord[] = []
  let before = below
  for (;;) {
    const bound = before
    const entries = await queryPartitions(
      table,
      [
        {
          index: INDEX.tag,
          partition: [[ATTR.tagKey, s(tagIndexValue(key, value))]],
          sort: CREATED_SORT,
          sortCondition: bound === null ? undefined : (expr) => `${expr.name(ATTR.createdSort)} < ${expr.value(s(bound))}`,
          forward: false,
        },
      ],
      round,
    )
    const runs = await getRuns(table, entries.map((entry) => runKey(runIdFromPk(readSort(entry, PK)))))
    found.push(
      ...runs.filter(
        (run) =>
          hasTags(run, tags) &&
          (filter.workflowId === undefined || run.workflowId === filter.workflowId) &&
          (filter.status === undefined || run.status === filter.status) &&
          (filter.resourceId === undefined || run.resourceId === filter.resourceId),
      ),
    )
    const last = entries[entries.length - 1]
    if (found.length > limit || entries.length < round || last === undefined) break
    before = readSort(last, ATTR.createdSort)
  }
  const page = found.slice(0, limit)
  const lastRun = page[page.length - 1]
  const nextCursor =
    found.length > limit && lastRun !== undefined ? encodeCursor({ createdAt: lastRun.createdAt, runId: lastRun.runId }) : null
  return { runs: page, nextCursor }
}

export async function listDueRuns(table: DynamoTable, now: number, limit: number): Promise<string[]> {
  checkPageLimit(limit)
  const entries = await queryPartitions(
    table,
    ALL_SHARDS.map((shard) => ({
      index: INDEX.due,
      partition: [[ATTR.shard, n(shard)] as const],
      sort: DUE_SORT,
      sortCondition: (expr) => `${expr.name(ATTR.dueAt)} <= ${expr.value(n(now))}`,
      forward: true,
      // The sort key is never later than the true due time; these conditions on the real attributes drop
      // runs that are not claimable after all (a wakeAt set earlier in the same lease, a PAUSED run).
      filter: (expr) => claimableCondition(expr, null, now),
    })),
    limit,
  )
  return entries.map((entry) => runIdFromPk(readSort(entry, PK)))
}

/** Due-index entries read per Query page by `nextDueAt`: the first is almost always the answer. */
const NEXT_DUE_PAGE = 4

/**
 * `nextDueAt`: the first entries of each shard of the due index (one Query per shard, in parallel). An entry's
 * key is never later than the run's true due time (see commit.ts), so each shard is read in key order until a
 * key passes the earliest true due time found there, computed by dueInstant() from the projected attributes.
 */
export async function nextDueAt(table: DynamoTable): Promise<number | null> {
  const perShard = await Promise.all(ALL_SHARDS.map((shard) => nextDueInShard(table, shard)))
  return perShard.reduce<number | null>((a, b) => (a === null ? b : b === null ? a : Math.min(a, b)), null)
}

async function nextDueInShard(table: DynamoTable, shard: number): Promise<number | null> {
  const expr = new Expression()
  const input: QueryCommandInput = {
    TableName: table.name,
    IndexName: INDEX.due,
    KeyConditionExpression: `${expr.name(ATTR.shard)} = ${expr.value(n(shard))}`,
    ScanIndexForward: true,
    Limit: NEXT_DUE_PAGE,
    ...expr.attributes(),
  }
  let best: number | null = null
  let start: Record<string, AttributeValue> | undefined
  do {
    const page = await table.request(`query ${INDEX.due}`, () =>
      table.client.send(new QueryCommand({ ...input, ExclusiveStartKey: start })),
    )
    for (const item of page.Items ?? []) {
      if (best !== null && Number(item[ATTR.dueAt]?.N) > best) return best
      const due = dueInstant({
        status: item[ATTR.runStatus]?.S as RunStatus,
        leaseOwner: item[RUN.leaseOwner]?.S ?? null,
        leaseExpiresAt: optionalNumber(item[RUN.leaseExpiresAt]),
        wakeAt: optionalNumber(item[RUN.wakeAt]),
      })
      if (due !== null && (best === null || due < best)) best = due
    }
    start = page.LastEvaluatedKey
  } while (start !== undefined)
  return best
}

function optionalNumber(value: AttributeValue | undefined): number | null {
  return value?.N === undefined ? null : Number(value.N)
}

/**
 * The first `need` index entries across several partitions of one index, in the index's order: each partition
 * is queried (in parallel) for its first `need` matching entries, then the results are merged.
 */
export async function queryPartitions(table: DynamoTable, queries: readonly PartitionQuery[], need: number): Promise<Item[]> {
  const perPartition = await Promise.all(queries.map((query) => queryPartition(table, query, need)))
  const first = queries[0]
  if (first === undefined) return []
  const merged = perPartition.flat()
  merged.sort((a, b) => {
    const order = compareBySort(a, b, first.sort)
    return first.forward ? order : -order
  })
  return merged.slice(0, need)
}

async function queryPartition(table: DynamoTable, query: PartitionQuery, need: number): Promise<Item[]> {
  const expr = new Expression()
  const conditions = query.partition.map(([name, value]) => `${expr.name(name)} = ${expr.value(value)}`)
  if (query.sortCondition !== undefined) conditions.push(query.sortCondition(expr))
  const filter = query.filter?.(expr)
  const input: QueryCommandInput = {
    TableName: table.name,
    IndexName: query.index,
    KeyConditionExpression: conditions.join(' AND '),
    ScanIndexForward: query.forward,
    ...(filter === undefined ? {} : { FilterExpression: filter }),
    ...expr.attributes(),
  }
  const items: Item[] = []
  let start: Record<string, AttributeValue> | undefined
  do {
    const remaining = need - items.length
    // DynamoDB applies Limit before the filter; read ahead when filtering so sparse matches take few pages.
    const pageLimit = filter === undefined ? remaining : Math.min(Math.max(remaining * 4, 100), 1000)
    const page = await table.request(`query ${query.index}`, () =>
      table.client.send(new QueryCommand({ ...input, Limit: pageLimit, ExclusiveStartKey: start })),
    )
    items.push(...(page.Items ?? []))
    start = page.LastEvaluatedKey
  } while (start !== undefined && items.length < need)
  return items.slice(0, need)
}

/** Runs by key, in the order given; keys whose run no longer exists are skipped. Strongly consistent. */
async function getRuns(table: DynamoTable, keys: readonly ItemKey[]): Promise<RunRecord[]> {
  const found = new Map<string, RunRecord>()
  await Promise.all(
    chunk(keys, BATCH_GET_KEYS).map((part) =>
      table.untilProcessed('BatchGetItem keys', part.map(keyItem), async (pending) => {
        const result = await table.request('listRuns', () =>
          table.client.send(
            new BatchGetItemCommand({ RequestItems: { [table.name]: { Keys: [...pending], ConsistentRead: true } } }),
          ),
        )
        for (const item of result.Responses?.[table.name] ?? []) {
          const run = fromRunItem(item)
          found.set(run.runId, run)
        }
        return result.UnprocessedKeys?.[table.name]?.Keys ?? []
      }),
    ),
  )
  return keys.flatMap((key) => {
    const run = found.get(runIdFromPk(key.PK))
    return run === undefined ? [] : [run]
  })
}

/** Orders index entries as the index does: by each sort attribute in turn. */
function compareBySort(a: Item, b: Item, sort: PartitionQuery['sort']): number {
  for (const [name, type] of sort) {
    const order =
      type === 'N' ? Number(a[name]?.N ?? 0) - Number(b[name]?.N ?? 0) : compareCodePoints(readSort(a, name), readSort(b, name))
    if (order !== 0) return order
  }
  return 0
}

function readKey(item: Item): ItemKey {
  return { PK: readSort(item, PK), SK: readSort(item, SK) }
}

/** A string attribute of an index entry. */
export function readSort(item: Item, name: string): string {
  const value = item[name]?.S
  if (value === undefined) throw new StoreUnavailableError(`DynamoDB index entry lacks its "${name}" attribute`)
  return value
}

/** String order by Unicode code point, which is the UTF-8 byte order DynamoDB sorts keys in. */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    // UTF-16 order differs from code point order only between surrogates and U+E000..U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff
    const ys = y >= 0xd800 && y <= 0xdfff
    if (xs !== ys) return xs ? 1 : -1
    return x - y
  }
  return a.length - b.length
}
