/**
 * @module
 * The DynamoDB store against Amazon's DynamoDB Local (Java, in memory, started here on a free port). Local
 * latencies say little about AWS (a request there is ~5–10 ms); calls and requests per run are the point.
 */
import { createTable } from '../../src/store/dynamodb/create-table'
import { DynamoDBStore } from '../../src/store/dynamodb/dynamodb-store'
import { startDynamoDBLocal } from '../../test/support/dynamodb-local'
import { engineSession } from './engine-session'
import { DEFAULT_BUDGET, type Target } from './target'

export const dynamodbLocalTarget: Target = {
  id: 'dynamodb-local',
  title: 'DynamoDB Local',
  workloads: ['W1', 'W2', 'W3'],
  // The JVM compiles its hot paths during the first few hundred requests.
  budget: { ...DEFAULT_BUDGET, warmupMs: 2_000, repetitionMs: 1_000, batches: 3 },
  async open() {
    const local = await startDynamoDBLocal()
    const client = local.client()
    let requests = 0
    // In the deserialize step, below the retry middleware: one count per HTTP request actually sent.
    client.middlewareStack.add(
      (next) => async (args) => {
        requests++
        return next(args)
      },
      { step: 'deserialize', name: 'benchRequestCounter' },
    )
    const tableName = 'gorkflow-bench'
    await createTable(client, tableName)
    const store = new DynamoDBStore({ client, tableName })
    return engineSession({
      store,
      endpointRequests: async () => requests,
      close: async () => {
        client.destroy()
        await local.stop()
      },
    })
  },
}
