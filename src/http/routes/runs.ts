/** @module /v1/workflows/:workflowId/runs and /v1/runs: start, list, inspect and cancel runs. */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { isGorkflowError } from '../../core/errors'
import { isTerminalRunStatus, type RunRecord } from '../../core/model'
import { DEFAULT_WAIT_BUDGET_MS, type AppOptions } from '../options'
import { ListRunsQuery, RunBody, RunParams, RunSchema, StartRunBody, StartRunQuery, StepParams, StepSchema, WorkflowParams } from '../schemas'
import { requireJsonBody, validationHook } from '../validation'
import { toRunView, toStepView } from '../views'
import { BEARER, errorResponses, json } from './responses'

/** How long past its budget a `?wait=true` start waits for a step that is still running. */
const WAIT_GRACE_MS = 1_000

const startRun = createRoute({
  method: 'post',
  path: '/workflows/{workflowId}/runs',
  tags: ['runs'],
  summary: 'Start a run',
  description:
    'Persists a PENDING run and executes it in the background (202), or within the request with `?wait=true` ' +
    '(200 once terminal, 202 if it had to yield). A repeated `idempotencyKey` returns the existing run (200).',
  security: BEARER,
  middleware: [requireJsonBody] as const,
  request: {
    params: WorkflowParams,
    query: StartRunQuery,
    body: { content: { 'application/json': { schema: StartRunBody } }, required: true },
  },
  responses: {
    200: json(RunBody, 'The run ended (with `?wait=true`), or the run already started with this idempotency key'),
    202: json(RunBody, 'The run was accepted and continues in the background'),
    ...errorResponses(400, 401, 404, 413, 415, 503),
  },
})

const listRuns = createRoute({
  method: 'get',
  path: '/runs',
  tags: ['runs'],
  summary: 'List runs, newest first',
  security: BEARER,
  request: { query: ListRunsQuery },
  responses: {
    200: json(z.object({ runs: z.array(RunSchema), nextCursor: z.string().nullable() }), 'A page of runs'),
    ...errorResponses(400, 401, 503),
  },
})

const getRun = createRoute({
  method: 'get',
  path: '/runs/{runId}',
  tags: ['runs'],
  summary: 'Get a run',
  security: BEARER,
  request: { params: RunParams },
  responses: { 200: json(RunBody, 'The run'), ...errorResponses(400, 401, 404, 503) },
})

const listSteps = createRoute({
  method: 'get',
  path: '/runs/{runId}/steps',
  tags: ['runs'],
  summary: "A run's step executions in execution order",
  security: BEARER,
  request: { params: RunParams },
  responses: {
    200: json(z.object({ steps: z.array(StepSchema) }), 'The step executions'),
    ...errorResponses(400, 401, 404, 503),
  },
})

const getStepOutput = createRoute({
  method: 'get',
  path: '/runs/{runId}/steps/{stepId}/output',
  tags: ['runs'],
  summary: 'The output of a COMPLETED or SKIPPED step',
  security: BEARER,
  request: { params: StepParams },
  responses: {
    200: json(z.object({ output: z.unknown() }), 'The output (any JSON value)'),
    ...errorResponses(400, 401, 404, 503),
  },
})

const getState = createRoute({
  method: 'get',
  path: '/runs/{runId}/state',
  tags: ['runs'],
  summary: "The run's state (key/value pairs written by its steps)",
  security: BEARER,
  request: { params: RunParams },
  responses: {
    200: json(z.object({ state: z.record(z.string(), z.unknown()) }), 'The state'),
    ...errorResponses(400, 401, 404, 503),
  },
})

const cancelRun = createRoute({
  method: 'post',
  path: '/runs/{runId}/cancel',
  tags: ['runs'],
  summary: 'Cancel a run',
  description: 'The run becomes CANCELLED at once; a step running elsewhere stops at its next commit.',
  security: BEARER,
  request: { params: RunParams },
  responses: {
    202: json(RunBody, 'Cancellation recorded'),
    ...errorResponses(400, 401, 404, 409, 503),
  },
})

/** The run routes, mounted under `/v1`. */
export function runsRoutes(options: AppOptions) {
  const { engine, executeInBackground } = options
  return new OpenAPIHono({ defaultHook: validationHook })
    .openapi(startRun, async (c) => {
      const { workflowId } = c.req.valid('param')
      const body = c.req.valid('json')
      const { run, created } = await engine.start(workflowId, body.input, {
        ...(body.resourceId === undefined ? {} : { resourceId: body.resourceId }),
        ...(body.tags === undefined ? {} : { tags: body.tags }),
        ...(body.idempotencyKey === undefined ? {} : { idempotencyKey: body.idempotencyKey }),
      })
      const location = { Location: `/v1/runs/${encodeURIComponent(run.runId)}` }
      if (!created) return c.json({ run: toRunView(run) }, 200, location)
      if (c.req.valid('query').wait === 'true') {
        const latest = await executeWithin(options, run.runId, c)
        if (isTerminalRunStatus(latest.status)) return c.json({ run: toRunView(latest) }, 200, location)
        return c.json({ run: toRunView(latest) }, 202, location)
      }
      executeInBackground(engine.execute(run.runId, budget(options.backgroundBudgetMs)), c)
      return c.json({ run: toRunView(run) }, 202, location)
    })
    .openapi(listRuns, async (c) => {
      const query = c.req.valid('query')
      const page = await engine.listRuns({
        limit: query.limit,
        ...(query.workflowId === undefined ? {} : { workflowId: query.workflowId }),
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.resourceId === undefined ? {} : { resourceId: query.resourceId }),
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      })
      return c.json({ runs: page.runs.map(toRunView), nextCursor: page.nextCursor }, 200)
    })
    .openapi(getRun, async (c) => {
      const run = await engine.getRun(c.req.valid('param').runId)
      return c.json({ run: toRunView(run) }, 200)
    })
    .openapi(listSteps, async (c) => {
      const { runId } = c.req.valid('param')
      // The store lists no steps for an unknown run; reading the run too turns that into a 404.
      const [, steps] = await Promise.all([engine.getRun(runId), engine.listSteps(runId)])
      return c.json({ steps: steps.map(toStepView) }, 200)
    })
    .openapi(getStepOutput, async (c) => {
      const { runId, stepId } = c.req.valid('param')
      const output = await engine.getStepOutput(runId, stepId)
      return c.json({ output }, 200)
    })
    .openapi(getState, async (c) => {
      const { runId } = c.req.valid('param')
      const [, state] = await Promise.all([engine.getRun(runId), engine.getState(runId)])
      return c.json({ state }, 200)
    })
    .openapi(cancelRun, async (c) => {
      const run = await engine.cancel(c.req.valid('param').runId)
      return c.json({ run: toRunView(run) }, 202)
    })
}

function budget(budgetMs: number | undefined): { budgetMs?: number } {
  return budgetMs === undefined ? {} : { budgetMs }
}

/**
 * Drives a run within the request for at most `budgetMs`. The engine yields between steps once the budget is
 * spent, but a long step would hold the response; so the response does not wait past the budget plus a
 * grace period: it answers with the latest record and the execution carries on in the background.
 * Losing the run to a concurrent writer (a cancel, another engine) is not the client's failure either: the
 * run's latest record answers.
 */
async function executeWithin(options: AppOptions, runId: string, c: Context): Promise<RunRecord> {
  const { engine } = options
  const budgetMs = options.waitBudgetMs ?? DEFAULT_WAIT_BUDGET_MS
  const execution = engine.execute(runId, { budgetMs }).catch((err: unknown) => {
    if (isGorkflowError(err, 'LEASE_LOST') || isGorkflowError(err, 'RUN_ALREADY_FINISHED')) return engine.getRun(runId)
    throw err
  })
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), budgetMs + WAIT_GRACE_MS)
  })
  try {
    const finished = await Promise.race([execution, deadline])
    if (finished !== null) return finished
  } finally {
    clearTimeout(timer)
  }
  options.executeInBackground(execution, c)
  return engine.getRun(runId)
}
