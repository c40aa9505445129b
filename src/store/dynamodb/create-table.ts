/**
 * @module
 * Creates the DynamoDB store's table: key schema, the sparse GSIs of `keys.ts`, on-demand billing, and TTL on
 * `ttl`. Idempotent: an existing table is checked (every index present) and TTL enabled if it is not.
 *
 * Index projections are deliberately small (keys plus the attributes a filter reads). Listing therefore hydrates
 * runs with one BatchGetItem per page, and in exchange a commit that changes only progress, lease or output
 * writes to at most one index (the due index) instead of rewriting the whole run item into seven. With inputs
 * and outputs of tens of KB, ALL projections would multiply every commit's write cost by up to 8.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type AttributeDefinition,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type TableDescription,
} from '@aws-sdk/client-dynamodb'
import { StoreUnavailableError } from '../../core/errors'
import { toStoreError } from './driver-errors'
import { ATTR, INDEX, PK, SK } from './keys'
import { RUN } from './mappers'

const hash = (...names: string[]) => names.map((AttributeName) => ({ AttributeName, KeyType: 'HASH' as const }))
const range = (name: string) => ({ AttributeName: name, KeyType: 'RANGE' as const })

/** The table's indexes; every listing and the sweeper query one of them (see `DynamoDBStore`). */
export const GLOBAL_SECONDARY_INDEXES: readonly GlobalSecondaryIndex[] = [
  {
    IndexName: INDEX.all,
    KeySchema: [...hash(ATTR.shard), range(ATTR.createdSort)],
    Projection: { ProjectionType: 'KEYS_ONLY' },
  },
  {
    IndexName: INDEX.workflow,
    KeySchema: [...hash(ATTR.workflowKey), range(ATTR.createdSort)],
    Projection: { ProjectionType: 'KEYS_ONLY' },
  },
  {
    IndexName: INDEX.status,
    KeySchema: [...hash(ATTR.runStatus, ATTR.shard), range(ATTR.createdSort)],
    // completedAt: retention cleanup filters on it.
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [RUN.completedAt] },
  },
  {
    IndexName: INDEX.resource,
    KeySchema: [...hash(ATTR.resourceKey), range(ATTR.createdSort)],
    // workflowId: the (workflow, resource) filter pair has no index of its own and filters here.
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [RUN.workflowId] },
  },
  {
    IndexName: INDEX.workflowStatus,
    KeySchema: [...hash(ATTR.workflowKey, ATTR.runStatus), range(ATTR.createdSort)],
    Projection: { ProjectionType: 'KEYS_ONLY' },
  },
  {
    IndexName: INDEX.resourceStatus,
    KeySchema: [...hash(ATTR.resourceKey, ATTR.runStatus), range(ATTR.createdSort)],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [RUN.workflowId] },
  },
  {
    IndexName: INDEX.due,
    KeySchema: [...hash(ATTR.shard), range(ATTR.dueAt), range(ATTR.createdSort)],
    // The sweeper's filter re-checks claimability on the real attributes.
    Projection: {
      ProjectionType: 'INCLUDE',
      NonKeyAttributes: [ATTR.runStatus, RUN.leaseOwner, RUN.leaseExpiresAt, RUN.wakeAt],
    },
  },
  {
    IndexName: INDEX.tag,
    KeySchema: [...hash(ATTR.tagKey), range(ATTR.createdSort)],
    Projection: { ProjectionType: 'KEYS_ONLY' },
  },
  {
    IndexName: INDEX.webhookDue,
    // Sparse twice over: only runs with a webhook to send carry webhookDueAt, and only terminal runs completedAt.
    KeySchema: [...hash(ATTR.shard), range(ATTR.webhookDueAt), range(RUN.completedAt)],
    Projection: { ProjectionType: 'KEYS_ONLY' },
  },
]

export const ATTRIBUTE_DEFINITIONS: readonly AttributeDefinition[] = [
  { AttributeName: PK, AttributeType: 'S' },
  { AttributeName: SK, AttributeType: 'S' },
  { AttributeName: ATTR.shard, AttributeType: 'N' },
  { AttributeName: ATTR.createdSort, AttributeType: 'S' },
  { AttributeName: ATTR.workflowKey, AttributeType: 'S' },
  { AttributeName: ATTR.resourceKey, AttributeType: 'S' },
  { AttributeName: ATTR.runStatus, AttributeType: 'S' },
  { AttributeName: ATTR.dueAt, AttributeType: 'N' },
  { AttributeName: ATTR.tagKey, AttributeType: 'S' },
  { AttributeName: ATTR.webhookDueAt, AttributeType: 'N' },
  { AttributeName: RUN.completedAt, AttributeType: 'N' },
]

export interface CreateTableResult {
  /** False when the table already existed (and was found complete). */
  readonly created: boolean
  /** True when this call enabled TTL on `ttl`. */
  readonly ttlEnabled: boolean
}

/**
 * Creates the store's table (PAY_PER_REQUEST, the GSIs above), waits until it is ACTIVE, and enables TTL on the
 * `ttl` attribute. Safe to run again: an existing table is verified instead.
 * @throws StoreUnavailableError when an existing table lacks one of the store's indexes, or DynamoDB fails.
 */
export async function createTable(
  client: DynamoDBClient,
  tableName: string,
  options: { readonly maxWaitSeconds?: number } = {},
): Promise<CreateTableResult> {
  const maxWaitTime = options.maxWaitSeconds ?? 300
  let created = false
  try {
    try {
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [...ATTRIBUTE_DEFINITIONS],
          KeySchema: [...hash(PK), range(SK)],
          GlobalSecondaryIndexes: [...GLOBAL_SECONDARY_INDEXES],
        }),
      )
      created = true
    } catch (err) {
      if (!isResourceInUse(err)) throw err
    }
    await waitUntilTableExists({ client, maxWaitTime, minDelay: 1, maxDelay: 5 }, { TableName: tableName })
    if (!created) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }))
      assertIndexes(tableName, Table)
    }
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }))
    const status = ttl.TimeToLiveDescription?.TimeToLiveStatus
    const ttlAttribute = ttl.TimeToLiveDescription?.AttributeName
    if ((status === 'ENABLED' || status === 'ENABLING') && ttlAttribute !== undefined && ttlAttribute !== ATTR.ttl) {
      throw new StoreUnavailableError(
        `table ${tableName} has TTL on "${ttlAttribute}", but the store writes "${ATTR.ttl}"`,
      )
    }
    if (status === 'ENABLED' || status === 'ENABLING') return { created, ttlEnabled: false }
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ATTR.ttl, Enabled: true },
      }),
    )
    return { created, ttlEnabled: true }
  } catch (err) {
    throw toStoreError(err, 'createTable', tableName)
  }
}

function isResourceInUse(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'name' in err && err.name === 'ResourceInUseException'
}

function assertIndexes(tableName: string, table: TableDescription | undefined): void {
  const present = new Map((table?.GlobalSecondaryIndexes ?? []).map((index) => [index.IndexName, index]))
  const problems: string[] = []
  for (const wanted of GLOBAL_SECONDARY_INDEXES) {
    const found = present.get(wanted.IndexName)
    if (found === undefined) {
      problems.push(`index ${wanted.IndexName} is missing`)
      continue
    }
    const schema = (keys: typeof wanted.KeySchema) => JSON.stringify(keys?.map((k) => [k.AttributeName, k.KeyType]))
    if (schema(found.KeySchema) !== schema(wanted.KeySchema)) {
      problems.push(`index ${wanted.IndexName} has key schema ${schema(found.KeySchema)}, expected ${schema(wanted.KeySchema)}`)
    }
  }
  if (problems.length > 0) {
    throw new StoreUnavailableError(
      `table ${tableName} exists but is not a Gorkflow table: ${problems.join('; ')}. ` +
        'Use another table name, or delete the table and run the command again.',
    )
  }
}
