/**
 * The remote path (the one Workers take): `@libsql/client/web` over HTTP to the local libSQL endpoint.
 * Round trips are counted by the endpoint itself, schema checks refuse unmigrated databases, and
 * connection problems surface as STORE_UNAVAILABLE.
 */
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import type { LibSQLStore } from '../../src/store/libsql/libsql-store'
import { LATEST_MIGRATION, MIGRATIONS_TABLE, createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { makeRun, makeStep, T0 } from '../support/fixtures'
import { httpStoreHarness, startTestServer } from '../support/libsql-harness'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function harness(options: Parameters<typeof httpStoreHarness>[0] = {}) {
  const h = await httpStoreHarness(options)
  cleanups.push(h.cleanup)
  return h
}

async function server(options: Parameters<typeof startTestServer>[0] = {}) {
  const s = await startTestServer(options)
  cleanups.push(s.stop)
  return s
}

describe('LibSQLStore over HTTP', () => {
  it('sends one HTTP request per createRun, claimRun, commit, cancelRun and every other method', async () => {
    const { store, server: endpoint } = await harness()
    const requests = async (call: () => Promise<unknown>) => {
      const before = endpoint.stats().pipelines
      await call()
      return endpoint.stats().pipelines - before
    }
    const run = makeRun({ idempotencyKey: 'key' })
    expect(await requests(() => store.createRun(run))).toBe(1)
    expect(await requests(() => store.createRun(makeRun({ idempotencyKey: 'key' })))).toBe(1)
    expect(await requests(() => store.createRun(makeRun()))).toBe(1)
    let claim: Awaited<ReturnType<LibSQLStore['claimRun']>> = null
    expect(await requests(async () => (claim = await store.claimRun(run.runId, 'owner', T0, 30_000)))).toBe(1)
    if (claim === null) throw new Error('not claimed')
    const lease = (claim as { lease: Parameters<LibSQLStore['commit']>[0] }).lease
    const steps = [
      makeStep({ runId: run.runId, stepId: 'a', status: 'COMPLETED', output: { ok: true } }),
      makeStep({ runId: run.runId, stepId: 'b', executionIndex: 1, status: 'COMPLETED', output: 2 }),
      makeStep({ runId: run.runId, stepId: 'c', executionIndex: 2, status: 'RUNNING' }),
    ]
    expect(
      await requests(() =>
        store.commit(lease, {
          now: T0 + 1,
          steps,
          run: { status: 'RUNNING', progress: 0.66 },
          leaseExpiresAt: T0 + 30_000,
        }),
      ),
    ).toBe(1)
    // A refused commit (rare) reads why, lease lost, with a second request.
    await expect(
      requests(() =>
        store.commit({ ...lease, owner: 'intruder' }, { now: T0 + 2, steps, run: {}, leaseExpiresAt: null }),
      ),
    ).rejects.toMatchObject({ code: 'LEASE_LOST' })
    expect(endpoint.stats().pipelines).toBe(8)
    // A run created with its first steps started: still one request.
    const begun = makeRun({ status: 'RUNNING' })
    const first = makeStep({ runId: begun.runId, stepId: 'a', status: 'RUNNING' })
    expect(await requests(() => store.createRun(begun, [first]))).toBe(1)
    expect(await store.listStepExecutions(begun.runId)).toEqual([first])
    expect(await requests(() => store.saveState(run.runId, 'k', 1, T0))).toBe(1)
    expect(await requests(() => store.listRuns({ workflowId: 'wf-test' }))).toBe(1)
    expect(await requests(() => store.listDueRuns(T0 + 60_000, 10))).toBe(1)
    expect(await requests(() => store.loadStepOutput(run.runId, 'a'))).toBe(1)
    const pause = { from: ['RUNNING'], to: 'PAUSED', now: T0 + 3 } as const
    expect(await requests(() => store.transitionRun(run.runId, pause))).toBe(1)
    expect(await requests(() => store.deliverEvent(run.runId, 'approved', { ok: true }, T0 + 3))).toBe(1)
    expect(await requests(() => store.loadEvent(run.runId, 'approved'))).toBe(1)
    expect(await requests(() => store.cancelRun(run.runId, T0 + 3))).toBe(1)
    expect(await requests(() => store.linkRetry(run.runId, 'retry', T0 + 4))).toBe(1)
    expect(await requests(() => store.deleteFinishedRuns(T0 + 10, 10))).toBe(1)
  })

  it('runs a 10-step workflow with one HTTP request per step commit (at most N + 3 in all)', async () => {
    const { store, server: endpoint } = await harness()
    const num = z.object({ n: z.number() })
    const step = (id: string) => defineStep({ id, input: num, output: num, handler: (_ctx, { n }) => ({ n: n + 1 }) })
    let flow = workflow({ id: 'ten', input: num }).then(step('s1'))
    for (let i = 2; i <= 10; i++) flow = flow.then(step(`s${i}`))
    const engine = new Engine({ store, workflows: [flow.build()] })
    cleanups.push(() => engine.shutdown())
    const before = endpoint.stats().pipelines
    const { run } = await engine.start('ten', { n: 0 })
    const done = await engine.execute(run.runId)
    const used = endpoint.stats().pipelines - before
    expect(done).toMatchObject({ status: 'COMPLETED', output: { n: 10 } })
    // Measured with this engine: 12 requests (the start, then one commit per step boundary); DESIGN's budget
    // is N + 3. Nothing is read back that this invocation wrote.
    expect(used).toBeLessThanOrEqual(10 + 3)
    expect(used).toBeGreaterThanOrEqual(10)
  })

  it('refuses a database without the schema with SCHEMA_OUT_OF_DATE naming npm run db:migrate', async () => {
    const { server: endpoint } = await server({ migrated: false })
    const refusal = createRemoteLibSQLStore({ url: endpoint.url, authToken: endpoint.token })
    await expect(refusal).rejects.toMatchObject({
      code: 'SCHEMA_OUT_OF_DATE',
      message: expect.stringContaining('npm run db:migrate'),
    })
    // createLibSQLStore never migrates a remote database either.
    const viaFactory = createLibSQLStore({ url: endpoint.url, authToken: endpoint.token })
    await expect(viaFactory).rejects.toMatchObject({ code: 'SCHEMA_OUT_OF_DATE' })
  })

  it('refuses a database migrated by an older version with SCHEMA_OUT_OF_DATE', async () => {
    const { server: endpoint, dbPath } = await server()
    const db = new Database(dbPath)
    db.prepare(`UPDATE ${MIGRATIONS_TABLE} SET created_at = ?`).run(LATEST_MIGRATION.when - 1)
    db.close()
    await expect(createRemoteLibSQLStore({ url: endpoint.url, authToken: endpoint.token })).rejects.toMatchObject({
      code: 'SCHEMA_OUT_OF_DATE',
      message: expect.stringContaining(LATEST_MIGRATION.tag),
    })
  })

  it('accepts libsql:// URLs and speaks HTTP to them', async () => {
    const { server: endpoint } = await server()
    const store = await createLibSQLStore({
      url: `libsql://127.0.0.1:${endpoint.port}?tls=0`,
      authToken: endpoint.token,
    })
    cleanups.push(() => store.close())
    const run = makeRun()
    await store.createRun(run)
    expect(await store.getRun(run.runId)).toEqual(run)
  })

  it('sends the auth token, and reports a missing or wrong one as STORE_UNAVAILABLE', async () => {
    const { store } = await harness({ token: 's3cret' })
    const run = makeRun()
    await store.createRun(run)
    expect(await store.getRun(run.runId)).toEqual(run)

    const { server: guarded } = await server({ token: 's3cret' })
    await expect(createRemoteLibSQLStore({ url: guarded.url })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringMatching(/token/),
    })
    await expect(createRemoteLibSQLStore({ url: guarded.url, authToken: 'wrong' })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    })
  })

  it('reports an unreachable endpoint as STORE_UNAVAILABLE, on open and on later calls', async () => {
    const { server: endpoint, stop } = await startTestServer()
    const store = await createRemoteLibSQLStore({ url: endpoint.url, authToken: endpoint.token })
    cleanups.push(() => store.close())
    await stop()
    await expect(store.getRun('x')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    const reopened = createRemoteLibSQLStore({ url: endpoint.url, authToken: endpoint.token })
    await expect(reopened).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
  })
})
