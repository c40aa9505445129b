/**
 * The DynamoDB store on Cloudflare Workers: bundled the way wrangler bundles a Worker (esbuild with the
 * `workerd`/`worker`/`browser` export conditions), without `nodejs_compat`, then run inside workerd (Miniflare)
 * against DynamoDB Local.
 */
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { describe, expect, it } from 'vitest'
import { createTable } from '../../src/store/dynamodb/create-table'
import { useDynamoDBLocal } from '../support/dynamodb-harness'
import { uniqueTableName } from '../support/dynamodb-local'

const dynamo = useDynamoDBLocal()

describe('DynamoDBStore in workerd', () => {
  it('bundles without Node built-ins or nodejs_compat and runs a whole run against DynamoDB Local', async () => {
    const bundle = await build({
      entryPoints: ['test/support/dynamodb-worker.ts'],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      conditions: ['workerd', 'worker', 'browser'],
      target: 'es2022',
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    })
    const inputs = Object.keys(bundle.metafile.inputs)
    expect(inputs.filter((path) => path.startsWith('node:') || /(^|\/)node_modules\/@types\/node\//.test(path))).toEqual([])
    const code = bundle.outputFiles[0]?.text ?? ''
    // Reported for the docs: the SDK is most of the bundle.
    console.info(`dynamodb worker bundle: ${Math.round(code.length / 1024)} KiB minified`)

    const tableName = uniqueTableName('workerd')
    await createTable(dynamo.client(), tableName)
    const mf = new Miniflare({
      modules: true,
      script: code,
      compatibilityDate: '2026-04-26',
      bindings: { DYNAMODB_ENDPOINT: dynamo.local().endpoint, DYNAMODB_TABLE: tableName },
    })
    try {
      const response = await mf.dispatchFetch('http://worker.test/')
      const body = (await response.json()) as Record<string, unknown>
      expect(body).not.toHaveProperty('error')
      expect(response.status).toBe(200)
      expect(body).toEqual({
        created: true,
        repeatedCreated: false,
        sameRun: true,
        due: [body.otherRunId],
        otherRunId: expect.any(String),
        cancelledStatus: 'CANCELLED',
        listed: [[true, 'COMPLETED', { charged: 12.5 }]],
        output: { charged: 12.5 },
        state: { total: 12.5 },
        afterFinish: 'RUN_ALREADY_FINISHED',
      })
    } finally {
      await mf.dispose()
    }
  })
})
