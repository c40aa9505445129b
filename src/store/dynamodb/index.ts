/** @module The DynamoDB store: `DynamoDBStore`, and `createTable` for its table. */
export { DynamoDBStore, DEFAULT_MAX_ITEM_BYTES, type DynamoDBStoreOptions } from './dynamodb-store'
export { createTable, GLOBAL_SECONDARY_INDEXES, type CreateTableResult } from './create-table'
