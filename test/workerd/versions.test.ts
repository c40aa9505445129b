/**
 * `createWorker` registering two versions of one workflow, inside workerd against the local libSQL endpoint: new
 * runs start on the last version unless the body names one, a v1 run continues on v1, and a Worker that has only
 * v2 parks a v1 run (waiting for its version) without running any of its steps.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect, it } from 'vitest'
import { graphFingerprint } from '../../src/core/fingerprint'
import { createWorker } from '../../src/runtime/create-worker'
import { createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { makeRun } from '../support/fixtures'
import { twoVersions } from '../support/version-workflows'

const BASE = 'http://gorkflow.test'
const AUTH = { Authorization: `Bearer ${String(env.API_TOKEN)}` }
// Its own workflow id: other test files share the database.
const { v1, v2 } = twoVersions(`deploy-${crypto.randomUUID().slice(0, 8)}`)
const both = createWorker({ workflows: [v1, v2] })
const onlyV2 = createWorker({ workflows: [v2] })
// These Workers' runs continue in waitUntil: the RUN_ALARMS objects belong to the test entry (worker-entry.ts),
// whose registry has neither version, and would set every run here aside.
const withoutAlarms = { ...env, RUN_ALARMS: undefined }

async function call(worker: typeof both, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const ctx = createExecutionContext()
  const request = new Request(`${BASE}${path}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const res = await worker.fetch(request, withoutAlarms, ctx)
  await waitOnExecutionContext(ctx)
  return { status: res.status, body: await res.json() }
}

it('computes the same fingerprint as Node (the value test/core/fingerprint.test.ts pins)', () => {
  const nodes = [
    { id: 'a', kind: 'step', event: null },
    { id: 'b', kind: 'event', event: 'go' },
  ] as const
  expect(graphFingerprint(nodes, [['a', 'b']])).toBe('b3b90a3aecbba7d1')
})

it('starts on the last version or the named one, and a v1 run finishes on v1', async () => {
  const current = await call(both, 'POST', `/v1/workflows/${v1.id}/runs?wait=true`, { input: { n: 1 } })
  expect(current.body.run).toMatchObject({ workflowVersion: '2', workflowFingerprint: v2.fingerprint })
  const old = await call(both, 'POST', `/v1/workflows/${v1.id}/runs?wait=true`, { input: { n: 1 }, version: '1' })
  expect(old.body.run).toMatchObject({ workflowVersion: '1', workflowFingerprint: v1.fingerprint, waitingFor: { kind: 'event' } })
  const unknown = await call(both, 'POST', `/v1/workflows/${v1.id}/runs`, { input: { n: 1 }, version: '3' })
  expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'WORKFLOW_VERSION_NOT_FOUND' } } })

  expect((await call(both, 'POST', `/v1/runs/${old.body.run.runId}/events/go`, { payload: { n: 5 } })).status).toBe(202)
  const done = await call(both, 'GET', `/v1/runs/${old.body.run.runId}`)
  expect(done.body.run).toMatchObject({ status: 'COMPLETED', workflowVersion: '1', output: { n: 6 } })
  const steps = await call(both, 'GET', `/v1/runs/${old.body.run.runId}/steps`)
  expect(steps.body.steps.map((s: { stepId: string }) => s.stepId)).toEqual(['a', 'go', 'b'])
})

it('parks a v1 run on a Worker that has only v2: no step runs, the run waits for its version', async () => {
  // A v1 run paused before its first step, as a v1 Worker left it.
  const store = await createRemoteLibSQLStore({ url: String(env.TURSO_DATABASE_URL), authToken: String(env.TURSO_AUTH_TOKEN) })
  const now = Date.now()
  const runId = `v1-${crypto.randomUUID()}`
  await store.createRun(
    makeRun({ runId, workflowId: v1.id, workflowVersion: '1', workflowFingerprint: v1.fingerprint, status: 'PAUSED', input: { n: 1 }, createdAt: now, updatedAt: now }),
  )
  await store.close()
  // Resuming continues the run in the background on the Worker that answers: one without v1.
  expect((await call(onlyV2, 'POST', `/v1/runs/${runId}/resume`)).status).toBe(202)
  const parked = await call(onlyV2, 'GET', `/v1/runs/${runId}`)
  expect(parked.body.run).toMatchObject({
    status: 'RUNNING',
    workflowVersion: '1',
    waitingFor: { kind: 'version', version: '1', fingerprint: v1.fingerprint, sameVersionOtherGraph: false },
  })
  const steps = await call(onlyV2, 'GET', `/v1/runs/${runId}/steps`)
  expect(steps.body.steps).toEqual([])
  const listed = await call(onlyV2, 'GET', `/v1/workflows/${v1.id}`)
  expect(listed.body.workflow.versions).toContainEqual({
    version: '1',
    fingerprint: v1.fingerprint,
    registered: false,
    current: false,
    inFlight: expect.any(Number),
    runIds: expect.arrayContaining([runId]),
  })
})
