/**
 * What each Worker entry bundles, built the way wrangler bundles a Worker (esbuild with the `workerd`/`worker`/
 * `browser` conditions): the default Worker carries neither the AWS SDK nor anything Node-only (the file store,
 * its native engines, `node:` modules); the DynamoDB build carries the SDK and still nothing Node-only.
 */
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'

async function bundleInputs(entry: string, platform: 'browser' | 'node' = 'browser'): Promise<string[]> {
  const bundle = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform,
    ...(platform === 'browser' ? { conditions: ['workerd', 'worker', 'browser'] } : { packages: 'external' as const }),
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  })
  return Object.keys(bundle.metafile.inputs)
}

const NODE_ONLY = /^node:|(^|\/)src\/store\/libsql\/(create-libsql-store|file-client|checkpointer)\.ts$|(^|\/)node_modules\/(better-sqlite3|libsql)\//
const AWS_SDK = /(^|\/)node_modules\/@aws-sdk\//

describe('Worker bundles', () => {
  it('keeps the AWS SDK and Node-only code out of the default Worker (src/worker.ts)', async () => {
    const inputs = await bundleInputs('src/worker.ts')
    expect(inputs).toContain('src/runtime/compose.ts')
    expect(inputs).toContain('src/store/libsql/remote-libsql-store.ts')
    expect(inputs.filter((path) => AWS_SDK.test(path))).toEqual([])
    expect(inputs.filter((path) => NODE_ONLY.test(path))).toEqual([])
  })

  it('adds the AWS SDK, and still nothing Node-only, to the DynamoDB Worker (src/worker-dynamodb.ts)', async () => {
    const inputs = await bundleInputs('src/worker-dynamodb.ts')
    expect(inputs.filter((path) => AWS_SDK.test(path)).length).toBeGreaterThan(0)
    expect(inputs.filter((path) => NODE_ONLY.test(path))).toEqual([])
  })

  it('would see the file store: the Node entry bundles it (the check above can fail)', async () => {
    const inputs = await bundleInputs('src/node.ts', 'node')
    expect(inputs.filter((path) => NODE_ONLY.test(path))).toContain('src/store/libsql/create-libsql-store.ts')
  })
})
