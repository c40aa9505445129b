/**
 * @module
 * A tiny Worker that drives `DynamoDBStore` through a run's life inside workerd, against the DynamoDB endpoint
 * and table given as bindings. Bundled and started by test/store/dynamodb-workerd.test.ts; it answers one
 * request with what the store returned, or with the error it threw.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBStore } from '../../src/store/dynamodb/dynamodb-store'
import { makeRun, makeStep, T0 } from './fixtures'

interface Env {
  readonly DYNAMODB_ENDPOINT: string
  readonly DYNAMODB_TABLE: string
}

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    const client = new DynamoDBClient({
      endpoint: env.DYNAMODB_ENDPOINT,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    })
    const store = new DynamoDBStore({ client, tableName: env.DYNAMODB_TABLE, retentionSeconds: 3_600 })
    try {
      const { run, created } = await store.createRun(makeRun({ idempotencyKey: 'in-workerd', resourceId: 'r-1' }))
      const repeated = await store.createRun(makeRun({ idempotencyKey: 'in-workerd' }))
      const claim = await store.claimRun(run.runId, 'workerd', T0, 30_000)
      if (claim === null) throw new Error('claim returned null')
      const step = makeStep({ runId: run.runId, stepId: 'charge', status: 'COMPLETED', output: { charged: 12.5 } })
      const { lease } = await store.commit(claim.lease, {
        now: T0 + 1,
        steps: [step],
        run: { status: 'RUNNING', startedAt: T0 + 1, progress: 0.5 },
        leaseExpiresAt: T0 + 30_001,
      })
      await store.saveState(run.runId, 'total', 12.5, T0 + 2)
      await store.commit(lease, {
        now: T0 + 3,
        steps: [],
        run: { status: 'COMPLETED', progress: 1, output: { charged: 12.5 }, completedAt: T0 + 3 },
        leaseExpiresAt: null,
      })
      const other = (await store.createRun(makeRun())).run
      const due = await store.listDueRuns(T0 + 10, 10)
      const cancelled = await store.cancelRun(other.runId, T0 + 11)
      const page = await store.listRuns({ resourceId: 'r-1', status: 'COMPLETED' })
      const output = await store.loadStepOutput(run.runId, 'charge')
      const state = await store.getAllState(run.runId)
      const lost = await store
        .commit(lease, { now: T0 + 12, steps: [], run: {}, leaseExpiresAt: null })
        .then(() => 'no error')
        .catch((err: { code?: string }) => err.code)
      await store.deleteRun(other.runId)
      return Response.json({
        created,
        repeatedCreated: repeated.created,
        sameRun: repeated.run.runId === run.runId,
        due,
        otherRunId: other.runId,
        cancelledStatus: cancelled.status,
        listed: page.runs.map((r) => [r.runId === run.runId, r.status, r.output]),
        output,
        state,
        afterFinish: lost,
      })
    } catch (err) {
      const error = err as { name?: string; code?: string; message?: string; stack?: string }
      return Response.json({ error: { name: error.name, code: error.code, message: error.message, stack: error.stack } }, { status: 500 })
    } finally {
      client.destroy()
    }
  },
}
