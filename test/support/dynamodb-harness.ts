/**
 * @module
 * Per-file DynamoDB Local for store tests: `useDynamoDBLocal()` registers beforeAll/afterAll hooks that start and
 * stop one engine for the test file, and hands out empty stores, each on a fresh table of its own.
 */
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { afterAll, beforeAll } from 'vitest'
import { createTable } from '../../src/store/dynamodb/create-table'
import { DynamoDBStore, type DynamoDBStoreOptions } from '../../src/store/dynamodb/dynamodb-store'
import { logCommands, startDynamoDBLocal, uniqueTableName, type CommandLog, type DynamoDBLocal } from './dynamodb-local'

export interface DynamoDBHarness {
  readonly store: DynamoDBStore
  readonly tableName: string
  readonly cleanup: () => Promise<void>
}

export interface DynamoDBLocalFixture {
  /** The running engine (only inside tests and hooks). */
  readonly local: () => DynamoDBLocal
  /** The client every harness store uses; its command log sees all of them. */
  readonly client: () => DynamoDBClient
  /** Every command sent through `client()` since the file started. */
  readonly log: () => CommandLog
  /** An empty store on a new table; `cleanup` deletes the table. */
  readonly harness: (options?: Omit<DynamoDBStoreOptions, 'client' | 'tableName'>) => Promise<DynamoDBHarness>
}

/** Starts DynamoDB Local for the calling test file and stops it (and its JVM) after the file's last test. */
export function useDynamoDBLocal(): DynamoDBLocalFixture {
  let local: DynamoDBLocal | undefined
  let client: DynamoDBClient | undefined
  let log: CommandLog | undefined

  beforeAll(async () => {
    local = await startDynamoDBLocal()
    client = local.client()
    log = logCommands(client)
  })

  afterAll(async () => {
    client?.destroy()
    await local?.stop()
  })

  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('DynamoDB Local is not running (use it inside tests only)')
    return value
  }

  return {
    local: () => need(local),
    client: () => need(client),
    log: () => need(log),
    harness: async (options = {}) => {
      const tableName = uniqueTableName()
      const shared = need(client)
      await createTable(shared, tableName)
      const store = new DynamoDBStore({ ...options, client: shared, tableName })
      return {
        store,
        tableName,
        cleanup: async () => {
          await store.close()
          await shared.send(new DeleteTableCommand({ TableName: tableName }))
        },
      }
    },
  }
}
