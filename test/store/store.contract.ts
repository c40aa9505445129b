/**
 * @module
 * The conformance suite every {@link WorkflowStore} must pass unchanged (memory, libsql, dynamodb).
 * Not matched by the `*.test.ts` glob: each store's test file calls {@link runStoreContract}.
 *
 * Rules of the suite: only the `WorkflowStore` interface is used; time is the fixed `T0` plus offsets,
 * never the wall clock; errors are checked by `code`; every test starts from an empty store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Json, RunRecord, StepExecution, StepStatus, WorkflowError } from '../../src/core/model'
import type { Claim, Lease, WorkflowStore } from '../../src/core/store'
import { makeRun, makeStep, T0 } from '../support/fixtures'

/** What a store's setup hands the suite: an empty store, and how to dispose of it. */
export interface StoreHarness {
  readonly store: WorkflowStore
  readonly cleanup?: () => Promise<void>
}

const LEASE_MS = 30_000

/** Registers the whole contract suite for one store; `setup` must return an empty store each time. */
export function runStoreContract(name: string, setup: () => Promise<StoreHarness>): void {
  describe(`${name} satisfies WorkflowStore`, () => {
    let store: WorkflowStore
    let cleanup: (() => Promise<void>) | undefined

    beforeEach(async () => {
      const harness = await setup()
      store = harness.store
      cleanup = harness.cleanup
    })

    afterEach(async () => {
      await cleanup?.()
      cleanup = undefined
    })

    /** Creates a run and asserts it was inserted. */
    async function create(overrides: Partial<RunRecord> = {}): Promise<RunRecord> {
      const result = await store.createRun(makeRun(overrides))
      expect(result.created).toBe(true)
      return result.run
    }

    async function claim(runId: string, owner = 'owner-a', now = T0, leaseMs = LEASE_MS): Promise<Claim> {
      const claimed = await store.claimRun(runId, owner, now, leaseMs)
      if (claimed === null) throw new Error(`run ${runId} was not claimable by ${owner} at ${now}`)
      return claimed
    }

    /** A run claimed by `owner-a` at T0 and committed as RUNNING, holding its lease until T0 + LEASE_MS. */
    async function running(overrides: Partial<RunRecord> = {}): Promise<{ run: RunRecord; lease: Lease }> {
      const run = await create(overrides)
      const { lease } = await claim(run.runId)
      const { lease: renewed } = await store.commit(lease, {
        now: T0,
        steps: [],
        run: { status: 'RUNNING', startedAt: T0 },
        leaseExpiresAt: T0 + LEASE_MS,
      })
      return { run: await store.getRun(run.runId), lease: renewed }
    }

    function step(runId: string, stepId: string, executionIndex: number, overrides: Partial<StepExecution> = {}) {
      return makeStep({ runId, stepId, executionIndex, ...overrides })
    }

    describe('createRun and getRun', () => {
      it('round-trips every field of a run, including nested errors, tags, unicode and large numbers', async () => {
        const error: WorkflowError = {
          code: 'EXECUTION_FAILED',
          message: 'step "charge" failed: ¡no! 💥',
          step: 'charge',
          timestamp: T0 + 7,
          details: { attempts: [0, 1, 2], cause: { message: 'boom', retryable: false }, empty: null },
        }
        const run = makeRun({
          workflowId: 'order-flow',
          workflowVersion: '2.1.0',
          workflowFingerprint: '0123456789abcdef',
          status: 'FAILED',
          progress: 0.375,
          input: { order: { id: 'ö-1', lines: [{ sku: 'A', qty: 2 }], note: 'line1\nline2 "quoted" \\ back' } },
          output: [1, 'two', { three: 3 }, [true, false], null],
          error,
          resourceId: 'customer/42 — 日本語',
          tags: { env: 'prod', 'team name': 'Zürich ☕', empty: '' },
          context: { tenant: 'acme', limits: { max: Number.MAX_SAFE_INTEGER, min: -Number.MAX_SAFE_INTEGER } },
          idempotencyKey: 'order-ö-42',
          createdAt: T0 + 1,
          startedAt: T0 + 2,
          completedAt: T0 + 3,
          updatedAt: T0 + 4,
          leaseOwner: 'engine-β',
          leaseExpiresAt: T0 + 5,
          wakeAt: T0 + 6,
          cancelRequestedAt: T0 + 8,
          parentRunId: 'parent-run-ö',
        })
        const result = await store.createRun(run)
        expect(result).toEqual({ run, created: true })
        expect(await store.getRun(run.runId)).toEqual(run)
      })

      it('round-trips JSON null payloads and empty containers', async () => {
        const nulls = makeRun({ input: null, output: null, context: null })
        const empties = makeRun({ input: {}, output: [], context: { a: [], b: {} } })
        const scalars = makeRun({ input: 0, output: '', context: false })
        for (const run of [nulls, empties, scalars]) await store.createRun(run)
        expect(await store.getRun(nulls.runId)).toEqual(nulls)
        expect(await store.getRun(empties.runId)).toEqual(empties)
        expect(await store.getRun(scalars.runId)).toEqual(scalars)
      })

      it('keeps stored state when the argument or a returned run is mutated', async () => {
        const run = makeRun({ tags: { env: 'dev' }, input: { n: 1, list: [1] } })
        const snapshot = structuredClone(run)
        const { run: returned } = await store.createRun(run)
        scribble(run)
        scribble(returned)
        const read = await store.getRun(snapshot.runId)
        scribble(read)
        expect(await store.getRun(snapshot.runId)).toEqual(snapshot)
      })

      it('rejects a duplicate runId with RUN_ALREADY_EXISTS and keeps the first run', async () => {
        const first = await create({ input: { first: true } })
        const again = makeRun({ runId: first.runId, input: { first: false }, workflowId: 'other' })
        await expect(store.createRun(again)).rejects.toMatchObject({ code: 'RUN_ALREADY_EXISTS' })
        expect(await store.getRun(first.runId)).toEqual(first)
      })

      it('returns the existing run with created false for a repeated idempotencyKey of the same workflow', async () => {
        const first = await create({ workflowId: 'wf-a', idempotencyKey: 'key-1' })
        const second = makeRun({ workflowId: 'wf-a', idempotencyKey: 'key-1', input: { n: 2 } })
        const result = await store.createRun(second)
        expect(result).toEqual({ run: first, created: false })
        scribble(result.run)
        expect(await store.getRun(first.runId)).toEqual(first)
        await expect(store.getRun(second.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
        expect((await store.listRuns({ workflowId: 'wf-a' })).runs).toEqual([first])
      })

      it('creates a new run for the same idempotencyKey under another workflow', async () => {
        const first = await create({ workflowId: 'wf-a', idempotencyKey: 'key-1' })
        const other = makeRun({ workflowId: 'wf-b', idempotencyKey: 'key-1' })
        expect(await store.createRun(other)).toEqual({ run: other, created: true })
        expect(await store.getRun(first.runId)).toEqual(first)
        expect(await store.getRun(other.runId)).toEqual(other)
      })

      it('creates separate runs when no idempotencyKey is given', async () => {
        const a = await create({ workflowId: 'wf-a' })
        const b = await create({ workflowId: 'wf-a' })
        const { runs } = await store.listRuns({ workflowId: 'wf-a' })
        expect(runs.map((r) => r.runId).sort()).toEqual([a.runId, b.runId].sort())
      })

      it('creates exactly one run from 10 concurrent starts with the same idempotencyKey', async () => {
        const candidates = Array.from({ length: 10 }, (_, i) =>
          makeRun({ workflowId: 'wf-a', idempotencyKey: 'same', input: { i } }),
        )
        const results = await Promise.all(candidates.map((run) => store.createRun(run)))
        expect(results.filter((r) => r.created)).toHaveLength(1)
        const winner = results.find((r) => r.created)?.run
        for (const result of results) expect(result.run).toEqual(winner)
        const { runs } = await store.listRuns({ workflowId: 'wf-a' })
        expect(runs).toEqual([winner])
      })

      it('creates a run together with its first steps, and the steps only with a run it created', async () => {
        const leased = { status: 'RUNNING' as const, startedAt: T0, leaseOwner: 'owner', leaseExpiresAt: T0 + 30_000 }
        const run = makeRun({ ...leased, workflowId: 'wf-a', idempotencyKey: 'begun' })
        const steps = [
          makeStep({ runId: run.runId, stepId: 'a', status: 'RUNNING', startedAt: T0 }),
          makeStep({ runId: run.runId, stepId: 'b', executionIndex: 1, status: 'RUNNING', startedAt: T0 }),
        ]
        expect(await store.createRun(run, steps)).toEqual({ run, created: true })
        expect(await store.listStepExecutions(run.runId)).toEqual(steps)
        const claim = await store.claimRun(run.runId, 'owner', T0 + 1, 30_000)
        expect(claim?.steps).toEqual(steps)

        // An idempotent duplicate and a taken runId write none of their steps.
        const duplicate = makeRun({ ...leased, workflowId: 'wf-a', idempotencyKey: 'begun' })
        const dupStep = makeStep({ runId: duplicate.runId, stepId: 'x', status: 'RUNNING' })
        expect(await store.createRun(duplicate, [dupStep])).toEqual({ run: await store.getRun(run.runId), created: false })
        await expect(store.getStepExecution(duplicate.runId, 'x')).rejects.toMatchObject({ code: 'STEP_EXECUTION_NOT_FOUND' })
        const taken = makeRun({ ...leased, runId: run.runId, leaseOwner: 'other', createdAt: T0 + 5 })
        const intruder = makeStep({ runId: run.runId, stepId: 'c', executionIndex: 2, status: 'RUNNING' })
        await expect(store.createRun(taken, [intruder])).rejects.toMatchObject({ code: 'RUN_ALREADY_EXISTS' })
        expect(await store.listStepExecutions(run.runId)).toEqual(steps)
        const plain = makeRun({ ...leased })
        const plainSteps = [makeStep({ runId: plain.runId, stepId: 'a', status: 'RUNNING' })]
        expect(await store.createRun(plain, plainSteps)).toEqual({ run: plain, created: true })
        expect(await store.listStepExecutions(plain.runId)).toEqual(plainSteps)
      })

      it('refuses steps of another run, a step twice, or a finished step, and writes nothing', async () => {
        const run = makeRun()
        const cases = [
          [makeStep({ runId: 'other-run', stepId: 'a' })],
          [makeStep({ runId: run.runId, stepId: 'a' }), makeStep({ runId: run.runId, stepId: 'a', executionIndex: 1 })],
          [makeStep({ runId: run.runId, stepId: 'a', status: 'COMPLETED', output: 1 })],
        ]
        for (const steps of cases) {
          await expect(store.createRun(run, steps)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
        }
        await expect(store.getRun(run.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      })

      it('throws RUN_NOT_FOUND from getRun for an unknown run', async () => {
        await expect(store.getRun('no-such-run')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      })
    })

    describe('listRuns', () => {
      it('returns an empty page with a null cursor from an empty store', async () => {
        expect(await store.listRuns()).toEqual({ runs: [], nextCursor: null })
      })

      it('applies workflowId, status and resourceId filters alone and together', async () => {
        const a1 = await create({ workflowId: 'wf-a', status: 'PENDING', resourceId: 'r1', createdAt: T0 + 1 })
        const a2 = await create({ workflowId: 'wf-a', status: 'COMPLETED', resourceId: 'r2', createdAt: T0 + 2 })
        const a3 = await create({ workflowId: 'wf-a', status: 'COMPLETED', resourceId: null, createdAt: T0 + 3 })
        const b1 = await create({ workflowId: 'wf-b', status: 'PENDING', resourceId: 'r1', createdAt: T0 + 4 })
        const b2 = await create({ workflowId: 'wf-b', status: 'FAILED', resourceId: 'r2', createdAt: T0 + 5 })
        const ids = async (filter: Parameters<WorkflowStore['listRuns']>[0]) =>
          (await store.listRuns(filter)).runs.map((r) => r.runId)

        expect(await ids({})).toEqual([b2, b1, a3, a2, a1].map((r) => r.runId))
        expect(await ids({ workflowId: 'wf-a' })).toEqual([a3, a2, a1].map((r) => r.runId))
        expect(await ids({ status: 'PENDING' })).toEqual([b1, a1].map((r) => r.runId))
        expect(await ids({ resourceId: 'r2' })).toEqual([b2, a2].map((r) => r.runId))
        expect(await ids({ workflowId: 'wf-a', status: 'COMPLETED' })).toEqual([a3, a2].map((r) => r.runId))
        expect(await ids({ workflowId: 'wf-b', resourceId: 'r1' })).toEqual([b1.runId])
        expect(await ids({ status: 'PENDING', resourceId: 'r1' })).toEqual([b1, a1].map((r) => r.runId))
        expect(await ids({ workflowId: 'wf-a', status: 'COMPLETED', resourceId: 'r2' })).toEqual([a2.runId])
        expect(await ids({ workflowId: 'wf-b', status: 'COMPLETED' })).toEqual([])
        expect(await ids({ workflowId: 'wf-none' })).toEqual([])
      })

      it('returns full run records', async () => {
        const run = await create({ tags: { k: 'v' }, input: { deep: [1, { x: null }] }, resourceId: 'r' })
        expect((await store.listRuns()).runs).toEqual([run])
      })

      it('orders newest first and breaks createdAt ties by runId descending', async () => {
        // Inserted in an order that matches neither createdAt nor runId.
        await create({ runId: 'run-b', createdAt: T0 + 10 })
        await create({ runId: 'run-d', createdAt: T0 })
        await create({ runId: 'run-a', createdAt: T0 + 10 })
        await create({ runId: 'run-e', createdAt: T0 + 20 })
        await create({ runId: 'run-c', createdAt: T0 + 10 })
        const { runs } = await store.listRuns()
        expect(runs.map((r) => r.runId)).toEqual(['run-e', 'run-c', 'run-b', 'run-a', 'run-d'])
      })

      it('returns at most limit runs, the newest ones, with a cursor', async () => {
        for (let i = 0; i < 5; i++) await create({ runId: `run-${i}`, createdAt: T0 + i })
        const page = await store.listRuns({ limit: 2 })
        expect(page.runs.map((r) => r.runId)).toEqual(['run-4', 'run-3'])
        expect(page.nextCursor).toEqual(expect.any(String))
      })

      it('returns 20 runs per page when no limit is given', async () => {
        for (let i = 0; i < 21; i++) await create({ createdAt: T0 + i })
        const page = await store.listRuns()
        expect(page.runs).toHaveLength(20)
        expect(page.nextCursor).not.toBeNull()
        const rest = await store.listRuns({ cursor: page.nextCursor })
        expect(rest.runs).toHaveLength(1)
        expect(rest.nextCursor).toBeNull()
      })

      it('pages through 25 runs with limit 10, yielding each once in order and a null cursor on the last page', async () => {
        const created: RunRecord[] = []
        // Three runs per createdAt value, so page boundaries fall inside ties.
        for (let i = 0; i < 25; i++) {
          created.push(await create({ runId: `run-${String(i).padStart(2, '0')}`, createdAt: T0 + Math.floor(i / 3) }))
        }
        const expected = created
          .slice()
          .sort((a, b) => b.createdAt - a.createdAt || (a.runId < b.runId ? 1 : -1))
          .map((r) => r.runId)

        const seen: string[] = []
        const sizes: number[] = []
        let cursor: string | null = null
        do {
          const page = await store.listRuns({ limit: 10, cursor })
          sizes.push(page.runs.length)
          seen.push(...page.runs.map((r) => r.runId))
          cursor = page.nextCursor
        } while (cursor !== null && sizes.length < 10)
        expect(sizes).toEqual([10, 10, 5])
        expect(seen).toEqual(expected)
      })

      it('returns a null cursor when the last page is exactly full', async () => {
        for (let i = 0; i < 20; i++) await create({ createdAt: T0 + i })
        const first = await store.listRuns({ limit: 10 })
        expect(first.nextCursor).not.toBeNull()
        const second = await store.listRuns({ limit: 10, cursor: first.nextCursor })
        expect(second.runs).toHaveLength(10)
        expect(second.nextCursor).toBeNull()
      })

      it('pages within a filter', async () => {
        for (let i = 0; i < 6; i++) {
          await create({ runId: `a-${i}`, workflowId: 'wf-a', status: i % 2 === 0 ? 'PENDING' : 'FAILED', createdAt: T0 + i })
          await create({ runId: `b-${i}`, workflowId: 'wf-b', status: 'PENDING', createdAt: T0 + i })
        }
        const first = await store.listRuns({ workflowId: 'wf-a', status: 'PENDING', limit: 2 })
        expect(first.runs.map((r) => r.runId)).toEqual(['a-4', 'a-2'])
        const second = await store.listRuns({ workflowId: 'wf-a', status: 'PENDING', limit: 2, cursor: first.nextCursor })
        expect(second.runs.map((r) => r.runId)).toEqual(['a-0'])
        expect(second.nextCursor).toBeNull()
      })

      it('neither repeats nor skips runs when a newer run is created between pages', async () => {
        for (let i = 0; i < 4; i++) await create({ runId: `run-${i}`, createdAt: T0 + i })
        const first = await store.listRuns({ limit: 2 })
        await create({ runId: 'run-new', createdAt: T0 + 100 })
        const second = await store.listRuns({ limit: 2, cursor: first.nextCursor })
        expect([...first.runs, ...second.runs].map((r) => r.runId)).toEqual(['run-3', 'run-2', 'run-1', 'run-0'])
      })

      it('accepts a limit of 1 and of 1000', async () => {
        await create({ createdAt: T0 })
        await create({ createdAt: T0 + 1 })
        expect((await store.listRuns({ limit: 1 })).runs).toHaveLength(1)
        expect((await store.listRuns({ limit: 1000 })).runs).toHaveLength(2)
      })

      it('refuses a malformed cursor with INVALID_CURSOR', async () => {
        await create()
        for (const cursor of ['not a cursor!', 'abc', 'W10', '%%%']) {
          await expect(store.listRuns({ cursor })).rejects.toMatchObject({ code: 'INVALID_CURSOR' })
        }
      })

      it('refuses a limit outside 1..1000 or not an integer with INVALID_ARGUMENT', async () => {
        for (const limit of [0, -1, 1001, 2.5, Number.NaN]) {
          await expect(store.listRuns({ limit })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
        }
      })
      it('finds runs carrying every given tag, newest first, combined with the other filters', async () => {
        const a = await create({ tags: { env: 'prod', team: 'red' }, createdAt: T0 + 1 })
        const b = await create({ tags: { env: 'prod' }, status: 'COMPLETED', createdAt: T0 + 2 })
        const c = await create({ tags: { env: 'dev', team: 'red' }, createdAt: T0 + 3 })
        const d = await create({ tags: { env: 'prod', team: 'red', 'a:b': 'c:d' }, workflowId: 'wf-other', createdAt: T0 + 4 })
        await create({ tags: {}, createdAt: T0 + 5 })
        const ids = async (filter: Parameters<WorkflowStore['listRuns']>[0]) =>
          (await store.listRuns(filter)).runs.map((r) => r.runId)

        expect(await ids({ tags: { env: 'prod' } })).toEqual([d, b, a].map((r) => r.runId))
        expect(await ids({ tags: { env: 'prod', team: 'red' } })).toEqual([d, a].map((r) => r.runId))
        expect(await ids({ tags: { team: 'red' }, workflowId: 'wf-test' })).toEqual([c, a].map((r) => r.runId))
        expect(await ids({ tags: { env: 'prod' }, status: 'COMPLETED' })).toEqual([b.runId])
        expect(await ids({ tags: { 'a:b': 'c:d' } })).toEqual([d.runId])
        expect(await ids({ tags: { env: 'prod', team: 'blue' } })).toEqual([])
        expect(await ids({ tags: { env: 'staging' } })).toEqual([])
        expect(await ids({ tags: {} })).toHaveLength(5)
        expect((await store.listRuns({ tags: { team: 'red' } })).runs[0]).toEqual(d)
      })

      it('pages through tagged runs with a cursor, each once', async () => {
        for (let i = 0; i < 5; i++) await create({ runId: `tagged-${i}`, tags: { env: 'prod' }, createdAt: T0 + i })
        for (let i = 0; i < 3; i++) await create({ tags: { env: 'dev' }, createdAt: T0 + i })
        const first = await store.listRuns({ tags: { env: 'prod' }, limit: 2 })
        const second = await store.listRuns({ tags: { env: 'prod' }, limit: 2, cursor: first.nextCursor })
        const third = await store.listRuns({ tags: { env: 'prod' }, limit: 2, cursor: second.nextCursor })
        expect([...first.runs, ...second.runs, ...third.runs].map((r) => r.runId)).toEqual(
          ['tagged-4', 'tagged-3', 'tagged-2', 'tagged-1', 'tagged-0'],
        )
        expect(third.nextCursor).toBeNull()
      })

      it('forgets the tags of a deleted run', async () => {
        const run = await create({ tags: { env: 'prod' } })
        await store.deleteRun(run.runId)
        await create({ runId: run.runId, tags: { env: 'dev' } })
        expect((await store.listRuns({ tags: { env: 'prod' } })).runs).toEqual([])
        expect((await store.listRuns({ tags: { env: 'dev' } })).runs.map((r) => r.runId)).toEqual([run.runId])
      })

      it('refuses more than 10 tags in a filter with INVALID_ARGUMENT', async () => {
        const tags = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']))
        await expect(store.listRuns({ tags })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      })

      it('round-trips the traceparent', async () => {
        const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
        const run = await create({ traceparent })
        expect((await store.getRun(run.runId)).traceparent).toBe(traceparent)
        expect((await create()).traceparent).toBeNull()
      })
    })

    describe('claimRun', () => {
      it('claims a PENDING run and changes nothing but the lease', async () => {
        const run = await create()
        const claimed = await store.claimRun(run.runId, 'owner-a', T0 + 100, LEASE_MS)
        const leased = { ...run, leaseOwner: 'owner-a', leaseExpiresAt: T0 + 100 + LEASE_MS }
        expect(claimed).toEqual({
          lease: { runId: run.runId, owner: 'owner-a', expiresAt: T0 + 100 + LEASE_MS },
          run: leased,
          steps: [],
        })
        expect(await store.getRun(run.runId)).toEqual(leased)
      })

      it('returns the run with all its steps by executionIndex ascending', async () => {
        const { run, lease } = await running()
        const steps = [
          step(run.runId, 'c', 2, { status: 'RUNNING' }),
          step(run.runId, 'a', 0, { status: 'COMPLETED', output: { a: 1 } }),
          step(run.runId, 'b', 1, { status: 'FAILED' }),
        ]
        await store.commit(lease, { now: T0 + 1, steps, run: {}, leaseExpiresAt: null })
        const claimed = await claim(run.runId, 'owner-b', T0 + 2)
        expect(claimed.steps).toEqual([steps[1], steps[2], steps[0]])
        expect(claimed.run).toEqual({
          ...run,
          updatedAt: T0 + 1,
          leaseOwner: 'owner-b',
          leaseExpiresAt: T0 + 2 + LEASE_MS,
        })
      })

      it('returns null while another owner holds a live lease', async () => {
        const { run } = await running()
        expect(await store.claimRun(run.runId, 'owner-b', T0 + 1, LEASE_MS)).toBeNull()
        expect(await store.getRun(run.runId)).toEqual(run)
      })

      it('lets the same owner claim again and extends its lease', async () => {
        const { run } = await running()
        const again = await claim(run.runId, 'owner-a', T0 + 10)
        expect(again.lease).toEqual({ runId: run.runId, owner: 'owner-a', expiresAt: T0 + 10 + LEASE_MS })
        expect((await store.getRun(run.runId)).leaseExpiresAt).toBe(T0 + 10 + LEASE_MS)
      })

      it('reclaims a lease 1 ms after it expires but not 1 ms before', async () => {
        const run = await create()
        await claim(run.runId, 'owner-a', T0, 1_000)
        expect(await store.claimRun(run.runId, 'owner-b', T0 + 999, LEASE_MS)).toBeNull()
        expect((await store.getRun(run.runId)).leaseOwner).toBe('owner-a')
        const taken = await claim(run.runId, 'owner-b', T0 + 1_001)
        expect(taken.lease).toEqual({ runId: run.runId, owner: 'owner-b', expiresAt: T0 + 1_001 + LEASE_MS })
        expect((await store.getRun(run.runId)).leaseOwner).toBe('owner-b')
      })

      it('treats a lease as expired at the instant leaseExpiresAt equals now', async () => {
        const run = await create()
        await claim(run.runId, 'owner-a', T0, 1_000)
        const taken = await claim(run.runId, 'owner-b', T0 + 1_000)
        expect(taken.lease.owner).toBe('owner-b')
      })

      it('returns null for terminal and PAUSED runs and leaves them unchanged', async () => {
        for (const status of ['COMPLETED', 'FAILED', 'CANCELLED', 'PAUSED'] as const) {
          const run = await create({ status, completedAt: status === 'PAUSED' ? null : T0 })
          expect(await store.claimRun(run.runId, 'owner-a', T0 + 1, LEASE_MS)).toBeNull()
          expect(await store.getRun(run.runId)).toEqual(run)
        }
      })

      it('returns null before wakeAt and claims from wakeAt on', async () => {
        const run = await create({ status: 'RUNNING', wakeAt: T0 + 500 })
        expect(await store.claimRun(run.runId, 'owner-a', T0 + 499, LEASE_MS)).toBeNull()
        expect(await store.getRun(run.runId)).toEqual(run)
        const taken = await claim(run.runId, 'owner-a', T0 + 500)
        expect(taken.run.wakeAt).toBe(T0 + 500)
      })

      it('throws RUN_NOT_FOUND for an unknown run', async () => {
        await expect(store.claimRun('no-such-run', 'owner-a', T0, LEASE_MS)).rejects.toMatchObject({
          code: 'RUN_NOT_FOUND',
        })
      })

      it('grants the lease to exactly one of 5 concurrent claimants', async () => {
        const run = await create()
        const owners = ['o1', 'o2', 'o3', 'o4', 'o5']
        const results = await Promise.all(owners.map((owner) => store.claimRun(run.runId, owner, T0, LEASE_MS)))
        const winners = results.filter((r): r is Claim => r !== null)
        expect(winners).toHaveLength(1)
        expect((await store.getRun(run.runId)).leaseOwner).toBe(winners[0]?.lease.owner)
      })

      it('returns copies that do not change stored state when mutated', async () => {
        const { run, lease } = await running()
        await store.commit(lease, {
          now: T0 + 1,
          steps: [step(run.runId, 'a', 0, { status: 'COMPLETED', output: { v: [1] } })],
          run: {},
          leaseExpiresAt: T0 + LEASE_MS,
        })
        const before = await store.getRun(run.runId)
        const claimed = await claim(run.runId)
        const expectedRun = { ...before, leaseExpiresAt: T0 + LEASE_MS }
        scribble(claimed.run)
        for (const s of claimed.steps) scribble(s)
        expect(await store.getRun(run.runId)).toEqual(expectedRun)
        expect(await store.loadStepOutput(run.runId, 'a')).toEqual({ v: [1] })
      })
    })

    describe('commit', () => {
      it('upserts steps, patches the run, sets updatedAt and renews the lease in one call', async () => {
        const { run, lease } = await running()
        const s1 = step(run.runId, 's1', 0, { status: 'RUNNING', startedAt: T0 + 10 })
        const { lease: renewed } = await store.commit(lease, {
          now: T0 + 10,
          steps: [s1],
          run: { progress: 0.25, startedAt: T0 + 10 },
          leaseExpiresAt: T0 + 10 + LEASE_MS,
        })
        expect(renewed).toEqual({ runId: run.runId, owner: 'owner-a', expiresAt: T0 + 10 + LEASE_MS })
        expect(await store.getRun(run.runId)).toEqual({
          ...run,
          progress: 0.25,
          startedAt: T0 + 10,
          updatedAt: T0 + 10,
          leaseExpiresAt: T0 + 10 + LEASE_MS,
        })
        expect(await store.listStepExecutions(run.runId)).toEqual([s1])

        const s1done: StepExecution = {
          ...s1,
          status: 'COMPLETED',
          output: { ok: true },
          completedAt: T0 + 20,
          durationMs: 10,
          updatedAt: T0 + 20,
        }
        const s2 = step(run.runId, 's2', 1, { status: 'RUNNING', startedAt: T0 + 20 })
        await store.commit(renewed, {
          now: T0 + 20,
          steps: [s1done, s2],
          run: { progress: 0.5 },
          leaseExpiresAt: T0 + 20 + LEASE_MS,
        })
        expect(await store.listStepExecutions(run.runId)).toEqual([s1done, s2])
        expect(await store.getRun(run.runId)).toMatchObject({
          progress: 0.5,
          updatedAt: T0 + 20,
          leaseExpiresAt: T0 + 20 + LEASE_MS,
        })
      })

      it('leaves absent patch fields as they are and writes explicit nulls', async () => {
        const { run, lease } = await running({ tags: { a: 'b' }, resourceId: 'res' })
        const error: WorkflowError = { code: 'TIMEOUT', message: 'too slow', step: 's', timestamp: T0, details: { ms: 5 } }
        await store.commit(lease, {
          now: T0 + 1,
          steps: [],
          run: { error, wakeAt: T0 + 99, output: { partial: true }, completedAt: T0 + 1 },
          leaseExpiresAt: T0 + LEASE_MS,
        })
        const patched = { ...run, error, wakeAt: T0 + 99, output: { partial: true }, completedAt: T0 + 1, updatedAt: T0 + 1 }
        expect(await store.getRun(run.runId)).toEqual(patched)

        await store.commit(lease, { now: T0 + 2, steps: [], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        expect(await store.getRun(run.runId)).toEqual({ ...patched, updatedAt: T0 + 2 })

        await store.commit(lease, {
          now: T0 + 3,
          steps: [],
          run: { error: null, wakeAt: null, output: null, completedAt: null, startedAt: null },
          leaseExpiresAt: T0 + LEASE_MS,
        })
        expect(await store.getRun(run.runId)).toEqual({ ...run, startedAt: null, updatedAt: T0 + 3 })
      })

      it('releases the lease when leaseExpiresAt is null and returns the lease unchanged', async () => {
        const { run, lease } = await running()
        const { lease: released } = await store.commit(lease, { now: T0 + 5, steps: [], run: { wakeAt: T0 + 60_000 }, leaseExpiresAt: null })
        expect(released).toEqual(lease)
        expect(await store.getRun(run.runId)).toMatchObject({ leaseOwner: null, leaseExpiresAt: null, wakeAt: T0 + 60_000 })
      })

      it('refuses a commit with LEASE_LOST after the lease was released', async () => {
        const { run, lease } = await running()
        await store.commit(lease, { now: T0 + 5, steps: [], run: {}, leaseExpiresAt: null })
        const before = await store.getRun(run.runId)
        await expect(
          store.commit(lease, {
            now: T0 + 6,
            steps: [step(run.runId, 'late', 0)],
            run: { progress: 1 },
            leaseExpiresAt: T0 + LEASE_MS,
          }),
        ).rejects.toMatchObject({ code: 'LEASE_LOST' })
        expect(await store.getRun(run.runId)).toEqual(before)
        expect(await store.listStepExecutions(run.runId)).toEqual([])
      })

      it('refuses a stale owner with LEASE_LOST and writes nothing once another owner holds the lease', async () => {
        const run = await create()
        const stale = (await claim(run.runId, 'owner-a', T0, 1_000)).lease
        await claim(run.runId, 'owner-b', T0 + 1_000)
        const before = await store.getRun(run.runId)
        await expect(
          store.commit(stale, {
            now: T0 + 1_001,
            steps: [step(run.runId, 'zombie', 0, { status: 'COMPLETED', output: 1 })],
            run: { status: 'COMPLETED', progress: 1 },
            leaseExpiresAt: null,
          }),
        ).rejects.toMatchObject({ code: 'LEASE_LOST' })
        expect(await store.getRun(run.runId)).toEqual(before)
        await expect(store.getStepExecution(run.runId, 'zombie')).rejects.toMatchObject({ code: 'STEP_EXECUTION_NOT_FOUND' })
        await expect(store.loadStepOutput(run.runId, 'zombie')).rejects.toMatchObject({ code: 'STEP_OUTPUT_NOT_FOUND' })
      })

      it('refuses a commit after cancellation with RUN_ALREADY_FINISHED and writes nothing', async () => {
        const { run, lease } = await running()
        const cancelled = await store.cancelRun(run.runId, T0 + 50)
        await expect(
          store.commit(lease, {
            now: T0 + 60,
            steps: [step(run.runId, 'after', 0, { status: 'COMPLETED', output: 'x' })],
            run: { status: 'COMPLETED' },
            leaseExpiresAt: T0 + LEASE_MS,
          }),
        ).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
        expect(await store.getRun(run.runId)).toEqual(cancelled)
        expect(await store.listStepExecutions(run.runId)).toEqual([])
      })

      it('keeps a terminal status: every later commit is refused with RUN_ALREADY_FINISHED', async () => {
        for (const status of ['COMPLETED', 'FAILED', 'CANCELLED'] as const) {
          const { run, lease } = await running()
          // The lease is deliberately kept: being terminal alone must refuse further writes.
          const { lease: kept } = await store.commit(lease, {
            now: T0 + 10,
            steps: [],
            run: { status, completedAt: T0 + 10 },
            leaseExpiresAt: T0 + LEASE_MS,
          })
          const final = await store.getRun(run.runId)
          expect(final).toMatchObject({ status, completedAt: T0 + 10 })
          await expect(
            store.commit(kept, {
              now: T0 + 11,
              steps: [step(run.runId, 'x', 0)],
              run: { status: 'RUNNING' },
              leaseExpiresAt: T0 + LEASE_MS,
            }),
          ).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
          expect(await store.getRun(run.runId)).toEqual(final)
          expect(await store.listStepExecutions(run.runId)).toEqual([])
        }
      })

      it('throws RUN_NOT_FOUND for a lease on an unknown run', async () => {
        const lease: Lease = { runId: 'no-such-run', owner: 'owner-a', expiresAt: T0 + LEASE_MS }
        await expect(
          store.commit(lease, { now: T0, steps: [], run: {}, leaseExpiresAt: T0 + LEASE_MS }),
        ).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      })

      it('makes outputs of COMPLETED and SKIPPED steps readable, including JSON null', async () => {
        const { run, lease } = await running()
        await store.commit(lease, {
          now: T0 + 1,
          steps: [
            step(run.runId, 'done', 0, { status: 'COMPLETED', output: { total: 42, items: ['a', 'ü'] } }),
            step(run.runId, 'nothing', 1, { status: 'COMPLETED', output: null }),
            step(run.runId, 'skipped', 2, { status: 'SKIPPED', output: 'default' }),
            step(run.runId, 'skipped-null', 3, { status: 'SKIPPED', output: null }),
          ],
          run: {},
          leaseExpiresAt: T0 + LEASE_MS,
        })
        expect(await store.loadStepOutput(run.runId, 'done')).toEqual({ total: 42, items: ['a', 'ü'] })
        expect(await store.loadStepOutput(run.runId, 'nothing')).toBeNull()
        expect(await store.loadStepOutput(run.runId, 'skipped')).toBe('default')
        expect(await store.loadStepOutput(run.runId, 'skipped-null')).toBeNull()
      })

      it('has no output for RUNNING, RETRYING, FAILED, PENDING or unknown steps', async () => {
        const { run, lease } = await running()
        const statuses: StepStatus[] = ['RUNNING', 'RETRYING', 'FAILED', 'PENDING']
        await store.commit(lease, {
          now: T0 + 1,
          steps: statuses.map((status, i) => step(run.runId, status.toLowerCase(), i, { status })),
          run: {},
          leaseExpiresAt: T0 + LEASE_MS,
        })
        for (const stepId of [...statuses.map((s) => s.toLowerCase()), 'unknown']) {
          await expect(store.loadStepOutput(run.runId, stepId)).rejects.toMatchObject({ code: 'STEP_OUTPUT_NOT_FOUND' })
        }
        await expect(store.loadStepOutput('no-such-run', 'running')).rejects.toMatchObject({ code: 'STEP_OUTPUT_NOT_FOUND' })
      })

      it('makes a step output readable once a retried step completes', async () => {
        const { run, lease } = await running()
        const retrying = step(run.runId, 's', 0, { status: 'RETRYING', attempt: 1 })
        await store.commit(lease, { now: T0 + 1, steps: [retrying], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        await expect(store.loadStepOutput(run.runId, 's')).rejects.toMatchObject({ code: 'STEP_OUTPUT_NOT_FOUND' })
        await store.commit(lease, {
          now: T0 + 2,
          steps: [{ ...retrying, status: 'COMPLETED', output: [1, 2] }],
          run: {},
          leaseExpiresAt: T0 + LEASE_MS,
        })
        expect(await store.loadStepOutput(run.runId, 's')).toEqual([1, 2])
      })

      it('keeps stored steps unchanged when the committed step objects are mutated afterwards', async () => {
        const { run, lease } = await running()
        const s = step(run.runId, 's', 0, { status: 'COMPLETED', output: { list: [1] }, input: { a: 1 } })
        const snapshot = structuredClone(s)
        await store.commit(lease, { now: T0 + 1, steps: [s], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        scribble(s)
        expect(await store.getStepExecution(run.runId, 's')).toEqual(snapshot)
        const output = await store.loadStepOutput(run.runId, 's')
        scribble(output)
        expect(await store.loadStepOutput(run.runId, 's')).toEqual({ list: [1] })
      })
    })

    describe('listDueRuns', () => {
      it('lists claimable runs and leaves out live leases, future wakeAt, terminal and PAUSED runs', async () => {
        const now = T0 + 10_000
        const pending = await create({ runId: 'pending' })
        const expired = await create({ runId: 'expired', status: 'RUNNING', leaseOwner: 'x', leaseExpiresAt: now - 1 })
        const expiresNow = await create({ runId: 'expires-now', status: 'RUNNING', leaseOwner: 'x', leaseExpiresAt: now })
        const woken = await create({ runId: 'woken', status: 'RUNNING', wakeAt: now })
        await create({ runId: 'live', status: 'RUNNING', leaseOwner: 'x', leaseExpiresAt: now + 1 })
        await create({ runId: 'live-pending', leaseOwner: 'x', leaseExpiresAt: now + 1 })
        await create({ runId: 'sleeping', status: 'RUNNING', wakeAt: now + 1 })
        await create({ runId: 'sleeping-expired', status: 'RUNNING', wakeAt: now + 1, leaseOwner: 'x', leaseExpiresAt: now - 5 })
        for (const status of ['COMPLETED', 'FAILED', 'CANCELLED', 'PAUSED'] as const) {
          await create({ runId: `st-${status}`, status, completedAt: status === 'PAUSED' ? null : T0 })
        }
        const due = await store.listDueRuns(now, 100)
        expect(due.slice().sort()).toEqual([pending, expired, expiresNow, woken].map((r) => r.runId).sort())
      })

      it('lists the oldest due run first', async () => {
        await create({ runId: 'r-lease', status: 'RUNNING', leaseOwner: 'x', leaseExpiresAt: T0 + 300, createdAt: T0 - 40 })
        await create({ runId: 'p-late', createdAt: T0 + 5 })
        await create({ runId: 'w-wake', status: 'RUNNING', wakeAt: T0 + 200, createdAt: T0 - 30 })
        await create({ runId: 'p-early', createdAt: T0 + 1 })
        expect(await store.listDueRuns(T0 + 1_000, 10)).toEqual(['p-early', 'p-late', 'w-wake', 'r-lease'])
      })

      it('returns at most limit ids, the oldest due ones', async () => {
        for (let i = 0; i < 5; i++) await create({ runId: `p-${i}`, createdAt: T0 + i })
        expect(await store.listDueRuns(T0 + 100, 2)).toEqual(['p-0', 'p-1'])
      })

      it('stops listing a run once it is claimed and lists it again after its lease expires', async () => {
        const run = await create()
        await claim(run.runId, 'owner-a', T0, 1_000)
        expect(await store.listDueRuns(T0 + 999, 10)).toEqual([])
        expect(await store.listDueRuns(T0 + 1_000, 10)).toEqual([run.runId])
      })

      it('returns an empty list when nothing is due', async () => {
        await create({ status: 'COMPLETED', completedAt: T0 })
        expect(await store.listDueRuns(T0, 10)).toEqual([])
      })
    })

    describe('completion webhooks', () => {
      const pending = (nextAttemptAt: number) => ({ url: 'https://hooks.example.com/x', attempts: 0, lastStatus: null, nextAttemptAt, deliveredAt: null })

      it('round-trips the delivery state, lists terminal runs whose webhook is due, earliest first, and records attempts conditionally', async () => {
        // Every store keeps webhooks; the methods are optional only for stores outside this repository.
        if (!store.listDueWebhooks || !store.recordWebhookAttempt) throw new Error(`${store.kind} keeps no webhooks`)
        const open = await running({ webhook: pending(T0) })
        const later = await create({ status: 'COMPLETED', completedAt: T0, webhook: pending(T0 + 50) })
        const first = await create({ status: 'FAILED', completedAt: T0, webhook: pending(T0 + 10) })
        await create({ status: 'COMPLETED', completedAt: T0 })
        expect((await store.getRun(first.runId)).webhook).toEqual(pending(T0 + 10))
        expect(await store.listDueWebhooks(T0 + 100, 10)).toEqual([first.runId, later.runId])
        expect(await store.listDueWebhooks(T0 + 20, 10)).toEqual([first.runId])
        expect(await store.listDueWebhooks(T0 + 100, 1)).toEqual([first.runId])

        const claimed = { ...pending(T0 + 500), attempts: 1 }
        expect(await store.recordWebhookAttempt(first.runId, 0, claimed)).toBe(true)
        expect(await store.recordWebhookAttempt(first.runId, 0, claimed)).toBe(false)
        expect(await store.listDueWebhooks(T0 + 100, 10)).toEqual([later.runId])
        const delivered = { ...claimed, lastStatus: 200, nextAttemptAt: null, deliveredAt: T0 + 60 }
        expect(await store.recordWebhookAttempt(first.runId, 1, delivered)).toBe(true)
        expect(await store.getRun(first.runId)).toMatchObject({ status: 'FAILED', updatedAt: first.updatedAt, webhook: delivered })
        expect(await store.listDueWebhooks(T0 + 1_000, 10)).toEqual([later.runId])

        // The open run's webhook becomes due when the run ends, with no write to the webhook.
        await store.cancelRun(open.run.runId, T0 + 5)
        expect(await store.listDueWebhooks(T0 + 100, 10)).toEqual([open.run.runId, later.runId])
        await expect(store.recordWebhookAttempt('no-such-run', 0, claimed)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      })
    })

    describe('nextDueAt', () => {
      /** nextDueAt() as listDueRuns sees it: nothing due a millisecond before, something due at it. */
      async function expectListedFrom(at: number): Promise<void> {
        expect(await store.nextDueAt()).toBe(at)
        expect(await store.listDueRuns(at - 1, 10)).toEqual([])
        expect((await store.listDueRuns(at, 10)).length).toBeGreaterThan(0)
      }

      it('is null without PENDING or RUNNING runs, whatever their times', async () => {
        expect(await store.nextDueAt()).toBeNull()
        for (const status of ['COMPLETED', 'FAILED', 'CANCELLED'] as const) {
          await create({ status, completedAt: T0, wakeAt: T0 + 5 })
        }
        await create({ status: 'PAUSED', wakeAt: T0 + 5, leaseOwner: 'x', leaseExpiresAt: T0 + 9 })
        expect(await store.nextDueAt()).toBeNull()
      })

      it('is the earliest wake time or lease expiry, the later of the two within a run', async () => {
        await create({ runId: 'late-wake', status: 'RUNNING', wakeAt: T0 + 900 })
        await create({ runId: 'lease', status: 'RUNNING', leaseOwner: 'x', leaseExpiresAt: T0 + 700 })
        await create({ runId: 'both', status: 'RUNNING', wakeAt: T0 + 400, leaseOwner: 'x', leaseExpiresAt: T0 + 600 })
        await create({ runId: 'paused', status: 'PAUSED', wakeAt: T0 + 1 })
        await expectListedFrom(T0 + 600)
        expect(await store.listDueRuns(T0 + 600, 10)).toEqual(['both'])
      })

      it('is in the past (0 when it never had a lease or wake time) while an unleased PENDING run waits', async () => {
        await create({ status: 'RUNNING', wakeAt: T0 + 900 })
        await create({ runId: 'pending' })
        expect(await store.nextDueAt()).toBe(0)
        expect(await store.listDueRuns(0, 10)).toEqual(['pending'])
      })

      it('follows claims, yields, pauses and cancellation', async () => {
        const run = await create()
        const { lease } = await claim(run.runId, 'owner-a', T0, 1_000)
        await expectListedFrom(T0 + 1_000)
        await store.commit(lease, { now: T0 + 10, steps: [], run: { status: 'RUNNING', wakeAt: T0 + 5_000 }, leaseExpiresAt: null })
        await expectListedFrom(T0 + 5_000)
        await store.transitionRun(run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 20 })
        expect(await store.nextDueAt()).toBeNull()
        await store.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 30 })
        await expectListedFrom(T0 + 5_000)
        await store.cancelRun(run.runId, T0 + 40)
        expect(await store.nextDueAt()).toBeNull()
      })

      it('is the wake time a commit sets while it keeps the lease, once that lease is released', async () => {
        const { run, lease } = await running()
        await store.commit(lease, { now: T0 + 5, steps: [], run: { wakeAt: T0 + 90_000 }, leaseExpiresAt: lease.expiresAt })
        await store.commit(lease, { now: T0 + 6, steps: [], run: { progress: 0.5 }, leaseExpiresAt: lease.expiresAt })
        await expectListedFrom(T0 + 90_000)
        await store.commit(lease, { now: T0 + 7, steps: [], run: {}, leaseExpiresAt: null })
        await expectListedFrom(T0 + 90_000)
        expect(await store.listDueRuns(T0 + 90_000, 10)).toEqual([run.runId])
      })

      it('is now once an event wakes a run that waits for it', async () => {
        const { run, lease } = await running()
        const waitingFor = { kind: 'event', stepId: 'approve', name: 'approved', until: T0 + 60_000 } as const
        await store.commit(lease, { now: T0 + 1, steps: [], run: { waitingFor, wakeAt: T0 + 60_000 }, leaseExpiresAt: null })
        await expectListedFrom(T0 + 60_000)
        await store.deliverEvent(run.runId, 'approved', { ok: true }, T0 + 50)
        await expectListedFrom(T0 + 50)
      })
    })

    describe('cancelRun', () => {
      it('cancels a PENDING run in place and returns the stored record', async () => {
        const run = await create()
        const cancelled = await store.cancelRun(run.runId, T0 + 50)
        expect(cancelled).toEqual({
          ...run,
          status: 'CANCELLED',
          cancelRequestedAt: T0 + 50,
          completedAt: T0 + 50,
          updatedAt: T0 + 50,
        })
        expect(await store.getRun(run.runId)).toEqual(cancelled)
      })

      it('clears the lease and cancels PENDING, RUNNING and RETRYING steps, leaving finished steps alone', async () => {
        const { run, lease } = await running()
        const steps = [
          step(run.runId, 'completed', 0, { status: 'COMPLETED', output: { ok: 1 }, completedAt: T0 + 5 }),
          step(run.runId, 'failed', 1, { status: 'FAILED', error: { code: 'X', message: 'x', attempt: 0, timestamp: T0 } }),
          step(run.runId, 'skipped', 2, { status: 'SKIPPED', output: null }),
          step(run.runId, 'running', 3, { status: 'RUNNING', startedAt: T0 + 6 }),
          step(run.runId, 'retrying', 4, { status: 'RETRYING', attempt: 2 }),
          step(run.runId, 'pending', 5, { status: 'PENDING' }),
        ]
        await store.commit(lease, { now: T0 + 10, steps, run: {}, leaseExpiresAt: T0 + LEASE_MS })
        const cancelled = await store.cancelRun(run.runId, T0 + 500)
        expect(cancelled).toMatchObject({ status: 'CANCELLED', leaseOwner: null, leaseExpiresAt: null, completedAt: T0 + 500 })
        const cancelledStep = (s: StepExecution) => ({ ...s, status: 'CANCELLED', completedAt: T0 + 500, updatedAt: T0 + 500 })
        expect(await store.listStepExecutions(run.runId)).toEqual([
          steps[0],
          steps[1],
          steps[2],
          cancelledStep(steps[3] as StepExecution),
          cancelledStep(steps[4] as StepExecution),
          cancelledStep(steps[5] as StepExecution),
        ])
        expect(await store.loadStepOutput(run.runId, 'completed')).toEqual({ ok: 1 })
      })

      it('cancels a PAUSED run', async () => {
        const run = await create({ status: 'PAUSED' })
        expect((await store.cancelRun(run.runId, T0 + 1)).status).toBe('CANCELLED')
      })

      it('takes a cancelled run out of claims and the due list', async () => {
        const run = await create()
        await store.cancelRun(run.runId, T0 + 1)
        expect(await store.claimRun(run.runId, 'owner-a', T0 + 2, LEASE_MS)).toBeNull()
        expect(await store.listDueRuns(T0 + 2, 10)).toEqual([])
      })

      it('refuses a terminal run with RUN_ALREADY_FINISHED and leaves it unchanged', async () => {
        for (const status of ['COMPLETED', 'FAILED', 'CANCELLED'] as const) {
          const run = await create({ status, completedAt: T0 })
          await expect(store.cancelRun(run.runId, T0 + 1)).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
          expect(await store.getRun(run.runId)).toEqual(run)
        }
      })

      it('refuses a second cancellation with RUN_ALREADY_FINISHED', async () => {
        const run = await create()
        const first = await store.cancelRun(run.runId, T0 + 1)
        await expect(store.cancelRun(run.runId, T0 + 2)).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
        expect(await store.getRun(run.runId)).toEqual(first)
      })

      it('throws RUN_NOT_FOUND for an unknown run', async () => {
        await expect(store.cancelRun('no-such-run', T0)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      })
    })

    describe('step executions', () => {
      it('round-trips a step execution with every field set', async () => {
        const { run, lease } = await running()
        const s = step(run.runId, 'charge card ✓', 0, {
          status: 'FAILED',
          attempt: 3,
          input: { amount: 12.5, currency: '€', meta: null },
          output: null,
          error: { code: 'EXECUTION_FAILED', message: 'declined "hard"', attempt: 3, timestamp: T0 + 9, details: { bank: ['x'] } },
          startedAt: T0 + 1,
          completedAt: T0 + 9,
          durationMs: 8,
          createdAt: T0,
          updatedAt: T0 + 9,
        })
        await store.commit(lease, { now: T0 + 9, steps: [s], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        expect(await store.getStepExecution(run.runId, 'charge card ✓')).toEqual(s)
      })

      it('applies a commit of maxCommitSteps steps at once (200 where the store names no bound), the last commit being terminal', async () => {
        const { run, lease } = await running()
        const size = store.maxCommitSteps ?? 200
        expect(size).toBeGreaterThanOrEqual(50)
        // Map items' ids (`<map>[<index>]`), as a map whose many items end together writes them.
        const items = Array.from({ length: size }, (_, i) =>
          step(run.runId, `resize[${i}]`, i, { status: 'COMPLETED', output: { i }, completedAt: T0 + 1 }),
        )
        await store.commit(lease, { now: T0 + 1, steps: items, run: {}, leaseExpiresAt: T0 + LEASE_MS })
        const done = items.map((item) => ({ ...item, stepId: item.stepId.replace('resize', 'crop'), executionIndex: item.executionIndex + size }))
        await store.commit(lease, {
          now: T0 + 2,
          steps: done,
          run: { status: 'COMPLETED', output: null, completedAt: T0 + 2, progress: 1 },
          leaseExpiresAt: null,
        })
        expect(await store.listStepExecutions(run.runId)).toEqual([...items, ...done])
        expect(await store.loadStepOutput(run.runId, `resize[${size - 1}]`)).toEqual({ i: size - 1 })
        expect(await store.getRun(run.runId)).toMatchObject({ status: 'COMPLETED' })
      })

      it('lists steps by executionIndex ascending whatever the commit order', async () => {
        const { run, lease } = await running()
        const s2 = step(run.runId, 'a', 2)
        const s0 = step(run.runId, 'c', 0)
        await store.commit(lease, { now: T0 + 1, steps: [s2], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        const s1 = step(run.runId, 'b', 1)
        await store.commit(lease, { now: T0 + 2, steps: [s1, s0], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        expect(await store.listStepExecutions(run.runId)).toEqual([s0, s1, s2])
      })

      it('keeps steps of different runs apart', async () => {
        const a = await running()
        const b = await running()
        const sa = step(a.run.runId, 'same', 0, { input: 'a' })
        const sb = step(b.run.runId, 'same', 0, { input: 'b' })
        await store.commit(a.lease, { now: T0 + 1, steps: [sa], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        await store.commit(b.lease, { now: T0 + 1, steps: [sb], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        expect(await store.listStepExecutions(a.run.runId)).toEqual([sa])
        expect(await store.getStepExecution(b.run.runId, 'same')).toEqual(sb)
      })

      it('throws STEP_EXECUTION_NOT_FOUND for an unknown step or run', async () => {
        const { run } = await running()
        await expect(store.getStepExecution(run.runId, 'nope')).rejects.toMatchObject({ code: 'STEP_EXECUTION_NOT_FOUND' })
        await expect(store.getStepExecution('no-such-run', 'nope')).rejects.toMatchObject({
          code: 'STEP_EXECUTION_NOT_FOUND',
        })
      })

      it('lists no steps for an unknown run', async () => {
        expect(await store.listStepExecutions('no-such-run')).toEqual([])
      })

      it('returns step copies that do not change stored state when mutated', async () => {
        const { run, lease } = await running()
        const s = step(run.runId, 's', 0, { input: { list: [1] } })
        await store.commit(lease, { now: T0 + 1, steps: [s], run: {}, leaseExpiresAt: T0 + LEASE_MS })
        scribble(await store.getStepExecution(run.runId, 's'))
        for (const listed of await store.listStepExecutions(run.runId)) scribble(listed)
        expect(await store.getStepExecution(run.runId, 's')).toEqual(s)
      })
    })

    describe('state', () => {
      const values: Record<string, Json> = {
        null: null,
        true: true,
        false: false,
        zero: 0,
        negativeFloat: -1.5,
        maxSafe: Number.MAX_SAFE_INTEGER,
        emptyString: '',
        unicode: 'naïve 日本 🚀 "q" \\ \n',
        emptyArray: [],
        array: [1, 'a', null, [true], { b: 2 }],
        emptyObject: {},
        nested: { a: { b: { c: [1, { d: null }] } } },
      }

      it('saves and loads values of every JSON kind', async () => {
        const run = await create()
        for (const [key, value] of Object.entries(values)) await store.saveState(run.runId, key, value, T0)
        for (const [key, value] of Object.entries(values)) expect(await store.loadState(run.runId, key)).toEqual(value)
        expect(await store.getAllState(run.runId)).toEqual(values)
      })

      it('overwrites a key', async () => {
        const run = await create()
        await store.saveState(run.runId, 'k', { v: 1 }, T0)
        await store.saveState(run.runId, 'k', [2], T0 + 1)
        expect(await store.loadState(run.runId, 'k')).toEqual([2])
        expect(await store.getAllState(run.runId)).toEqual({ k: [2] })
      })

      it('keeps keys of different runs apart', async () => {
        const a = await create()
        const b = await create()
        await store.saveState(a.runId, 'k', 'a', T0)
        await store.saveState(b.runId, 'k', 'b', T0)
        await store.saveState(b.runId, 'only-b', 1, T0)
        expect(await store.getAllState(a.runId)).toEqual({ k: 'a' })
        expect(await store.loadState(b.runId, 'k')).toBe('b')
      })

      it('accepts keys with spaces, separators and unicode', async () => {
        const run = await create()
        const keys = ['a b', 'a/b#c:d', 'ключ', 'STATE#x']
        for (const [i, key] of keys.entries()) await store.saveState(run.runId, key, i, T0)
        expect(await store.getAllState(run.runId)).toEqual({ 'a b': 0, 'a/b#c:d': 1, ключ: 2, 'STATE#x': 3 })
      })

      it('throws STATE_NOT_FOUND for a missing key', async () => {
        const run = await create()
        await store.saveState(run.runId, 'present', 1, T0)
        await expect(store.loadState(run.runId, 'absent')).rejects.toMatchObject({ code: 'STATE_NOT_FOUND' })
        await expect(store.loadState('no-such-run', 'present')).rejects.toMatchObject({ code: 'STATE_NOT_FOUND' })
      })

      it('returns an empty object from getAllState for a run without state or an unknown run', async () => {
        const run = await create()
        expect(await store.getAllState(run.runId)).toEqual({})
        expect(await store.getAllState('no-such-run')).toEqual({})
      })

      it('deletes a key, and deleting a missing key or run is not an error', async () => {
        const run = await create()
        await store.saveState(run.runId, 'gone', 1, T0)
        await store.saveState(run.runId, 'kept', 2, T0)
        await store.deleteState(run.runId, 'gone')
        await expect(store.loadState(run.runId, 'gone')).rejects.toMatchObject({ code: 'STATE_NOT_FOUND' })
        expect(await store.getAllState(run.runId)).toEqual({ kept: 2 })
        await expect(store.deleteState(run.runId, 'gone')).resolves.toBeUndefined()
        await expect(store.deleteState('no-such-run', 'x')).resolves.toBeUndefined()
        expect(await store.getAllState(run.runId)).toEqual({ kept: 2 })
      })

      it('keeps stored state unchanged when saved or loaded values are mutated', async () => {
        const run = await create()
        const value = { list: [1], nested: { a: 'b' } }
        await store.saveState(run.runId, 'k', value, T0)
        scribble(value)
        scribble(await store.loadState(run.runId, 'k'))
        scribble(await store.getAllState(run.runId))
        expect(await store.loadState(run.runId, 'k')).toEqual({ list: [1], nested: { a: 'b' } })
      })
    })

    describe('waits, pause, events, retry links and concurrency', () => {
      it('round-trips waitingFor on the run and wakeAt on a step', async () => {
        const { run, lease } = await running({ retryOf: 'earlier-run', concurrencyLimit: 3, resourceId: 'r' })
        const waitingFor = { kind: 'event', stepId: 'approve', name: 'decision', until: null } as const
        const s = step(run.runId, 'approve', 0, { status: 'RUNNING', wakeAt: T0 + 5_000 })
        await store.commit(lease, { now: T0 + 1, steps: [s], run: { waitingFor, wakeAt: T0 + 5_000 }, leaseExpiresAt: null })
        expect(await store.getRun(run.runId)).toMatchObject({ waitingFor, wakeAt: T0 + 5_000, retryOf: 'earlier-run', concurrencyLimit: 3 })
        expect(await store.getStepExecution(run.runId, 'approve')).toEqual(s)
        const sleep = { kind: 'sleep', stepId: 'nap', until: T0 + 9_000 } as const
        const again = await claim(run.runId, 'owner-a', T0 + 5_000)
        await store.commit(again.lease, { now: T0 + 5_001, steps: [], run: { waitingFor: sleep }, leaseExpiresAt: T0 + LEASE_MS })
        expect((await store.getRun(run.runId)).waitingFor).toEqual(sleep)
        await store.commit(again.lease, { now: T0 + 5_002, steps: [], run: { waitingFor: null }, leaseExpiresAt: T0 + LEASE_MS })
        expect((await store.getRun(run.runId)).waitingFor).toBeNull()
      })

      it('keeps the lease when a commit carries its own expiry: still owned, due when it ends, never due while PAUSED', async () => {
        const { run, lease } = await running()
        const s = step(run.runId, 'a', 0, { status: 'RUNNING', startedAt: T0 + 5 })
        const kept = await store.commit(lease, { now: T0 + 5, steps: [s], run: { progress: 0.25 }, leaseExpiresAt: lease.expiresAt })
        expect(kept.lease).toEqual(lease)
        expect(await store.getRun(run.runId)).toMatchObject({
          leaseOwner: lease.owner,
          leaseExpiresAt: lease.expiresAt,
          progress: 0.25,
          updatedAt: T0 + 5,
        })
        expect(await store.getStepExecution(run.runId, 'a')).toEqual(s)
        expect(await store.listDueRuns(lease.expiresAt - 1, 10)).toEqual([])
        expect(await store.listDueRuns(lease.expiresAt, 10)).toEqual([run.runId])
        expect(await store.claimRun(run.runId, 'owner-b', lease.expiresAt - 1, LEASE_MS)).toBeNull()

        await store.transitionRun(run.runId, { from: ['RUNNING'], to: 'PAUSED', now: T0 + 6 })
        await store.commit(lease, { now: T0 + 7, steps: [], run: { progress: 0.5 }, leaseExpiresAt: lease.expiresAt })
        expect(await store.listDueRuns(lease.expiresAt + LEASE_MS, 10)).toEqual([])
      })

      it('reports the status after a commit, and never turns a PAUSED run RUNNING', async () => {
        const run = await create()
        const { lease } = await claim(run.runId)
        await store.transitionRun(run.runId, { from: ['PENDING', 'RUNNING'], to: 'PAUSED', now: T0 + 1 })
        const result = await store.commit(lease, {
          now: T0 + 2,
          steps: [step(run.runId, 's', 0, { status: 'COMPLETED', output: 1 })],
          run: { status: 'RUNNING', startedAt: T0 + 2, progress: 0.5 },
          leaseExpiresAt: null,
        })
        expect(result.status).toBe('PAUSED')
        expect(await store.getRun(run.runId)).toMatchObject({ status: 'PAUSED', startedAt: T0 + 2, progress: 0.5, leaseOwner: null })
        expect(await store.loadStepOutput(run.runId, 's')).toBe(1)
        const { lease: otherLease } = await running()
        const ok = await store.commit(otherLease, { now: T0 + 3, steps: [], run: { progress: 0.1 }, leaseExpiresAt: T0 + LEASE_MS })
        expect(ok.status).toBe('RUNNING')
      })

      it('pauses and resumes conditionally; a PAUSED run is never due nor claimable', async () => {
        const { run } = await running()
        const paused = await store.transitionRun(run.runId, { from: ['PENDING', 'RUNNING'], to: 'PAUSED', now: T0 + 1 })
        expect(paused).toMatchObject({ status: 'PAUSED', updatedAt: T0 + 1 })
        expect(await store.listDueRuns(T0 + LEASE_MS * 10, 10)).toEqual([])
        expect(await store.claimRun(run.runId, 'owner-b', T0 + LEASE_MS * 10, LEASE_MS)).toBeNull()
        expect((await store.listRuns({ status: 'PAUSED' })).runs.map((r) => r.runId)).toEqual([run.runId])
        await expect(store.transitionRun(run.runId, { from: ['PENDING', 'RUNNING'], to: 'PAUSED', now: T0 + 2 })).rejects.toMatchObject({
          code: 'RUN_STATE_CONFLICT',
        })
        const resumed = await store.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 3 })
        expect(resumed).toMatchObject({ status: 'RUNNING', updatedAt: T0 + 3 })
        expect(await store.listDueRuns(T0 + LEASE_MS, 10)).toEqual([run.runId])
        await store.cancelRun(run.runId, T0 + 4)
        await expect(store.transitionRun(run.runId, { from: ['PAUSED'], to: 'RUNNING', now: T0 + 5 })).rejects.toMatchObject({
          code: 'RUN_ALREADY_FINISHED',
        })
        await expect(store.transitionRun('no-such-run', { from: ['PAUSED'], to: 'RUNNING', now: T0 })).rejects.toMatchObject({
          code: 'RUN_NOT_FOUND',
        })
      })

      it('delivers each event name once, keeps it for later, and wakes a run waiting for it', async () => {
        const { run, lease } = await running()
        const early = await store.deliverEvent(run.runId, 'early', { v: 1 }, T0 + 1)
        expect(early.wakeAt).toBeNull()
        expect(await store.loadEvent(run.runId, 'early')).toEqual({ name: 'early', payload: { v: 1 }, receivedAt: T0 + 1 })
        await expect(store.deliverEvent(run.runId, 'early', { v: 2 }, T0 + 2)).rejects.toMatchObject({ code: 'EVENT_ALREADY_DELIVERED' })
        expect((await store.loadEvent(run.runId, 'early')).payload).toEqual({ v: 1 })
        await expect(store.loadEvent(run.runId, 'other')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })

        const waitingFor = { kind: 'event', stepId: 'w', name: 'decision', until: T0 + 100_000 } as const
        await store.commit(lease, { now: T0 + 3, steps: [], run: { waitingFor, wakeAt: T0 + 100_000 }, leaseExpiresAt: null })
        expect(await store.listDueRuns(T0 + 10, 10)).toEqual([])
        const woken = await store.deliverEvent(run.runId, 'decision', null, T0 + 10)
        expect(woken.wakeAt).toBe(T0 + 10)
        expect(await store.listDueRuns(T0 + 10, 10)).toEqual([run.runId])
        expect((await store.loadEvent(run.runId, 'decision')).payload).toBeNull()

        await store.cancelRun(run.runId, T0 + 20)
        await expect(store.deliverEvent(run.runId, 'late', 1, T0 + 21)).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
        await expect(store.loadEvent(run.runId, 'late')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })
        await expect(store.deliverEvent('no-such-run', 'x', 1, T0)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
        await store.deleteRun(run.runId)
        await expect(store.loadEvent(run.runId, 'early')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })
      })

      // The lost wake-up, with the interleaving forced: an event delivered while the run did not (yet) show the wait
      // must still leave it due once the yield has written its deadline.
      it('makes a run due at once when its yield commit waits for an event delivered before that commit', async () => {
        const { run, lease } = await running()
        await store.deliverEvent(run.runId, 'decision', { ok: true }, T0 + 1)
        expect((await store.getRun(run.runId)).wakeAt).toBeNull()
        const waitingFor = { kind: 'event', stepId: 'w', name: 'decision', until: T0 + 100_000 } as const
        const result = await store.commit(lease, { now: T0 + 2, steps: [], run: { waitingFor, wakeAt: T0 + 100_000 }, leaseExpiresAt: null })
        expect(result.awaitedEventDelivered).toBe(true)
        expect(await store.getRun(run.runId)).toMatchObject({ waitingFor, wakeAt: T0 + 2, leaseOwner: null })
        expect(await store.listDueRuns(T0 + 2, 10)).toEqual([run.runId])
        expect(await store.claimRun(run.runId, 'owner-b', T0 + 2, LEASE_MS)).not.toBeNull()
      })

      it("wakes a run waiting for a child on the child's event: at delivery, and in a yield commit after it", async () => {
        const waitingFor = { kind: 'child', stepId: 'sub', name: 'child:kid', runId: 'kid', workflowId: 'child', until: T0 + 100_000 } as const
        const { run, lease } = await running()
        await store.commit(lease, { now: T0 + 1, steps: [], run: { waitingFor, wakeAt: T0 + 100_000 }, leaseExpiresAt: null })
        expect(await store.getRun(run.runId)).toMatchObject({ waitingFor, wakeAt: T0 + 100_000 })
        expect((await store.deliverEvent(run.runId, 'child:other', 'COMPLETED', T0 + 2)).wakeAt).toBe(T0 + 100_000)
        expect((await store.deliverEvent(run.runId, 'child:kid', 'COMPLETED', T0 + 3)).wakeAt).toBe(T0 + 3)
        expect(await store.listDueRuns(T0 + 3, 10)).toEqual([run.runId])

        const early = await running()
        await store.deliverEvent(early.run.runId, 'child:kid', 'FAILED', T0 + 1)
        const result = await store.commit(early.lease, { now: T0 + 2, steps: [], run: { waitingFor, wakeAt: T0 + 100_000 }, leaseExpiresAt: null })
        expect(result.awaitedEventDelivered).toBe(true)
        expect((await store.getRun(early.run.runId)).wakeAt).toBe(T0 + 2)
      })

      it('makes a run due at once when the event came between the commit showing the wait and the one setting its deadline', async () => {
        const { run, lease } = await running()
        const waitingFor = { kind: 'event', stepId: 'w', name: 'decision', until: T0 + 100_000 } as const
        const shown = await store.commit(lease, { now: T0 + 1, steps: [], run: { waitingFor }, leaseExpiresAt: lease.expiresAt })
        expect(shown.awaitedEventDelivered).toBe(false)
        // The run holds its lease: the delivery's wake-up is not yet due, and the yield below overwrites wakeAt.
        expect((await store.deliverEvent(run.runId, 'decision', null, T0 + 2)).wakeAt).toBe(T0 + 2)
        const result = await store.commit(lease, { now: T0 + 3, steps: [], run: { wakeAt: T0 + 100_000 }, leaseExpiresAt: null })
        expect(result.awaitedEventDelivered).toBe(true)
        expect((await store.getRun(run.runId)).wakeAt).toBe(T0 + 3)
        expect(await store.listDueRuns(T0 + 3, 10)).toEqual([run.runId])
      })

      it('keeps the deadline of a yield waiting for an event not delivered, or waiting for a sleep', async () => {
        const { run, lease } = await running()
        await store.deliverEvent(run.runId, 'other', 1, T0 + 1)
        const waitingFor = { kind: 'event', stepId: 'w', name: 'decision', until: T0 + 100_000 } as const
        const result = await store.commit(lease, { now: T0 + 2, steps: [], run: { waitingFor, wakeAt: T0 + 100_000 }, leaseExpiresAt: null })
        expect(result.awaitedEventDelivered).toBe(false)
        expect((await store.getRun(run.runId)).wakeAt).toBe(T0 + 100_000)
        expect(await store.listDueRuns(T0 + 2, 10)).toEqual([])

        const { run: sleeper, lease: sleeperLease } = await running()
        await store.deliverEvent(sleeper.runId, 'decision', 1, T0 + 1)
        const sleep = { kind: 'sleep', stepId: 's', until: T0 + 50_000 } as const
        const slept = await store.commit(sleeperLease, { now: T0 + 2, steps: [], run: { waitingFor: sleep, wakeAt: T0 + 50_000 }, leaseExpiresAt: null })
        expect(slept.awaitedEventDelivered).toBe(false)
        expect((await store.getRun(sleeper.runId)).wakeAt).toBe(T0 + 50_000)
      })

      it('links a finished run to its retry once', async () => {
        const { run, lease } = await running()
        await store.commit(lease, { now: T0 + 1, steps: [], run: { status: 'FAILED', completedAt: T0 + 1 }, leaseExpiresAt: null })
        const linked = await store.linkRetry(run.runId, 'retry-1', T0 + 2)
        expect(linked).toMatchObject({ status: 'FAILED', retriedBy: 'retry-1', completedAt: T0 + 1 })
        expect((await store.getRun(run.runId)).retriedBy).toBe('retry-1')
        await expect(store.linkRetry(run.runId, 'retry-2', T0 + 3)).rejects.toMatchObject({ code: 'RUN_STATE_CONFLICT' })
        await expect(store.linkRetry('no-such-run', 'x', T0)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      })

      it('lets at most concurrencyLimit runs of one workflow and resource hold a slot until they end', async () => {
        const key = { workflowId: 'wf-limited', resourceId: 'customer-1', concurrencyLimit: 2 }
        const runs: RunRecord[] = []
        for (let i = 0; i < 4; i++) runs.push(await create({ ...key, createdAt: T0 + i }))
        const [r0, r1, r2, r3] = runs as [RunRecord, RunRecord, RunRecord, RunRecord]
        const other = await create({ ...key, resourceId: 'customer-2' })
        const c0 = await claim(r0.runId, 'a')
        await claim(r1.runId, 'b')
        expect(await store.claimRun(r2.runId, 'c', T0, LEASE_MS)).toBeNull()
        expect(await store.claimRun(r3.runId, 'c', T0, LEASE_MS)).toBeNull()
        // Another resource has its own slots.
        expect(await store.claimRun(other.runId, 'c', T0, LEASE_MS)).not.toBeNull()
        // The holder re-claims its own run freely.
        expect(await store.claimRun(r0.runId, 'a', T0 + 1, LEASE_MS)).not.toBeNull()
        // A terminal run frees its slot.
        await store.commit(c0.lease, { now: T0 + 2, steps: [], run: { status: 'COMPLETED', completedAt: T0 + 2 }, leaseExpiresAt: null })
        expect(await store.claimRun(r2.runId, 'c', T0 + 3, LEASE_MS)).not.toBeNull()
        expect(await store.claimRun(r3.runId, 'd', T0 + 3, LEASE_MS)).toBeNull()
        // Runs without a limit, or without a resource, are never held back.
        const free = await create({ workflowId: 'wf-limited', resourceId: 'customer-1' })
        expect(await store.claimRun(free.runId, 'e', T0 + 3, LEASE_MS)).not.toBeNull()
      })

      it('grants a slot to exactly the limit under concurrent claims', async () => {
        const key = { workflowId: 'wf-race', resourceId: 'r', concurrencyLimit: 2 }
        const runs: RunRecord[] = []
        for (let i = 0; i < 6; i++) runs.push(await create({ ...key, createdAt: T0 + i }))
        const claims = await Promise.all(runs.map((r, i) => store.claimRun(r.runId, `owner-${i}`, T0 + 10, LEASE_MS)))
        // Never more than the limit. How many win at once depends on the order the backend applies concurrent
        // claims in (sqld runs them on several connections): where the store keeps FIFO, a younger run's claim
        // applied before an older run's is refused while that one waits without a slot.
        const granted = claims.filter((c) => c !== null).length
        expect(granted).toBeGreaterThanOrEqual(1)
        expect(granted).toBeLessThanOrEqual(2)
        // Claimed again, oldest first, the runs fill exactly the limit.
        let held = granted
        for (const [i, r] of runs.entries()) {
          if (claims[i] === null && (await store.claimRun(r.runId, `owner-${i}`, T0 + 11, LEASE_MS)) !== null) held++
        }
        expect(held).toBe(2)
      })
    })

    describe('schedule states', () => {
      it('creates a state on first update, unpaused and never fired unless the patch says otherwise', async () => {
        expect(await store.listScheduleStates()).toEqual([])
        expect(await store.updateScheduleState('wf-b', { paused: true }, T0)).toEqual({
          workflowId: 'wf-b',
          paused: true,
          lastTickAt: null,
          updatedAt: T0,
        })
        expect(await store.updateScheduleState('wf-a', { lastTickAt: T0 - 60_000 }, T0 + 1)).toEqual({
          workflowId: 'wf-a',
          paused: false,
          lastTickAt: T0 - 60_000,
          updatedAt: T0 + 1,
        })
        expect((await store.listScheduleStates()).map((s) => s.workflowId)).toEqual(['wf-a', 'wf-b'])
      })

      it('never moves lastTickAt back, and keeps what a patch leaves out', async () => {
        await store.updateScheduleState('wf', { lastTickAt: T0 }, T0)
        await store.updateScheduleState('wf', { paused: true }, T0 + 1)
        expect(await store.updateScheduleState('wf', { lastTickAt: T0 - 1 }, T0 + 2)).toMatchObject({ paused: true, lastTickAt: T0 })
        expect(await store.updateScheduleState('wf', { paused: false, lastTickAt: T0 + 5 }, T0 + 3)).toMatchObject({
          paused: false,
          lastTickAt: T0 + 5,
        })
        expect(await store.listScheduleStates()).toEqual([{ workflowId: 'wf', paused: false, lastTickAt: T0 + 5, updatedAt: T0 + 3 }])
      })

      it('keeps the latest tick when engines record ticks concurrently', async () => {
        await Promise.all([T0 + 3, T0 + 1, T0 + 2].map((tick) => store.updateScheduleState('wf', { lastTickAt: tick }, tick)))
        expect((await store.listScheduleStates())[0]?.lastTickAt).toBe(T0 + 3)
      })
    })

    describe('deleteRun', () => {
      it('deletes the run with its steps, outputs and state', async () => {
        const { run, lease } = await running()
        const other = await running()
        const done = (runId: string) => step(runId, 's', 0, { status: 'COMPLETED', output: { v: 1 } })
        await store.commit(lease, { now: T0 + 1, steps: [done(run.runId)], run: {}, leaseExpiresAt: null })
        await store.commit(other.lease, { now: T0 + 1, steps: [done(other.run.runId)], run: {}, leaseExpiresAt: null })
        await store.saveState(run.runId, 'k', 1, T0)
        await store.saveState(other.run.runId, 'k', 2, T0)

        await store.deleteRun(run.runId)

        await expect(store.getRun(run.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
        expect(await store.listStepExecutions(run.runId)).toEqual([])
        await expect(store.getStepExecution(run.runId, 's')).rejects.toMatchObject({ code: 'STEP_EXECUTION_NOT_FOUND' })
        await expect(store.loadStepOutput(run.runId, 's')).rejects.toMatchObject({ code: 'STEP_OUTPUT_NOT_FOUND' })
        await expect(store.loadState(run.runId, 'k')).rejects.toMatchObject({ code: 'STATE_NOT_FOUND' })
        expect(await store.getAllState(run.runId)).toEqual({})
        expect((await store.listRuns()).runs.map((r) => r.runId)).toEqual([other.run.runId])
        expect(await store.listDueRuns(T0 + 10, 10)).toEqual([other.run.runId])
        // The other run's children are untouched.
        expect(await store.loadStepOutput(other.run.runId, 's')).toEqual({ v: 1 })
        expect(await store.loadState(other.run.runId, 'k')).toBe(2)
      })

      it('throws RUN_NOT_FOUND for an unknown or already deleted run', async () => {
        await expect(store.deleteRun('no-such-run')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
        const run = await create()
        await store.deleteRun(run.runId)
        await expect(store.deleteRun(run.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      })

      it('frees the idempotencyKey and runId of a deleted run', async () => {
        const first = await create({ workflowId: 'wf-a', idempotencyKey: 'key' })
        await store.deleteRun(first.runId)
        const next = makeRun({ workflowId: 'wf-a', idempotencyKey: 'key' })
        expect(await store.createRun(next)).toEqual({ run: next, created: true })
        const reused = makeRun({ runId: first.runId })
        expect(await store.createRun(reused)).toEqual({ run: reused, created: true })
      })
    })

    describe('deleteFinishedRuns', () => {
      it('deletes only terminal runs completed before the cutoff and returns how many', async () => {
        const before = T0 + 1_000
        const doomed = [
          await create({ status: 'COMPLETED', completedAt: T0 + 100 }),
          await create({ status: 'FAILED', completedAt: T0 + 200 }),
          await create({ status: 'CANCELLED', completedAt: before - 1, cancelRequestedAt: before - 1 }),
        ]
        const kept = [
          await create({ status: 'COMPLETED', completedAt: before }),
          await create({ status: 'FAILED', completedAt: before + 1 }),
          await create({ status: 'RUNNING', completedAt: T0 }),
          await create({ status: 'PAUSED', completedAt: T0 }),
          await create({ status: 'PENDING' }),
        ]
        expect(await store.deleteFinishedRuns(before, 100)).toBe(3)
        for (const run of doomed) {
          await expect(store.getRun(run.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
        }
        for (const run of kept) expect(await store.getRun(run.runId)).toEqual(run)
        expect(await store.deleteFinishedRuns(before, 100)).toBe(0)
      })

      it('deletes at most limit runs per call', async () => {
        for (let i = 0; i < 5; i++) await create({ status: 'COMPLETED', completedAt: T0 + i })
        expect(await store.deleteFinishedRuns(T0 + 100, 2)).toBe(2)
        expect((await store.listRuns()).runs).toHaveLength(3)
        expect(await store.deleteFinishedRuns(T0 + 100, 2)).toBe(2)
        expect(await store.deleteFinishedRuns(T0 + 100, 2)).toBe(1)
        expect(await store.deleteFinishedRuns(T0 + 100, 2)).toBe(0)
        expect((await store.listRuns()).runs).toEqual([])
      })

      it('removes the steps, outputs and state of deleted runs', async () => {
        const { run, lease } = await running()
        await store.commit(lease, {
          now: T0 + 1,
          steps: [step(run.runId, 's', 0, { status: 'COMPLETED', output: 'out' })],
          run: { status: 'COMPLETED', completedAt: T0 + 1 },
          leaseExpiresAt: null,
        })
        await store.saveState(run.runId, 'k', 'v', T0)
        expect(await store.deleteFinishedRuns(T0 + 2, 10)).toBe(1)
        await expect(store.getRun(run.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
        expect(await store.listStepExecutions(run.runId)).toEqual([])
        await expect(store.loadStepOutput(run.runId, 's')).rejects.toMatchObject({ code: 'STEP_OUTPUT_NOT_FOUND' })
        expect(await store.getAllState(run.runId)).toEqual({})
      })

      it('returns 0 when nothing is finished', async () => {
        await create()
        expect(await store.deleteFinishedRuns(T0 + 1_000_000, 10)).toBe(0)
        expect((await store.listRuns()).runs).toHaveLength(1)
      })
    })
  })
}

/**
 * Mutates every reachable object and array in place. Used on arguments after a store call and on returned
 * values, to prove the store shares no object with its callers.
 */
function scribble(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) scribble(item)
    value.push('scribbled')
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>
    for (const key of Object.keys(record)) {
      const inner = record[key]
      if (typeof inner === 'object' && inner !== null) scribble(inner)
      else record[key] = typeof inner === 'number' ? inner + 1 : 'scribbled'
    }
    record.scribbled = true
  }
}
