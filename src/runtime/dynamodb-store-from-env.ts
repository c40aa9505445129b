/**
 * @module
 * The DynamoDB store from an entry's settings. Its own module because it loads the AWS SDK: the DynamoDB Worker
 * (`worker-dynamodb.ts`) and the Node entry import it; the default Worker never does.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import type { WorkflowStore } from '../core/store'
import { ConfigurationError, readInteger, readString } from './env-config'
import { DynamoDBStore } from '../store/dynamodb/dynamodb-store'

/**
 * The DynamoDB store from DYNAMODB_TABLE, AWS_REGION, credentials, optional DYNAMODB_ENDPOINT and
 * DYNAMODB_RETENTION_SECONDS. On Workers the credentials must be bindings; in Node (`defaultCredentials`)
 * absent keys leave them to the SDK's default chain (profile, instance role, …).
 * @throws ConfigurationError naming every missing setting
 */
export async function dynamoDBStoreFromEnv(env: object, options: { defaultCredentials?: boolean } = {}): Promise<WorkflowStore> {
  const tableName = readString(env, 'DYNAMODB_TABLE')
  const region = readString(env, 'AWS_REGION')
  const accessKeyId = readString(env, 'AWS_ACCESS_KEY_ID')
  const secretAccessKey = readString(env, 'AWS_SECRET_ACCESS_KEY')
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
        '(or in .dev.vars for `wrangler dev`, or in the environment for `npm start`)',
    )
  }
  const retentionSeconds = readInteger(env, 'DYNAMODB_RETENTION_SECONDS')
  const sessionToken = readString(env, 'AWS_SESSION_TOKEN')
  const endpoint = readString(env, 'DYNAMODB_ENDPOINT')
  const client = new DynamoDBClient({
    region,
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } }
      : {}),
    ...(endpoint ? { endpoint } : {}),
  })
  return new DynamoDBStore({ client, tableName, ...(retentionSeconds ? { retentionSeconds } : {}) })
}
