/**
 * @module
 * The HTTP API contract, run against every store through `app.request()` (no server). Not matched by the
 * `*.test.ts` glob: each store's test file calls {@link runApiContract}.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { AnyWorkflow } from '../../src/core/workflow'
import type { WorkflowStore } from '../../src/core/store'
import { exampleWorkflows } from '../../src/workflows'
import { fixableWorkflow, gatedWorkflow } from './control-workflows'
import { type ApiHarness, createHarness, json } from './harness'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

export function runApiContract(name: string, makeStore: () => Promise<WorkflowStore>): void {
  describe(`HTTP API over ${name}`, () => {
    let h: ApiHarness

    beforeEach(async () => {
      h = createHarness(await makeStore())
    })
    afterEach(async () => {
      await h.close()
    })

    async function startAndWait(workflowId: string, input: unknown, extra: Record<string, unknown> = {}) {
      const res = await h.call('POST', `/v1/workflows/${workflowId}/runs?wait=true`, { input, ...extra })
      return { res, body: await json(res) }
    }

    describe('GET /health', () => {
      it('answers without a token and names the store', async () => {
        const res = await h.app.request('/health')
        expect(res.status).toBe(200)
        expect(await res.json()).toEqual({ ok: true, store: h.store.kind })
      })
    })

    describe('workflows', () => {
      it('lists the example workflows with their steps and edges', async () => {
        const res = await h.call('GET', '/v1/workflows')
        expect(res.status).toBe(200)
        const { workflows } = await json(res)
        expect(workflows.map((w: { id: string }) => w.id)).toEqual([
          'sequential',
          'parallel',
          'conditional',
          'flaky',
          'sleep',
          'approval',
          'nap',
        ])
        const parallel = workflows.find((w: { id: string }) => w.id === 'parallel')
        expect(parallel.steps.map((s: { id: string }) => s.id)).toEqual(['start', 'add', 'multiply', 'format'])
        expect(parallel.edges).toEqual([
          ['start', 'add'],
          ['start', 'multiply'],
          ['add', 'format'],
          ['multiply', 'format'],
        ])
      })

      it('describes one workflow with the JSON Schema of its input', async () => {
        const res = await h.call('GET', '/v1/workflows/conditional')
        expect(res.status).toBe(200)
        const { workflow } = await json(res)
        expect(workflow.id).toBe('conditional')
        expect(workflow.inputSchema).toMatchObject({
          type: 'object',
          properties: { value: { type: 'integer' }, enableDoubling: { type: 'boolean' } },
          required: ['value', 'enableDoubling'],
        })
      })

      it('answers 404 WORKFLOW_NOT_FOUND for an unknown workflow', async () => {
        const res = await h.call('GET', '/v1/workflows/nope')
        expect(res.status).toBe(404)
        expect((await json(res)).error.code).toBe('WORKFLOW_NOT_FOUND')
      })
    })

    describe('starting runs', () => {
      it('accepts an async start with 202 and a RUNNING run (first step started), which completes in the background', async () => {
        const res = await h.call('POST', '/v1/workflows/sequential/runs', { input: { val1: 2, val2: 3, mult: 4 } })
        expect(res.status).toBe(202)
        const { run } = await json(res)
        expect(run).toMatchObject({ workflowId: 'sequential', status: 'RUNNING', progress: 0 })
        expect(run.startedAt).toEqual(expect.any(String))
        expect(res.headers.get('Location')).toBe(`/v1/runs/${run.runId}`)
        await h.settle()
        const done = await json(await h.call('GET', `/v1/runs/${run.runId}`))
        expect(done.run).toMatchObject({ status: 'COMPLETED', progress: 1, output: { message: 'The final result is 20' } })
      })

      it('runs sequential within the request with ?wait=true and answers 200', async () => {
        const { res, body } = await startAndWait('sequential', { val1: 1, val2: 2, mult: 3 })
        expect(res.status).toBe(200)
        expect(body.run).toMatchObject({
          workflowId: 'sequential',
          workflowVersion: '1.0',
          status: 'COMPLETED',
          progress: 1,
          input: { val1: 1, val2: 2, mult: 3 },
          output: { message: 'The final result is 9' },
        })
        for (const field of ['createdAt', 'startedAt', 'completedAt', 'updatedAt']) {
          expect(body.run[field]).toMatch(ISO)
        }
        expect(Object.keys(body.run)).not.toEqual(expect.arrayContaining(['leaseOwner']))
        for (const hidden of ['leaseOwner', 'leaseExpiresAt', 'wakeAt', 'idempotencyKey', 'context', 'error']) {
          expect(body.run).not.toHaveProperty(hidden)
        }
      })

      it('joins the parallel branches and lists the steps in execution order', async () => {
        const { res, body } = await startAndWait('parallel', { val1: 3, val2: 4 })
        expect(res.status).toBe(200)
        expect(body.run.output).toEqual({ message: 'sum=7 product=12' })
        const { steps } = await json(await h.call('GET', `/v1/runs/${body.run.runId}/steps`))
        expect(steps.map((s: { stepId: string }) => s.stepId)).toEqual(['start', 'add', 'multiply', 'format'])
        expect(steps.map((s: { executionIndex: number }) => s.executionIndex)).toEqual([0, 1, 2, 3])
        expect(steps[3]).toMatchObject({
          status: 'COMPLETED',
          attempt: 0,
          interruptions: 0,
          input: { add: { sum: 7 }, multiply: { product: 12 } },
          output: { message: 'sum=7 product=12' },
        })
        expect(steps[3].startedAt).toMatch(ISO)
        expect(typeof steps[3].durationMs).toBe('number')
      })

      it('doubles and formats in conditional when enabled, and exposes the state', async () => {
        const { body } = await startAndWait('conditional', { value: 6, enableDoubling: true })
        expect(body.run).toMatchObject({
          status: 'COMPLETED',
          output: { value: 12, doubled: true, message: 'Final value: 12' },
        })
        const state = await json(await h.call('GET', `/v1/runs/${body.run.runId}/state`))
        expect(state).toEqual({ state: { enable_doubling: true } })
      })

      it('skips both conditional steps when disabled and the value stays small', async () => {
        const { body } = await startAndWait('conditional', { value: 3, enableDoubling: false })
        expect(body.run).toMatchObject({ status: 'COMPLETED', progress: 1, output: { value: 3, doubled: false } })
        const { steps } = await json(await h.call('GET', `/v1/runs/${body.run.runId}/steps`))
        expect(steps.map((s: { stepId: string; status: string }) => [s.stepId, s.status])).toEqual([
          ['setup', 'COMPLETED'],
          ['double', 'SKIPPED'],
          ['format', 'SKIPPED'],
        ])
        const output = await json(await h.call('GET', `/v1/runs/${body.run.runId}/steps/double/output`))
        expect(output).toEqual({ output: { value: 3, doubled: false } })
      })

      it('retries flaky until it succeeds, and fails the run naming the step when retries run out', async () => {
        const ok = await startAndWait('flaky', { failTimes: 2 })
        expect(ok.body.run).toMatchObject({ status: 'COMPLETED', output: { attempts: 3 } })
        const { steps } = await json(await h.call('GET', `/v1/runs/${ok.body.run.runId}/steps`))
        expect(steps[0]).toMatchObject({ stepId: 'attempt', status: 'COMPLETED', attempt: 2 })

        const failed = await startAndWait('flaky', { failTimes: 5 })
        expect(failed.res.status).toBe(200)
        expect(failed.body.run.status).toBe('FAILED')
        expect(failed.body.run.error).toMatchObject({ step: 'attempt' })
        expect(failed.body.run).not.toHaveProperty('output')
        const output = await h.call('GET', `/v1/runs/${failed.body.run.runId}/steps/attempt/output`)
        expect(output.status).toBe(404)
        expect((await json(output)).error.code).toBe('STEP_OUTPUT_NOT_FOUND')
      })

      it('answers 200 with the same run when an idempotency key repeats, and writes no second run', async () => {
        const first = await h.call('POST', '/v1/workflows/sequential/runs', {
          input: { val1: 1, val2: 1, mult: 1 },
          idempotencyKey: 'order-42',
        })
        expect(first.status).toBe(202)
        const again = await h.call('POST', '/v1/workflows/sequential/runs?wait=true', {
          input: { val1: 1, val2: 1, mult: 1 },
          idempotencyKey: 'order-42',
        })
        expect(again.status).toBe(200)
        expect((await json(again)).run.runId).toBe((await json(first)).run.runId)
        expect((await h.store.listRuns()).runs).toHaveLength(1)
      })

      it('keeps resourceId and tags on the run', async () => {
        const { body } = await startAndWait('sequential', { val1: 1, val2: 1, mult: 1 }, {
          resourceId: 'customer-7',
          tags: { team: 'billing' },
        })
        expect(body.run).toMatchObject({ resourceId: 'customer-7', tags: { team: 'billing' } })
      })

      it('answers 202 with the latest record when ?wait=true runs out of budget', async () => {
        const short = createHarness(await makeStore(), { waitBudgetMs: 50 })
        try {
          const started = Date.now()
          const res = await short.call('POST', '/v1/workflows/sleep/runs?wait=true', { input: { ms: 120_000 } })
          expect(res.status).toBe(202)
          // Long before the sleep could have ended, however loaded the machine.
          expect(Date.now() - started).toBeLessThan(60_000)
          const { run } = await json(res)
          expect(run.status).toBe('RUNNING')
          await short.engine.cancel(run.runId)
        } finally {
          await short.close()
        }
      })
    })

    describe('listing runs', () => {
      it('filters by workflow, status and resource, newest first, and pages with a cursor', async () => {
        const ids: string[] = []
        for (let i = 0; i < 5; i++) {
          const { body } = await startAndWait('sequential', { val1: i, val2: 0, mult: 1 }, { resourceId: `r${i % 2}` })
          ids.push(body.run.runId)
        }
        await startAndWait('flaky', { failTimes: 4 })

        const all = await json(await h.call('GET', '/v1/runs?workflowId=sequential'))
        expect(all.runs.map((r: { runId: string }) => r.runId)).toEqual([...ids].reverse())
        expect(all.nextCursor).toBeNull()

        const seen: string[] = []
        let cursor: string | null = null
        do {
          const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`
          const page: any = await json(await h.call('GET', `/v1/runs?workflowId=sequential&limit=2${query}`))
          expect(page.runs.length).toBeLessThanOrEqual(2)
          seen.push(...page.runs.map((r: { runId: string }) => r.runId))
          cursor = page.nextCursor
        } while (cursor !== null)
        expect(seen).toEqual([...ids].reverse())

        const failed = await json(await h.call('GET', '/v1/runs?status=FAILED'))
        expect(failed.runs.map((r: { workflowId: string }) => r.workflowId)).toEqual(['flaky'])
        const r1 = await json(await h.call('GET', '/v1/runs?resourceId=r1'))
        expect(r1.runs.map((r: { runId: string }) => r.runId)).toEqual([ids[3], ids[1]])
      })
    })

    describe('inspecting and cancelling runs', () => {
      it('answers 404 RUN_NOT_FOUND for an unknown run on every run route', async () => {
        for (const [method, path] of [
          ['GET', '/v1/runs/nope'],
          ['GET', '/v1/runs/nope/steps'],
          ['GET', '/v1/runs/nope/state'],
          ['POST', '/v1/runs/nope/cancel'],
          ['POST', '/v1/runs/nope/pause'],
          ['POST', '/v1/runs/nope/resume'],
          ['POST', '/v1/runs/nope/retry'],
          ['POST', '/v1/runs/nope/events/decision'],
        ] as const) {
          const res = await h.call(method, path, path.includes('/events/') ? { payload: {} } : undefined)
          expect(res.status, `${method} ${path}`).toBe(404)
          expect((await json(res)).error.code).toBe('RUN_NOT_FOUND')
        }
      })

      it('cancels a sleeping run at once with 202, and answers 409 for a second cancel', async () => {
        const res = await h.call('POST', '/v1/workflows/sleep/runs', { input: { ms: 300_000 } })
        const { run } = await json(res)
        const cancelled = await h.call('POST', `/v1/runs/${run.runId}/cancel`)
        expect(cancelled.status).toBe(202)
        expect((await json(cancelled)).run).toMatchObject({ runId: run.runId, status: 'CANCELLED' })
        const started = Date.now()
        await h.settle()
        expect(Date.now() - started).toBeLessThan(150_000)
        const again = await h.call('POST', `/v1/runs/${run.runId}/cancel`)
        expect(again.status).toBe(409)
        expect((await json(again)).error.code).toBe('RUN_ALREADY_FINISHED')
        const stored = await h.store.getRun(run.runId)
        expect(stored.status).toBe('CANCELLED')
      })

      it('answers 409 when cancelling a completed run', async () => {
        const { body } = await startAndWait('sequential', { val1: 1, val2: 1, mult: 1 })
        const res = await h.call('POST', `/v1/runs/${body.run.runId}/cancel`)
        expect(res.status).toBe(409)
        expect((await json(res)).error.code).toBe('RUN_ALREADY_FINISHED')
      })
    })

    describe('events, pause, resume and retry', () => {
      /** A second harness over a fresh store with test-only workflows beside the examples. */
      async function withWorkflows<T>(extra: AnyWorkflow[], body: (w: ApiHarness) => Promise<T>): Promise<T> {
        const w = createHarness(await makeStore(), { engine: { workflows: [...exampleWorkflows, ...extra] } })
        try {
          return await body(w)
        } finally {
          await w.close()
        }
      }

      it('runs the approval workflow: waits for decision, refuses bad events storing nothing, completes on the decision', async () => {
        const started = await h.call('POST', '/v1/workflows/approval/runs', { input: { amount: 120 } })
        expect(started.status).toBe(202)
        const { run } = await json(started)
        await h.settle()

        const waiting = (await json(await h.call('GET', `/v1/runs/${run.runId}`))).run
        expect(waiting).toMatchObject({ status: 'RUNNING', waitingFor: { kind: 'event', stepId: 'decision', name: 'decision' } })
        expect(waiting.waitingFor.until).toMatch(ISO)
        expect(Date.parse(waiting.waitingFor.until) - Date.parse(waiting.startedAt)).toBe(3_600_000)
        const { steps } = await json(await h.call('GET', `/v1/runs/${run.runId}/steps`))
        expect(steps).toEqual([expect.objectContaining({ stepId: 'decision', status: 'RUNNING', wakeAt: waiting.waitingFor.until })])

        const invalid = await h.call('POST', `/v1/runs/${run.runId}/events/decision`, { payload: { approved: 'yes' } })
        expect(invalid.status).toBe(400)
        const { error } = await json(invalid)
        expect(error.code).toBe('VALIDATION_ERROR')
        expect(error.details.issues).toEqual(
          expect.arrayContaining([expect.objectContaining({ path: 'approved' }), expect.objectContaining({ path: 'by' })]),
        )
        const unknown = await h.call('POST', `/v1/runs/${run.runId}/events/approval`, { payload: { approved: true, by: 'ada' } })
        expect(unknown.status).toBe(400)
        expect((await json(unknown)).error.code).toBe('INVALID_ARGUMENT')
        await expect(h.store.loadEvent(run.runId, 'decision')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })
        expect(await h.store.getRun(run.runId)).toMatchObject({ status: 'RUNNING', updatedAt: Date.parse(waiting.updatedAt) })

        const sent = await h.call('POST', `/v1/runs/${run.runId}/events/decision`, { payload: { approved: true, by: 'ada' } })
        expect(sent.status).toBe(202)
        expect((await json(sent)).run).toMatchObject({ runId: run.runId, status: 'RUNNING' })
        await h.settle()
        const done = (await json(await h.call('GET', `/v1/runs/${run.runId}`))).run
        expect(done).toMatchObject({ status: 'COMPLETED', progress: 1, output: { amount: 120, approved: true, by: 'ada' } })
        expect(done).not.toHaveProperty('waitingFor')

        const late = await h.call('POST', `/v1/runs/${run.runId}/events/decision`, { payload: { approved: false, by: 'bob' } })
        expect(late.status).toBe(409)
        expect((await json(late)).error.code).toBe('RUN_ALREADY_FINISHED')
      })

      it('keeps an event sent while paused, refuses a second one, and completes after resume', async () => {
        const { run } = await json(await h.call('POST', '/v1/workflows/approval/runs', { input: { amount: 7 } }))
        await h.settle()
        const paused = await h.call('POST', `/v1/runs/${run.runId}/pause`)
        expect(paused.status).toBe(202)
        const pausedRun = (await json(paused)).run
        expect(pausedRun).toMatchObject({ status: 'PAUSED', waitingFor: { kind: 'event', name: 'decision' } })
        const again = await h.call('POST', `/v1/runs/${run.runId}/pause`)
        expect(again.status).toBe(409)
        expect((await json(again)).error.code).toBe('RUN_STATE_CONFLICT')

        const listed = await json(await h.call('GET', '/v1/runs?status=PAUSED'))
        expect(listed.runs.map((r: { runId: string }) => r.runId)).toEqual([run.runId])

        const first = await h.call('POST', `/v1/runs/${run.runId}/events/decision`, { payload: { approved: false, by: 'bob' } })
        expect(first.status).toBe(202)
        expect((await json(first)).run.status).toBe('PAUSED')
        await h.settle()
        expect((await h.store.getRun(run.runId)).status).toBe('PAUSED')
        const second = await h.call('POST', `/v1/runs/${run.runId}/events/decision`, { payload: { approved: true, by: 'ada' } })
        expect(second.status).toBe(409)
        expect((await json(second)).error.code).toBe('EVENT_ALREADY_DELIVERED')
        expect((await h.store.loadEvent(run.runId, 'decision')).payload).toEqual({ approved: false, by: 'bob' })

        const resumed = await h.call('POST', `/v1/runs/${run.runId}/resume`)
        expect(resumed.status).toBe(202)
        expect((await json(resumed)).run.status).toBe('RUNNING')
        await h.settle()
        const done = (await json(await h.call('GET', `/v1/runs/${run.runId}`))).run
        expect(done).toMatchObject({ status: 'COMPLETED', output: { amount: 7, approved: false, by: 'bob' } })
        const notPaused = await h.call('POST', `/v1/runs/${run.runId}/resume`)
        expect(notPaused.status).toBe(409)
        expect((await json(notPaused)).error.code).toBe('RUN_ALREADY_FINISHED')
      })

      it('pauses a running run after its running step commits, and resumes it to completion', async () => {
        const gated = gatedWorkflow()
        await withWorkflows([gated.workflow], async (w) => {
          const { run } = await json(await w.call('POST', '/v1/workflows/gated/runs', { input: { n: 1 } }))
          await gated.started
          const paused = await w.call('POST', `/v1/runs/${run.runId}/pause`)
          expect(paused.status).toBe(202)
          expect((await json(paused)).run.status).toBe('PAUSED')
          gated.release()
          await w.settle()
          expect(await w.store.getRun(run.runId)).toMatchObject({ status: 'PAUSED', leaseOwner: null })
          const { steps } = await json(await w.call('GET', `/v1/runs/${run.runId}/steps`))
          expect(steps.map((s: { stepId: string; status: string }) => [s.stepId, s.status])).toEqual([['work', 'COMPLETED']])
          expect(gated.calls).toEqual(['work'])
          expect((await w.engine.resumeDue()).claimed).toBe(0)

          const resumed = await w.call('POST', `/v1/runs/${run.runId}/resume`)
          expect(resumed.status).toBe(202)
          await w.settle()
          const done = (await json(await w.call('GET', `/v1/runs/${run.runId}`))).run
          expect(done).toMatchObject({ status: 'COMPLETED', output: { report: 'n=2' } })
          expect(gated.calls).toEqual(['work', 'report'])
          const late = await w.call('POST', `/v1/runs/${run.runId}/pause`)
          expect(late.status).toBe(409)
          expect((await json(late)).error.code).toBe('RUN_ALREADY_FINISHED')
        })
      })

      it('retries a FAILED run as a new linked run that reuses the completed step and uses the same input', async () => {
        const fixable = fixableWorkflow()
        await withWorkflows([fixable.workflow], async (w) => {
          const failed = (await json(await w.call('POST', '/v1/workflows/fixable/runs?wait=true', { input: { amount: 30 } }))).run
          expect(failed).toMatchObject({ status: 'FAILED', error: { step: 'charge' } })
          expect(fixable.calls).toEqual(['prepare', 'charge'])

          const badStep = await w.call('POST', `/v1/runs/${failed.runId}/retry`, { fromStep: 'nope' })
          expect(badStep.status).toBe(400)
          expect((await json(badStep)).error.code).toBe('INVALID_ARGUMENT')
          expect((await w.store.listRuns()).runs).toHaveLength(1)

          fixable.broken = false
          const res = await w.call('POST', `/v1/runs/${failed.runId}/retry`)
          expect(res.status).toBe(201)
          const retry = (await json(res)).run
          expect(retry).toMatchObject({ workflowId: 'fixable', status: 'PENDING', input: { amount: 30 }, retryOf: failed.runId })
          expect(retry.runId).not.toBe(failed.runId)
          expect(res.headers.get('Location')).toBe(`/v1/runs/${retry.runId}`)
          await w.settle()

          const done = (await json(await w.call('GET', `/v1/runs/${retry.runId}`))).run
          // preparedAt 1: the output of the failed run's `prepare`, not a second execution.
          expect(done).toMatchObject({ status: 'COMPLETED', output: { receipt: 'paid 30', preparedAt: 1 }, retryOf: failed.runId })
          expect(fixable.calls).toEqual(['prepare', 'charge', 'charge', 'receipt'])
          expect((await json(await w.call('GET', `/v1/runs/${failed.runId}`))).run).toMatchObject({
            status: 'FAILED',
            retriedBy: retry.runId,
          })

          const twice = await w.call('POST', `/v1/runs/${failed.runId}/retry`)
          expect(twice.status).toBe(409)
          expect((await json(twice)).error.code).toBe('RUN_STATE_CONFLICT')
          const completed = await w.call('POST', `/v1/runs/${retry.runId}/retry`)
          expect(completed.status).toBe(409)
          expect((await json(completed)).error.code).toBe('RUN_STATE_CONFLICT')
          expect((await w.store.listRuns()).runs).toHaveLength(2)
        })
      })

      it('retries from an earlier step with fromStep, running it and everything after it again', async () => {
        const fixable = fixableWorkflow()
        await withWorkflows([fixable.workflow], async (w) => {
          const failed = (await json(await w.call('POST', '/v1/workflows/fixable/runs?wait=true', { input: { amount: 5 } }))).run
          fixable.broken = false
          const res = await w.call('POST', `/v1/runs/${failed.runId}/retry`, { fromStep: 'prepare' })
          expect(res.status).toBe(201)
          await w.settle()
          const done = (await json(await w.call('GET', `/v1/runs/${(await json(res)).run.runId}`))).run
          expect(done).toMatchObject({ status: 'COMPLETED', output: { receipt: 'paid 5', preparedAt: 3 } })
          expect(fixable.calls).toEqual(['prepare', 'charge', 'prepare', 'charge', 'receipt'])
        })
      })

      it('answers 409 for pause, resume, retry and events on a run whose state does not allow them', async () => {
        const { body } = await startAndWait('sequential', { val1: 1, val2: 1, mult: 1 })
        const id = body.run.runId
        for (const [path, code] of [
          [`/v1/runs/${id}/pause`, 'RUN_ALREADY_FINISHED'],
          [`/v1/runs/${id}/resume`, 'RUN_ALREADY_FINISHED'],
          [`/v1/runs/${id}/retry`, 'RUN_STATE_CONFLICT'],
          [`/v1/runs/${id}/events/decision`, 'RUN_ALREADY_FINISHED'],
        ] as const) {
          const res = await h.call('POST', path, path.includes('/events/') ? { payload: {} } : undefined)
          expect(res.status, path).toBe(409)
          expect((await json(res)).error.code, path).toBe(code)
        }
        const live = (await json(await h.call('POST', '/v1/workflows/approval/runs', { input: { amount: 1 } }))).run
        await h.settle()
        const resume = await h.call('POST', `/v1/runs/${live.runId}/resume`)
        expect(resume.status).toBe(409)
        expect((await json(resume)).error.code).toBe('RUN_STATE_CONFLICT')
        await h.engine.cancel(live.runId)
      })
    })
  })
}
