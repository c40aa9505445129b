/**
 * @module
 * The Worker with the DynamoDB store available (`STORE=dynamodb`): `wrangler deploy -c wrangler.dynamodb.toml`. A separate
 * entry because the AWS SDK roughly doubles the bundle, and esbuild (wrangler's bundler) inlines even dynamic
 * imports; the default entry, `src/worker.ts`, stays LibSQL-only.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBStore } from './store/dynamodb/dynamodb-store'
import type { WorkflowStore } from './core/store'
import { ConfigurationError, readInteger } from './env-config'
import { createWorker, type WorkerEnv } from './worker'
import { exampleWorkflows } from './workflows'

/**
 * The DynamoDB store from bindings: DYNAMODB_TABLE, AWS_REGION, credentials, optional DYNAMODB_ENDPOINT and
 * DYNAMODB_RETENTION_SECONDS. On Workers the credentials must be bindings; in Node (`defaultCredentials`)
 * absent keys leave them to the SDK's default chain (profile, instance role, …).
 */
export async function dynamoDBStoreFromEnv(
  env: WorkerEnv,
  options: { defaultCredentials?: boolean } = {},
): Promise<WorkflowStore> {
  const tableName = env.DYNAMODB_TABLE?.trim()
  const region = env.AWS_REGION?.trim()
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim()
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim()
  const required: [string, string | undefined][] = [
    ['DYNAMODB_TABLE', tableName],
    ['AWS_REGION', region],
  ]
  if (!options.defaultCredentials || accessKeyId || secretAccessKey) {
    required.push(['AWS_ACCESS_KEY_ID', accessKeyId], ['AWS_SECRET_ACCESS_KEY', secretAccessKey])
  }
  const missing = required.filter(([, value]) => !value)
  if (missing.length > 0 || !tableName || !region) {
    throw new ConfigurationError(
      `STORE=dynamodb needs ${missing.map(([name]) => name).join(', ')}: set them with \`wrangler secret put\` ` +
        '(or in .dev.vars for `wrangler dev`)',
    )
  }
  const retentionSeconds = readInteger(env, 'DYNAMODB_RETENTION_SECONDS')
  const sessionToken = env.AWS_SESSION_TOKEN?.trim()
  const endpoint = env.DYNAMODB_ENDPOINT?.trim()
  const client = new DynamoDBClient({
    region,
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
    ...(endpoint ? { endpoint } : {}),
  })
  return new DynamoDBStore({ client, tableName, ...(retentionSeconds ? { retentionSeconds } : {}) })
}

export default createWorker<WorkerEnv>({ workflows: exampleWorkflows, stores: { dynamodb: dynamoDBStoreFromEnv } })
