/**
 * @module
 * /v1/workflows/:workflowId/runs and /v1/runs: start, list, inspect, cancel, pause, resume and retry runs,
 * and deliver events to them.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { InvalidArgumentError, InvalidCursorError, isGorkflowError, StepExecutionNotFoundError, unlessCode } from '../../core/errors'
import type { Engine } from '../../core/engine'
import { countMapItems, mapNodeIds, parseMapItemId, splitMapItems } from '../../core/map-items'
import { isTerminalRunStatus, STEP_STATUSES, type RunRecord } from '../../core/model'
import { DEFAULT_WAIT_BUDGET_MS, type AppOptions } from '../options'
import {
  EventParams,
  ListRunsQuery,
  MapItemsQuery,
  ChildRunSchema,
  MigrateRunBody,
  RetryRunBody,
  RunBody,
  RunParams,
  RunSchema,
  SendEventBody,
  StartRunBody,
  StartRunQuery,
  StepParams,
  StepSchema,
  WorkflowParams,
} from '../schemas'
import { DEFAULT_STREAM_MAX_MS, DEFAULT_STREAM_POLL_MS, MIN_STREAM_POLL_MS, runStreamResponse, type RunStreamOptions } from '../run-stream'
import { optionalJsonBody, requireJsonBody, validationHook } from '../validation'
import { toRunView, toStepView } from '../views'
import { checkWebhookUrl } from '../webhook-target'
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

const listMapItems = createRoute({
  method: 'get',
  path: '/runs/{runId}/steps/{stepId}/items',
  tags: ['runs'],
  summary: "A map step's item executions in item order, paged",
  description:
    'One record per item that has started (`<stepId>[<index>]`), in item order, with the counts by status. ' +
    'Items not started yet have no record; `counts.notStarted` says how many.',
  security: BEARER,
  request: { params: StepParams, query: MapItemsQuery },
  responses: {
    200: json(
      z.object({
        items: z.array(StepSchema),
        counts: z.object({
          total: z.number().int(),
          notStarted: z.number().int(),
          byStatus: z.partialRecord(z.enum(STEP_STATUSES), z.number().int()),
        }),
        nextCursor: z.string().nullable(),
      }),
      'A page of the items',
    ),
    ...errorResponses(400, 401, 404, 503),
  },
})

const listChildren = createRoute({
  method: 'get',
  path: '/runs/{runId}/children',
  tags: ['runs'],
  summary: 'The child runs a run started (one per child-workflow step that has started)',
  security: BEARER,
  request: { params: RunParams },
  responses: {
    200: json(z.object({ children: z.array(ChildRunSchema) }), 'The child runs, in step order'),
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

const streamRun = createRoute({
  method: 'get',
  path: '/runs/{runId}/stream',
  tags: ['runs'],
  summary: "Server-Sent Events of the run's step and run events",
  description:
    'Events `run.started`, `run.paused`, `run.resumed`, `run.finished`, `step.started`, `step.waiting`, ' +
    '`step.retrying`, `step.completed`, `step.failed`, `step.skipped`, `step.cancelled`, read from the store ' +
    'once per poll interval. Each carries an id: reconnecting with `Last-Event-ID` resumes after it, without ' +
    'gaps or duplicates. The stream ends after `run.finished`, or after a bounded time with a `retry:` hint; ' +
    'a reconnect after `run.finished` gets 204. 400 INVALID_ARGUMENT for a `Last-Event-ID` this stream never sent.',
  security: BEARER,
  request: { params: RunParams },
  responses: {
    200: { content: { 'text/event-stream': { schema: z.string() } }, description: 'The event stream' },
    204: { description: 'The run had already finished when the client last heard from it' },
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

const sendEvent = createRoute({
  method: 'post',
  path: '/runs/{runId}/events/{name}',
  tags: ['runs'],
  summary: 'Deliver an event to a run',
  description:
    "The payload is validated against the schema of the workflow's `waitForEvent(name)` and stored; a run waiting " +
    'for it continues at once (in the background), a run that has not reached the wait yet consumes it there. ' +
    'One event per name and run: a second one is 409 EVENT_ALREADY_DELIVERED. A payload that fails the schema ' +
    'is 400 VALIDATION_ERROR and nothing is stored; a name the workflow does not wait for is 400 INVALID_ARGUMENT.',
  security: BEARER,
  middleware: [requireJsonBody] as const,
  request: {
    params: EventParams,
    body: { content: { 'application/json': { schema: SendEventBody } }, required: true },
  },
  responses: {
    202: json(RunBody, 'The event was stored; the run continues in the background'),
    ...errorResponses(400, 401, 404, 409, 413, 415, 503),
  },
})

const pauseRun = createRoute({
  method: 'post',
  path: '/runs/{runId}/pause',
  tags: ['runs'],
  summary: 'Pause a run at its next step boundary',
  description:
    'The run is PAUSED at once: a step that is running finishes and is recorded, nothing new starts, and the ' +
    'sweeper leaves the run alone until it is resumed. Sleeps and event waits keep their deadlines. ' +
    '409 RUN_STATE_CONFLICT if it is already paused, 409 RUN_ALREADY_FINISHED if it is terminal.',
  security: BEARER,
  request: { params: RunParams },
  responses: {
    202: json(RunBody, 'The pause was recorded'),
    ...errorResponses(400, 401, 404, 409, 503),
  },
})

const resumeRun = createRoute({
  method: 'post',
  path: '/runs/{runId}/resume',
  tags: ['runs'],
  summary: 'Resume a paused run',
  description:
    'The run is RUNNING again and continues in the background (or, when it waits for a sleep or an event, once ' +
    'that is due). 409 RUN_STATE_CONFLICT if it is not PAUSED, 409 RUN_ALREADY_FINISHED if it is terminal.',
  security: BEARER,
  request: { params: RunParams },
  responses: {
    202: json(RunBody, 'The run is RUNNING again'),
    ...errorResponses(400, 401, 404, 409, 503),
  },
})

const retryRun = createRoute({
  method: 'post',
  path: '/runs/{runId}/retry',
  tags: ['runs'],
  summary: 'Retry a FAILED run as a new run',
  description:
    'Creates a new run of the same workflow and input, linked both ways (`retryOf`, `retriedBy`), which reuses ' +
    'the outputs of the steps that completed and executes the failed step and what follows (or, with ' +
    '`fromStep`, that step and everything downstream of it). The body may be left out. 409 RUN_STATE_CONFLICT ' +
    'when the run is not FAILED or was already retried; 400 INVALID_ARGUMENT for an unknown `fromStep`.',
  security: BEARER,
  middleware: [optionalJsonBody] as const,
  request: {
    params: RunParams,
    body: { content: { 'application/json': { schema: RetryRunBody } }, required: false },
  },
  responses: {
    201: json(RunBody, 'The new run; it executes in the background'),
    ...errorResponses(400, 401, 404, 409, 413, 415, 503),
  },
})

const migrateRun = createRoute({
  method: 'post',
  path: '/runs/{runId}/migrate',
  tags: ['runs'],
  summary: 'Move a run to another registered version of its workflow',
  description:
    'For a run pinned to a version no longer deployed (or one an operator wants off its version). Allowed when ' +
    'every step that completed exists in the target version with the same id and kind, schemas that accept what ' +
    'was recorded, and its predecessors there completed too. A PENDING, RUNNING or PAUSED run is cancelled; a new ' +
    'run on the target version, linked both ways (`retryOf`, `retriedBy`), reuses the completed steps\' outputs, ' +
    "the run's state and delivered events, and continues in the background. 409 MIGRATION_REFUSED lists every " +
    'mismatch in `details.mismatches` (nothing changes); 404 WORKFLOW_VERSION_NOT_FOUND for a version not ' +
    'registered here; 409 RUN_ALREADY_FINISHED for a COMPLETED run, RUN_STATE_CONFLICT when already retried or ' +
    'migrated; 400 INVALID_ARGUMENT when the run is already on that version.',
  security: BEARER,
  middleware: [requireJsonBody] as const,
  request: {
    params: RunParams,
    body: { content: { 'application/json': { schema: MigrateRunBody } }, required: true },
  },
  responses: {
    201: json(RunBody, 'The new run on the target version; it executes in the background'),
    ...errorResponses(400, 401, 404, 409, 413, 415, 503),
  },
})

/** The run routes, mounted under `/v1`. */
export function runsRoutes(options: AppOptions) {
  const { engine, executeInBackground } = options
  return new OpenAPIHono({ defaultHook: validationHook })
    .openapi(startRun, async (c) => {
      const { workflowId } = c.req.valid('param')
      const body = c.req.valid('json')
      const wait = c.req.valid('query').wait === 'true'
      const startOptions = {
        ...(body.resourceId === undefined ? {} : { resourceId: body.resourceId }),
        ...(body.tags === undefined ? {} : { tags: body.tags }),
        ...(body.idempotencyKey === undefined ? {} : { idempotencyKey: body.idempotencyKey }),
        ...(body.version === undefined ? {} : { version: body.version }),
        // The caller's trace becomes the run's parent (README "Traces"); a malformed header starts a new trace.
        traceparent: c.req.header('traceparent') ?? null,
        ...webhookOf(options, workflowId, body),
      }
      if (!wait && options.scheduleRun) {
        const { run, created } = await engine.start(workflowId, body.input, { ...startOptions, leased: false })
        if (created) executeInBackground(options.scheduleRun(run.runId), c)
        const location = { Location: `/v1/runs/${encodeURIComponent(run.runId)}` }
        return c.json({ run: toRunView(run) }, created ? 202 : 200, location)
      }
      // begin: the run is stored with its first steps started, one store call fewer than start + execute.
      const { run, created, done } = await engine.begin(workflowId, body.input, {
        ...startOptions,
        ...budget(wait ? (options.waitBudgetMs ?? DEFAULT_WAIT_BUDGET_MS) : options.backgroundBudgetMs),
      })
      const location = { Location: `/v1/runs/${encodeURIComponent(run.runId)}` }
      if (!created) return c.json({ run: toRunView(run) }, 200, location)
      if (wait) {
        const latest = await executeWithin(options, run.runId, done, c)
        if (isTerminalRunStatus(latest.status)) return c.json({ run: toRunView(latest) }, 200, location)
        return c.json({ run: toRunView(latest) }, 202, location)
      }
      executeInBackground(done, c)
      return c.json({ run: toRunView(run) }, 202, location)
    })
    .openapi(listRuns, async (c) => {
      const query = c.req.valid('query')
      const page = await engine.listRuns({
        limit: query.limit,
        ...(query.workflowId === undefined ? {} : { workflowId: query.workflowId }),
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.resourceId === undefined ? {} : { resourceId: query.resourceId }),
        ...(query.tag === undefined ? {} : { tags: query.tag }),
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
      const [run, steps] = await Promise.all([engine.getRun(runId), engine.listSteps(runId)])
      // A map's items are counted on its node, not listed: a 10,000-item map is one entry (README "Map over an array").
      const { nodes, items } = splitMapItems(steps, mapNodeIds(engine.definitionOf(run)))
      const views = nodes.map((step) => {
        const mapItems = items.get(step.stepId)
        return toStepView(step, mapItems === undefined && !isMapNode(engine, run, step.stepId) ? undefined : countMapItems(step, mapItems ?? []))
      })
      return c.json({ steps: views }, 200)
    })
    .openapi(listMapItems, async (c) => {
      const { runId, stepId } = c.req.valid('param')
      const { limit, cursor } = c.req.valid('query')
      const from = cursor === undefined ? 0 : parseItemCursor(cursor)
      const [run, steps] = await Promise.all([engine.getRun(runId), engine.listSteps(runId)])
      const { nodes, items } = splitMapItems(steps, mapNodeIds(engine.definitionOf(run)))
      const mapRecord = nodes.find((step) => step.stepId === stepId)
      if (mapRecord === undefined) throw new StepExecutionNotFoundError(runId, stepId)
      if (!items.has(stepId) && !isMapNode(engine, run, stepId)) {
        throw new InvalidArgumentError(`step ${stepId} of run ${runId} is not a map`)
      }
      const all = items.get(stepId) ?? []
      const start = all.findIndex((item) => (parseMapItemId(item.stepId)?.index ?? 0) >= from)
      const page = start < 0 ? [] : all.slice(start, start + limit)
      const next = start < 0 ? undefined : all[start + limit]
      return c.json(
        {
          items: page.map((item) => toStepView(item)),
          counts: countMapItems(mapRecord, all),
          nextCursor: next === undefined ? null : String(parseMapItemId(next.stepId)?.index ?? 0),
        },
        200,
      )
    })
    .openapi(listChildren, async (c) => {
      const children = await engine.listChildren(c.req.valid('param').runId)
      return c.json({ children }, 200)
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
    .openapi(streamRun, async (c) => {
      const response = await runStreamResponse(c, engine, c.req.valid('param').runId, streamOptions(options))
      // The OpenAPI types know JSON bodies only; the document above declares the event stream.
      return response as never
    })
    .openapi(cancelRun, async (c) => {
      const run = await engine.cancel(c.req.valid('param').runId)
      return c.json({ run: toRunView(run) }, 202)
    })
    .openapi(sendEvent, async (c) => {
      const { runId, name } = c.req.valid('param')
      const run = await engine.sendEvent(runId, name, c.req.valid('json').payload)
      continueInBackground(options, runId, c)
      return c.json({ run: toRunView(run) }, 202)
    })
    .openapi(pauseRun, async (c) => {
      const run = await engine.pause(c.req.valid('param').runId)
      return c.json({ run: toRunView(run) }, 202)
    })
    .openapi(resumeRun, async (c) => {
      const { runId } = c.req.valid('param')
      const run = await engine.resume(runId)
      continueInBackground(options, runId, c)
      return c.json({ run: toRunView(run) }, 202)
    })
    .openapi(retryRun, async (c) => {
      const { runId } = c.req.valid('param')
      const { fromStep } = c.req.valid('json')
      const run = await engine.retry(runId, {
        ...(fromStep === undefined ? {} : { fromStep }),
        ...(options.scheduleRun ? { leased: false } : {}),
      })
      continueInBackground(options, run.runId, c)
      return c.json({ run: toRunView(run) }, 201, { Location: `/v1/runs/${encodeURIComponent(run.runId)}` })
    })
    .openapi(migrateRun, async (c) => {
      const { runId } = c.req.valid('param')
      const run = await engine.migrate(runId, { version: c.req.valid('json').version })
      continueInBackground(options, run.runId, c)
      return c.json({ run: toRunView(run) }, 201, { Location: `/v1/runs/${encodeURIComponent(run.runId)}` })
    })
}

/**
 * Continues a run after the response, or arms it where a scheduler executes runs. Losing it to a concurrent writer (a cancel, another engine that holds
 * it) is that writer's business, not a failure to report; anything else reaches the app's error log.
 */
function continueInBackground(options: AppOptions, runId: string, c: Context): void {
  if (options.scheduleRun) return options.executeInBackground(options.scheduleRun(runId), c)
  const execution = options.engine
    .execute(runId, budget(options.backgroundBudgetMs))
    .catch(unlessCode(['LEASE_LOST', 'RUN_ALREADY_FINISHED'], null))
  options.executeInBackground(execution, c)
}

/**
 * The webhook of a start: its `callbackUrl`, or else its workflow's default, checked by the SSRF guard before anything
 * is stored. @throws InvalidArgumentError
 */
function webhookOf(options: AppOptions, workflowId: string, body: { callbackUrl?: string | undefined; version?: string | undefined }) {
  const url = body.callbackUrl ?? options.engine.getWorkflow(workflowId, body.version).webhook?.url
  if (url === undefined) return {}
  if (!options.webhooks) throw new InvalidArgumentError('callbackUrl: this server has no WEBHOOK_SECRET to sign webhooks with')
  return { webhookUrl: checkWebhookUrl(url, options.webhooks).href }
}

/** The stream's timing, with the poll interval held at its floor whatever the configuration says. */
export function streamOptions(options: Pick<AppOptions, 'streamPollMs' | 'streamMaxConnectionMs'>): RunStreamOptions {
  return {
    pollMs: Math.max(MIN_STREAM_POLL_MS, options.streamPollMs ?? DEFAULT_STREAM_POLL_MS),
    maxConnectionMs: options.streamMaxConnectionMs ?? DEFAULT_STREAM_MAX_MS,
  }
}

function budget(budgetMs: number | undefined): { budgetMs?: number } {
  return budgetMs === undefined ? {} : { budgetMs }
}

/**
 * Waits for an execution begun with the wait budget (`done`), within the request. The engine yields between
 * steps once the budget is spent, but a long step would hold the response; so the response does not wait past
 * the budget plus a grace period: it answers with the latest record and the execution carries on in the
 * background. Losing the run to a concurrent writer (a cancel, another engine) is not the client's failure
 * either: the run's latest record answers.
 */
async function executeWithin(options: AppOptions, runId: string, done: Promise<RunRecord>, c: Context): Promise<RunRecord> {
  const { engine } = options
  const budgetMs = options.waitBudgetMs ?? DEFAULT_WAIT_BUDGET_MS
  const execution = done.catch((err: unknown) => {
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
  // Where runs have a scheduler, its alarm watches the lease: should this invocation be cut off, it resumes the run.
  if (options.scheduleRun) options.executeInBackground(options.scheduleRun(runId), c)
  return engine.getRun(runId)
}

/** Whether `stepId` is a map node of the run's definition. */
function isMapNode(engine: Engine, run: RunRecord, stepId: string): boolean {
  return engine.definitionOf(run)?.steps.some((node) => node.id === stepId && node.map !== null) ?? false
}

/** A `nextCursor` of the items listing: the index of the page's first item. */
function parseItemCursor(cursor: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(cursor)) throw new InvalidCursorError()
  return Number(cursor)
}
