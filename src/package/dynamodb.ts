/**
 * @module
 * `gorkflow/dynamodb`: the DynamoDB store, its table, and the store built from Worker bindings (pass it to
 * `createWorker({ stores: { dynamodb: dynamoDBStoreFromEnv } })`). Its own entry because the AWS SDK roughly
 * doubles a Worker bundle.
 */
export { DynamoDBStore, type DynamoDBStoreOptions } from '../store/dynamodb/dynamodb-store'
export { DEFAULT_MAX_ITEM_BYTES } from '../store/dynamodb/item-budget'
export { GLOBAL_SECONDARY_INDEXES, createTable, type CreateTableResult } from '../store/dynamodb/create-table'
export { dynamoDBStoreFromEnv } from '../runtime/dynamodb-store-from-env'
