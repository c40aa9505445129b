/**
 * The Node entry registering two versions of one workflow over one LibSQL file: a run started on v1 before the
 * deploy finishes on v1 (never running v2's steps), new runs start on v2, and `GET /v1/workflows` shows both
 * versions with their in-flight runs.
 */
import { afterEach, expect, it } from 'vitest'
import { silentLogger } from '../../src/core/logger'
import type { AnyWorkflow } from '../../src/core/workflow'
import { startNodeServer, type NodeServer } from '../../src/node'
import { tempDir, type TempDir } from '../support/libsql-harness'
import { twoVersions } from '../support/version-workflows'
import { bearerFetch } from '../support/local-server'

const TOKEN = 'node-versions-token'
const servers: NodeServer[] = []
let dir: TempDir | undefined

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
  dir?.dispose()
  dir = undefined
})

async function start(workflows: AnyWorkflow[]): Promise<NodeServer> {
  dir ??= tempDir('gorkflow-node-versions-')
  const server = await startNodeServer({
    port: 0,
    apiTokens: [TOKEN],
    databaseUrl: `file:${dir.file('gorkflow.db')}`,
    logger: silentLogger,
    sweepIntervalMs: 0,
    workflows,
  })
  servers.push(server)
  return server
}

async function call(s: NodeServer, method: string, path: string, body?: unknown): Promise<any> {
  const res = await bearerFetch(s.url, TOKEN, method, path, body)
  return { status: res.status, body: await res.json() }
}

it('serves two versions of one workflow: the v1 run finishes on v1 and new runs start on v2', async () => {
  const { v1, v2 } = twoVersions('deploy')
  const before = await start([v1])
  const old = await call(before, 'POST', '/v1/workflows/deploy/runs?wait=true', { input: { n: 1 } })
  expect(old.status).toBe(202)
  expect(old.body.run).toMatchObject({ workflowVersion: '1', workflowFingerprint: v1.fingerprint, waitingFor: { kind: 'event', name: 'go' } })
  const runId = old.body.run.runId as string
  await before.close()
  servers.splice(servers.indexOf(before), 1)

  const after = await start([v1, v2])
  const fresh = await call(after, 'POST', '/v1/workflows/deploy/runs?wait=true', { input: { n: 1 } })
  expect(fresh.body.run).toMatchObject({ workflowVersion: '2', workflowFingerprint: v2.fingerprint })
  const listed = await call(after, 'GET', '/v1/workflows/deploy')
  expect(listed.body.workflow.versions).toEqual([
    { version: '1', fingerprint: v1.fingerprint, registered: true, current: false, inFlight: 1 },
    { version: '2', fingerprint: v2.fingerprint, registered: true, current: true, inFlight: 1 },
  ])

  expect((await call(after, 'POST', `/v1/runs/${runId}/events/go`, { payload: { n: 5 } })).status).toBe(202)
  await expect.poll(async () => (await call(after, 'GET', `/v1/runs/${runId}`)).body.run.status, { timeout: 10_000, interval: 20 }).toBe('COMPLETED')
  const steps = await call(after, 'GET', `/v1/runs/${runId}/steps`)
  expect(steps.body.steps.map((s: { stepId: string }) => s.stepId)).toEqual(['a', 'go', 'b'])
  expect((await call(after, 'GET', `/v1/runs/${runId}`)).body.run).toMatchObject({ workflowVersion: '1', output: { n: 6 } })
})
