/**
 * @module
 * The Worker with the DynamoDB store available (`STORE=dynamodb`): `wrangler deploy -c wrangler.dynamodb.toml`. A separate
 * entry because the AWS SDK roughly doubles the bundle, and esbuild (wrangler's bundler) inlines even dynamic
 * imports; the default entry, `src/worker.ts`, stays LibSQL-only.
 */
import { dynamoDBStoreFromEnv } from './runtime/dynamodb-store-from-env'
import { createWorker, type WorkerEnv } from './runtime/create-worker'
import { registeredWorkflows } from './registry'

const worker = createWorker<WorkerEnv>({
  workflows: registeredWorkflows,
  stores: { dynamodb: (env) => dynamoDBStoreFromEnv(env) },
})

export default worker
/** The Durable Object of each run (wrangler.dynamodb.toml: `RUN_ALARMS`): its alarm executes the run when due. */
export const { RunAlarm } = worker
