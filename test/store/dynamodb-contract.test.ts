import { describe, expect, it } from 'vitest'
import { useDynamoDBLocal } from '../support/dynamodb-harness'
import { runStoreContract } from './store.contract'

const dynamo = useDynamoDBLocal()

runStoreContract('DynamoDBStore on DynamoDB Local', () => dynamo.harness())

describe('DynamoDBStore under the contract suite', () => {
  // Runs after the contract (vitest runs a file's tests in order): every store call above went through this log.
  it('sent no Scan, only keyed reads, queries and writes', () => {
    const sent = new Set(dynamo.log().commands)
    expect(dynamo.log().count()).toBeGreaterThan(500)
    expect(sent.has('ScanCommand')).toBe(false)
    const allowed = new Set([
      // test setup and teardown
      'CreateTableCommand',
      'DescribeTableCommand',
      'DescribeTimeToLiveCommand',
      'UpdateTimeToLiveCommand',
      'DeleteTableCommand',
      // the store
      'GetItemCommand',
      'PutItemCommand',
      'UpdateItemCommand',
      'DeleteItemCommand',
      'QueryCommand',
      'BatchGetItemCommand',
      'BatchWriteItemCommand',
      'TransactWriteItemsCommand',
    ])
    expect([...sent].filter((name) => !allowed.has(name))).toEqual([])
  })
})
