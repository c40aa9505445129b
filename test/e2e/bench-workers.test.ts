/**
 * The benchmark's own Workers under the real `wrangler dev`, offline: the Cloudflare Workflows peer
 * (bench/peers/cf-workflows/) runs W1, W2 and a batch with Cloudflare Workflows' API and answers like our API;
 * the probe Worker of bench/probes/worker-fetch-cost.ts makes exactly the requests it is asked for. Both also
 * build with `wrangler deploy --dry-run`. Behaviour only: no timings are asserted.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wranglerEnv } from '../../scripts/dev'
import { cfWorkflowsTarget } from '../../bench/targets/cf-workflows'
import { wranglerDevLibsqlTarget } from '../../bench/targets/wrangler-dev'
import { startEndpoint, type LibsqlEndpoint } from '../../bench/targets/libsql-endpoint'
import { startWranglerWorker, type WranglerWorker } from '../../bench/targets/wrangler-process'

const PEER_CONFIG = 'bench/peers/cf-workflows/wrangler.toml'
const PROBE_CONFIG = 'bench/probes/worker-fetch-cost/wrangler.toml'

async function post(url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: await res.json() }
}

describe('the Cloudflare Workflows peer under wrangler dev', () => {
  let peer: WranglerWorker | undefined

  beforeAll(async () => {
    peer = await startWranglerWorker({ config: PEER_CONFIG, vars: {}, launcher: 'cli' })
  }, 120_000)

  afterAll(async () => {
    await peer?.close()
  })

  it('runs W1 and W2 to completion from the given input and answers with our status names', async () => {
    const w1 = await post(`${peer!.url}/v1/workflows/bench-w1/runs?wait=true`, { input: { n: 5 } })
    expect(w1).toMatchObject({ status: 200, body: { run: { status: 'COMPLETED', output: { n: 15 }, error: null } } })
    const w2 = await post(`${peer!.url}/v1/workflows/bench-w2/runs?wait=true`, { input: { n: 0 } })
    expect(w2).toMatchObject({ status: 200, body: { run: { status: 'COMPLETED', output: { n: 16 } } } })
  }, 60_000)

  it('starts and awaits a batch of W1 instances in one request, each its own instance', async () => {
    const { status, body } = await post(`${peer!.url}/bench/workflows/bench-w1/batch?runs=5`)
    expect(status).toBe(200)
    expect(body.runs.map((r: any) => [r.status, r.output])).toEqual(Array(5).fill(['COMPLETED', { n: 10 }]))
    expect(new Set(body.runs.map((r: any) => r.id)).size).toBe(5)
  }, 60_000)

  it('answers 404 for an unknown workflow and 400 for a bad body or batch size', async () => {
    expect((await post(`${peer!.url}/v1/workflows/nope/runs`, { input: { n: 0 } })).status).toBe(404)
    expect((await post(`${peer!.url}/v1/workflows/bench-w1/runs`, { input: 'x' })).status).toBe(400)
    expect((await post(`${peer!.url}/bench/workflows/bench-w1/batch?runs=0`)).status).toBe(400)
    expect((await post(`${peer!.url}/bench/workflows/bench-w1/batch?runs=1.5`)).status).toBe(400)
  }, 30_000)
})

describe('the wrangler-dev benchmark target', () => {
  it('runs W1 with 11 store requests and a W3 batch of 100 runs through the Worker\'s batch route', async () => {
    const session = await wranglerDevLibsqlTarget.open()
    try {
      const before = (await session.endpointRequests()) as number
      await session.run('W1')
      const afterRun = (await session.endpointRequests()) as number
      expect(afterRun - before).toBe(11)
      await session.batch()
      expect(((await session.endpointRequests()) as number) - afterRun).toBe(1_100)
    } finally {
      await session.close()
    }
  }, 180_000)
})

describe('the cf-workflows benchmark target', () => {
  it('opens a session whose W1, W2 and W3 runs are checked and closes it', async () => {
    const session = await cfWorkflowsTarget.open()
    try {
      await session.run('W1')
      await session.run('W2')
      await session.batch()
      expect(session.storeCalls()).toBeNull()
      expect(await session.endpointRequests()).toBeNull()
      expect(await session.peakRssKiB()).toBeGreaterThan(0)
    } finally {
      await session.close()
    }
  }, 180_000)
})

describe('the probe Worker of worker-fetch-cost', () => {
  let endpoint: LibsqlEndpoint | undefined
  let probe: WranglerWorker | undefined

  beforeAll(async () => {
    endpoint = await startEndpoint(0)
    probe = await startWranglerWorker({ config: PROBE_CONFIG, vars: {}, launcher: 'api' })
  }, 120_000)

  afterAll(async () => {
    await probe?.close()
    await endpoint?.close()
  })

  it('makes exactly n requests to the endpoint it is given', async () => {
    const headers = { 'x-endpoint': endpoint!.url, 'x-endpoint-token': endpoint!.token }
    const before = await endpoint!.requests()
    const { status, body } = await post(`${probe!.url}/probe?n=3`, undefined, headers)
    expect(status).toBe(200)
    expect(body.n).toBe(3)
    expect(typeof body.ms).toBe('number')
    expect((await endpoint!.requests()) - before).toBe(3)
  }, 30_000)

  it('answers 400 without an endpoint or with a bad count, and 502 when the endpoint refuses it', async () => {
    const headers = { 'x-endpoint': endpoint!.url, 'x-endpoint-token': endpoint!.token }
    expect((await post(`${probe!.url}/probe?n=1`)).status).toBe(400)
    expect((await post(`${probe!.url}/probe?n=-1`, undefined, headers)).status).toBe(400)
    const wrongToken = await post(`${probe!.url}/probe?n=1`, undefined, { ...headers, 'x-endpoint-token': 'wrong' })
    expect(wrongToken.status).toBe(502)
  }, 30_000)
})

describe('wrangler deploy --dry-run', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'gorkflow-bench-build-'))
  afterAll(() => rmSync(outDir, { recursive: true, force: true }))

  it.each([
    [PEER_CONFIG, 'W1Workflow'],
    [PROBE_CONFIG, '/v2/pipeline'],
  ])('bundles %s', async (config, expected) => {
    const out = join(outDir, config.replaceAll('/', '_'))
    const wrangler = join(process.cwd(), 'node_modules/wrangler/bin/wrangler.js')
    await promisify(execFile)(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', out, '--config', config], {
      env: wranglerEnv(),
    })
    expect(readFileSync(join(out, 'worker.js'), 'utf8')).toContain(expected)
  }, 60_000)
})
