/**
 * The version routes and fields over HTTP: a run of a version the deployment lacks shows `waitingFor: version`,
 * `GET /v1/workflows` lists versions with in-flight counts and orphaned runs, a start may name a version, and
 * `POST /v1/runs/:runId/migrate` moves a run or refuses with 409 listing the mismatches — and bad input is a 4xx
 * that changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow } from '../../src/core/workflow'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { VirtualClock } from '../support/virtual-clock'
import { type ApiHarness, createHarness, json, TOKEN } from './harness'

const DAY = 24 * 60 * 60 * 1000
const num = z.object({ n: z.number() })
const step = (id: string) => defineStep({ id, input: num, output: num, handler: (_ctx, { n }) => ({ n: n + 1 }) })
const v1 = workflow({ id: 'deploy', version: '1', input: num }).then(step('a')).sleep(DAY).then(step('b')).build()
const v2 = workflow({ id: 'deploy', version: '2', input: num }).then(step('c')).then(step('a')).sleep(DAY).then(step('b')).build()
const v3 = workflow({ id: 'deploy', version: '3', input: num }).then(step('a')).sleep(DAY).then(step('b')).then(step('d')).build()

let store: MemoryStore
let clock: VirtualClock
const harnesses: ApiHarness[] = []
const deployment = (workflows: AnyWorkflow[]) => {
  const h = createHarness(store, { engine: { workflows, clock, versionRecheckMs: 60_000 } })
  harnesses.push(h)
  return h
}

beforeEach(() => {
  store = new MemoryStore()
  clock = new VirtualClock()
})
afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    await h.settle()
    await h.engine.shutdown()
  }
})

/** A v1 run started over HTTP on a v1-only deployment, sleeping, then due; and a v2-only deployment that parked it. */
async function orphanedRun() {
  const old = deployment([v1])
  const started = await old.call('POST', '/v1/workflows/deploy/runs?wait=true', { input: { n: 1 } })
  expect(started.status).toBe(202)
  const { run } = await json(started)
  expect(run).toMatchObject({ workflowVersion: '1', workflowFingerprint: v1.fingerprint, waitingFor: { kind: 'sleep' } })
  await old.settle()
  await old.engine.shutdown()
  clock.advance(DAY)
  const current = deployment([v2])
  expect(await current.engine.resumeDue()).toMatchObject({ claimed: 0, parked: 1 })
  return { runId: run.runId as string, current }
}

describe('versions over HTTP', () => {
  it('shows a parked run as waiting for its version, and lists it as orphaned under GET /v1/workflows', async () => {
    const { runId, current } = await orphanedRun()
    const { run } = await json(await current.call('GET', `/v1/runs/${runId}`))
    expect(run.waitingFor).toEqual({
      kind: 'version',
      version: '1',
      fingerprint: v1.fingerprint,
      sameVersionOtherGraph: false,
      until: new Date(clock.now() + 60_000).toISOString(),
    })

    const list = await json(await current.call('GET', '/v1/workflows'))
    expect(list.truncated).toBe(false)
    expect(list.unregistered).toEqual([])
    const deploy = list.workflows.find((w: { id: string }) => w.id === 'deploy')
    expect(deploy).toMatchObject({ version: '2', fingerprint: v2.fingerprint })
    expect(deploy.versions).toEqual([
      { version: '2', fingerprint: v2.fingerprint, registered: true, current: true, inFlight: 0 },
      { version: '1', fingerprint: v1.fingerprint, registered: false, current: false, inFlight: 1, runIds: [runId] },
    ])
    const one = await json(await current.call('GET', '/v1/workflows/deploy'))
    expect(one.workflow.versions).toEqual(deploy.versions)
    expect((await current.call('GET', '/v1/workflows/nope')).status).toBe(404)
  })

  it('lists in-flight runs of a workflow id no longer registered at all', async () => {
    const { runId } = await orphanedRun()
    const other = deployment([workflow({ id: 'other', input: num }).then(step('x')).build()])
    const list = await json(await other.call('GET', '/v1/workflows'))
    expect(list.unregistered).toEqual([
      { workflowId: 'deploy', versions: [{ version: '1', fingerprint: v1.fingerprint, registered: false, current: false, inFlight: 1, runIds: [runId] }] },
    ])
  })

  it('starts on the current version, or on the one the body names; an unknown or malformed version is a 4xx', async () => {
    const h = deployment([v1, v2])
    const current = await json(await h.call('POST', '/v1/workflows/deploy/runs', { input: { n: 1 } }))
    expect(current.run).toMatchObject({ workflowVersion: '2', workflowFingerprint: v2.fingerprint })
    const named = await json(await h.call('POST', '/v1/workflows/deploy/runs', { input: { n: 1 }, version: '1' }))
    expect(named.run).toMatchObject({ workflowVersion: '1', workflowFingerprint: v1.fingerprint })
    await h.settle()
    const before = await store.listRuns({ limit: 100 })

    const unknown = await h.call('POST', '/v1/workflows/deploy/runs', { input: { n: 1 }, version: '9' })
    expect(unknown.status).toBe(404)
    expect((await json(unknown)).error).toMatchObject({ code: 'WORKFLOW_VERSION_NOT_FOUND', details: { registered: ['1', '2'] } })
    for (const version of ['', 'with space', 'x'.repeat(65), 7, null, '../1']) {
      const res = await h.call('POST', '/v1/workflows/deploy/runs', { input: { n: 1 }, version })
      expect(res.status, JSON.stringify(version)).toBe(400)
    }
    expect(await store.listRuns({ limit: 100 })).toEqual(before)
  })

  it('migrates a run with POST /v1/runs/:runId/migrate, or refuses with 409 listing the mismatches', async () => {
    const { runId, current } = await orphanedRun()
    const refused = await current.call('POST', `/v1/runs/${runId}/migrate`, { version: '2' })
    expect(refused.status).toBe(409)
    expect((await json(refused)).error).toMatchObject({
      code: 'MIGRATION_REFUSED',
      details: { mismatches: [{ stepId: 'a', problem: expect.stringContaining('comes after c') }] },
    })

    const target = deployment([v2, v3])
    const moved = await target.call('POST', `/v1/runs/${runId}/migrate`, { version: '3' })
    expect(moved.status).toBe(201)
    const { run } = await json(moved)
    expect(run).toMatchObject({ workflowVersion: '3', workflowFingerprint: v3.fingerprint, retryOf: runId })
    expect(moved.headers.get('Location')).toBe(`/v1/runs/${run.runId}`)
    await target.settle()
    expect((await json(await target.call('GET', `/v1/runs/${runId}`))).run).toMatchObject({ status: 'CANCELLED', retriedBy: run.runId })
    clock.advance(DAY)
    await target.engine.resumeDue()
    const done = await json(await target.call('GET', `/v1/runs/${run.runId}`))
    expect(done.run).toMatchObject({ status: 'COMPLETED', output: { n: 4 } })
    const steps = await json(await target.call('GET', `/v1/runs/${run.runId}/steps`))
    expect(steps.steps.map((s: { stepId: string }) => s.stepId)).toEqual(['a', 'sleep-1', 'b', 'd'])
  })

  it('answers bad migrate requests with a 4xx and changes nothing', async () => {
    const { runId, current } = await orphanedRun()
    const before = { runs: await store.listRuns({ limit: 100 }), steps: await store.listStepExecutions(runId) }
    const path = `/v1/runs/${runId}/migrate`
    const cases: [string, unknown, number, string][] = [
      ['no version', {}, 400, 'VALIDATION_ERROR'],
      ['a number', { version: 2 }, 400, 'VALIDATION_ERROR'],
      ['an unknown field', { version: '2', force: true }, 400, 'VALIDATION_ERROR'],
      ['a malformed version', { version: 'v 2' }, 400, 'VALIDATION_ERROR'],
      ['an unknown version', { version: '8' }, 404, 'WORKFLOW_VERSION_NOT_FOUND'],
    ]
    for (const [name, body, status, code] of cases) {
      const res = await current.call('POST', path, body)
      expect(res.status, name).toBe(status)
      expect((await json(res)).error.code, name).toBe(code)
    }
    const unknownRun = await current.call('POST', '/v1/runs/no-such-run/migrate', { version: '2' })
    expect(unknownRun.status).toBe(404)
    const notJson = await current.app.request(path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
      body: '{"version":',
    })
    expect(notJson.status).toBe(400)
    const noToken = await current.app.request(path, { method: 'POST', body: JSON.stringify({ version: '2' }) })
    expect(noToken.status).toBe(401)
    expect({ runs: await store.listRuns({ limit: 100 }), steps: await store.listStepExecutions(runId) }).toEqual(before)

    const completed = deployment([v3])
    const finished = await json(await completed.call('POST', '/v1/workflows/deploy/runs?wait=true', { input: { n: 1 } }))
    await completed.settle()
    clock.advance(DAY)
    await completed.engine.resumeDue()
    const res = await deployment([v1, v3]).call('POST', `/v1/runs/${finished.run.runId}/migrate`, { version: '1' })
    expect(res.status).toBe(409)
    expect((await json(res)).error.code).toBe('RUN_ALREADY_FINISHED')
  })

  it('documents the migrate route, the start body version and the version fields', async () => {
    const doc: any = await json(await deployment([v1]).call('GET', '/v1/openapi.json'))
    const migrate = doc.paths['/v1/runs/{runId}/migrate'].post
    expect(Object.keys(migrate.responses).sort()).toEqual(['201', '400', '401', '404', '409', '413', '415', '503'])
    expect(migrate.security).toEqual([{ bearerAuth: [] }])
    const { Run, StartRun, WorkflowSummary, WorkflowVersion } = doc.components.schemas
    expect(Run.properties).toHaveProperty('workflowFingerprint')
    expect(StartRun.properties).toHaveProperty('version')
    expect(WorkflowSummary.properties).toHaveProperty('versions')
    expect(Object.keys(WorkflowVersion.properties)).toEqual(['version', 'fingerprint', 'registered', 'current', 'inFlight', 'runIds'])
  })
})
