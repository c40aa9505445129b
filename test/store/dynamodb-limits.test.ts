// Size limits on DynamoDB Local: the engine's defaults derive from the store's maxItemBytes (350,000 by default).
import { describe, expect, it } from 'vitest'
import { Engine } from '../../src/core/engine'
import { runLimitCases } from '../core/limits.cases'
import { useDynamoDBLocal } from '../support/dynamodb-harness'

const dynamo = useDynamoDBLocal()
// (350,000 - 4,096) / 2 for values that share an item with another of their size; a state value has its own item.
const paired = 172_952
const ceiling = { runInputBytes: paired, stepOutputBytes: paired, eventPayloadBytes: paired, stateValueBytes: 345_904 }

runLimitCases('DynamoDBStore on DynamoDB Local', () => dynamo.harness(), { defaults: ceiling, ceiling })

describe('DynamoDB ceiling', () => {
  it('follows maxItemBytes', async () => {
    const { store, cleanup } = await dynamo.harness({ maxItemBytes: 100_000 })
    try {
      expect(store.payloadCeiling).toMatchObject({ stepOutputBytes: 47_952, stateValueBytes: 95_904 })
      expect(() => new Engine({ store, workflows: [], limits: { runInputBytes: 47_953 } })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('maxItemBytes = 100000') }),
      )
    } finally {
      await cleanup()
    }
  })
})
