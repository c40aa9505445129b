/** @module The DynamoDB store: `DynamoDBStore`, and `createTable` for its table. */
export { DynamoDBStore, type DynamoDBStoreOptions } from './dynamodb-store'
export { DEFAULT_MAX_ITEM_BYTES } from './item-budget'
export { createTable, GLOBAL_SECONDARY_INDEXES, type CreateTableResult } from './create-table'
