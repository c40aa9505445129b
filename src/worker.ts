/**
 * @module
 * The Cloudflare Workers entry (wrangler.toml's `main`): the Worker of `createWorker` for the registered workflows
 * (`src/registry.ts`), with the libsql (default) and memory stores. `src/worker-dynamodb.ts` is the same Worker
 * with DynamoDB (`wrangler deploy -c wrangler.dynamodb.toml`).
 */
import { createWorker } from './runtime/create-worker'
import type { WorkerEnv } from './runtime/env-keys'
import { registeredWorkflows } from './registry'

const worker = createWorker<WorkerEnv>({ workflows: registeredWorkflows })

export default worker
/** The Durable Object of each run (wrangler.toml: `RUN_ALARMS`): its alarm executes the run when due. */
export const { RunAlarm } = worker
