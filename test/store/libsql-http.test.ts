/**
 * The remote path (the one Workers take): `@libsql/client/web` over HTTP, against both our local libSQL endpoint
 * and sqld, the libSQL server behind Turso. Round trips are counted at the client's fetch, schema checks refuse
 * unmigrated databases, and connection problems surface as STORE_UNAVAILABLE.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createClient } from '@libsql/client/web'
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import type { LibSQLStore } from '../../src/store/libsql/libsql-store'
import { LATEST_MIGRATION, MIGRATIONS_TABLE, createRemoteLibSQLStore } from '../../src/store/libsql/remote-libsql-store'
import { makeRun, makeStep, T0 } from '../support/fixtures'
import { startTestServer } from '../support/libsql-harness'
import { countingFetch, startSqld } from '../support/sqld'

/** A running remote database: its URL, a token it accepts when started with `auth`, and how to stop it. */
interface Remote {
  readonly url: string
  readonly port: number
  readonly authToken: string | undefined
  stop(): Promise<void>
}

type StartRemote = (options: { migrated?: boolean; auth?: boolean }) => Promise<Remote>

const backends: Record<string, StartRemote> = {
  'the local libSQL endpoint': async ({ migrated, auth }) => {
    // The endpoint always requires a token: a generated one unless the test names it.
    const { server, stop } = await startTestServer({ ...(migrated === false ? { migrated } : {}), ...(auth === true ? { token: 's3cret' } : {}) })
    return { url: server.url, port: server.port, authToken: server.token, stop }
  },
  sqld: (options) => startSqld(options),
}

/** Client options for `remote`: its URL, with its token when it has one. */
const connection = (remote: Remote) => ({ url: remote.url, ...(remote.authToken === undefined ? {} : { authToken: remote.authToken }) })

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

for (const [backend, startRemote] of Object.entries(backends)) {
  describe(`LibSQLStore over HTTP to ${backend}`, () => {
    async function remote(options: Parameters<StartRemote>[0] = {}): Promise<Remote> {
      const started = await startRemote(options)
      cleanups.push(started.stop)
      return started
    }

    /** A store on a fresh migrated database, counting the pipeline requests it sends (its round trips). */
    async function harness(options: { auth?: boolean } = {}) {
      const { url, authToken } = await remote(options)
      const counting = countingFetch()
      const store = await createRemoteLibSQLStore({ url, fetch: counting.fetch, ...(authToken === undefined ? {} : { authToken }) })
      cleanups.push(() => store.close())
      return { store, pipelines: counting.pipelines }
    }

    it('sends one HTTP request per createRun, claimRun, commit, cancelRun and every other method', async () => {
      const { store, pipelines } = await harness()
      const requests = async (call: () => Promise<unknown>) => {
        const before = pipelines()
        await call()
        return pipelines() - before
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
      // Including the schema check on open.
      expect(pipelines()).toBe(8)
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
      const { store, pipelines } = await harness()
      const num = z.object({ n: z.number() })
      const step = (id: string) => defineStep({ id, input: num, output: num, handler: (_ctx, { n }) => ({ n: n + 1 }) })
      let flow = workflow({ id: 'ten', input: num }).then(step('s1'))
      for (let i = 2; i <= 10; i++) flow = flow.then(step(`s${i}`))
      const engine = new Engine({ store, workflows: [flow.build()] })
      cleanups.push(() => engine.shutdown())
      const before = pipelines()
      const { run } = await engine.start('ten', { n: 0 })
      const done = await engine.execute(run.runId)
      const used = pipelines() - before
      expect(done).toMatchObject({ status: 'COMPLETED', output: { n: 10 } })
      // Measured with this engine: 12 requests (the start, then one commit per step boundary); DESIGN's budget
      // is N + 3. Nothing is read back that this invocation wrote.
      expect(used).toBeLessThanOrEqual(10 + 3)
      expect(used).toBeGreaterThanOrEqual(10)
    })

    it('refuses a database without the schema with SCHEMA_OUT_OF_DATE naming npm run db:migrate', async () => {
      const endpoint = await remote({ migrated: false })
      const refusal = createRemoteLibSQLStore(connection(endpoint))
      await expect(refusal).rejects.toMatchObject({
        code: 'SCHEMA_OUT_OF_DATE',
        message: expect.stringContaining('npm run db:migrate'),
      })
      // createLibSQLStore never migrates a remote database either.
      await expect(createLibSQLStore(connection(endpoint))).rejects.toMatchObject({ code: 'SCHEMA_OUT_OF_DATE' })
    })

    it('refuses a database migrated by an older version with SCHEMA_OUT_OF_DATE', async () => {
      const endpoint = await remote()
      const client = createClient(connection(endpoint))
      await client.execute({ sql: `UPDATE ${MIGRATIONS_TABLE} SET created_at = ?`, args: [LATEST_MIGRATION.when - 1] })
      client.close()
      await expect(createRemoteLibSQLStore(connection(endpoint))).rejects.toMatchObject({
        code: 'SCHEMA_OUT_OF_DATE',
        message: expect.stringContaining(LATEST_MIGRATION.tag),
      })
    })

    it('accepts libsql:// URLs and speaks HTTP to them', async () => {
      const endpoint = await remote()
      const store = await createLibSQLStore({ ...connection(endpoint), url: `libsql://127.0.0.1:${endpoint.port}?tls=0` })
      cleanups.push(() => store.close())
      const run = makeRun()
      await store.createRun(run)
      expect(await store.getRun(run.runId)).toEqual(run)
    })

    it('sends the auth token, and reports a missing or wrong one as STORE_UNAVAILABLE', async () => {
      const { store } = await harness({ auth: true })
      const run = makeRun()
      await store.createRun(run)
      expect(await store.getRun(run.runId)).toEqual(run)

      const guarded = await remote({ auth: true })
      await expect(createRemoteLibSQLStore({ url: guarded.url })).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringMatching(/token|authoriz|401/i),
      })
      await expect(createRemoteLibSQLStore({ url: guarded.url, authToken: 'wrong' })).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
      })
    })

    it('reports an unreachable endpoint as STORE_UNAVAILABLE, on open and on later calls', async () => {
      const endpoint = await startRemote({})
      const { stop } = endpoint
      const store = await createRemoteLibSQLStore(connection(endpoint))
      cleanups.push(() => store.close())
      await stop()
      await expect(store.getRun('x')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
      await expect(createRemoteLibSQLStore(connection(endpoint))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    })
  })
}
