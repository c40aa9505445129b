/**
 * @module
 * `npm run dynamodb:create-table -- --table NAME [--endpoint URL] [--region R]`
 *
 * Creates the DynamoDB store's table (on-demand billing, its GSIs, TTL on `ttl`) and waits until it is ACTIVE.
 * Idempotent: an existing complete table is left as it is. Options fall back to DYNAMODB_TABLE,
 * DYNAMODB_ENDPOINT and AWS_REGION; credentials come from the AWS SDK's default chain (environment, profile,
 * role). With `--endpoint` and no AWS credentials in the environment, DynamoDB Local's placeholder
 * credentials are used.
 */
import { parseArgs } from 'node:util'
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb'
import { createTable, GLOBAL_SECONDARY_INDEXES } from '../src/store/dynamodb/create-table'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

const USAGE = 'usage: npm run dynamodb:create-table -- --table NAME [--endpoint URL] [--region REGION]'

async function main(): Promise<number> {
  let values: { table?: string; endpoint?: string; region?: string; help?: boolean }
  try {
    ;({ values } = parseArgs({
      options: {
        table: { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }))
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  const tableName = values.table ?? process.env.DYNAMODB_TABLE
  if (!tableName) {
    console.error(`no table name: pass --table NAME or set DYNAMODB_TABLE\n${USAGE}`)
    return 2
  }
  const endpoint = values.endpoint ?? process.env.DYNAMODB_ENDPOINT
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1'
  const config: DynamoDBClientConfig = { region }
  if (endpoint) {
    config.endpoint = endpoint
    if (!process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE) {
      config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' }
    }
  }
  const client = new DynamoDBClient(config)
  try {
    const result = await createTable(client, tableName)
    const where = endpoint ? ` at ${endpoint}` : ` in ${region}`
    console.log(
      result.created
        ? `created table ${tableName}${where} with ${GLOBAL_SECONDARY_INDEXES.length} indexes (on-demand billing)`
        : `table ${tableName}${where} already exists with every index`,
    )
    console.log(result.ttlEnabled ? 'enabled TTL on attribute "ttl"' : 'TTL on attribute "ttl" was already enabled')
    return 0
  } catch (err) {
    console.error(`could not create table ${tableName}: ${(err as Error).message}`)
    return 1
  } finally {
    client.destroy()
  }
}

process.exitCode = await main()
