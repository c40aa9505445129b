/**
 * The routes that act on a run — events, pause, resume, retry — table-driven: every one refuses a request
 * without a valid token, each refusal has its documented status and code and changes nothing in the store,
 * and the store calls each operation costs are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/core/engine'
import { createApp } from '../../src/http/app'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { exampleWorkflows } from '../../src/workflows'
import { countingStore } from '../support/counting-store'
import { fixableWorkflow } from './control-workflows'
import { type ApiHarness, createHarness, json, TOKEN } from './harness'

const MIB = 1024 * 1024

/** Runs in every state the routes distinguish, created once; no case below may change any of them. */
interface Fixtures {
  /** approval, RUNNING, waiting for event `decision` */
  waiting: string
  /** approval, PAUSED while waiting */
  paused: string
  /** sequential, COMPLETED */
  completed: string
  /** fixable, FAILED at `charge` */
  failed: string
}

let h: ApiHarness
let f: Fixtures

beforeAll(async () => {
  h = createHarness(new MemoryStore(), { engine: { workflows: [...exampleWorkflows, fixableWorkflow().workflow] } })
  const start = async (workflowId: string, input: unknown) =>
    (await json(await h.call('POST', `/v1/workflows/${workflowId}/runs?wait=true`, { input }))).run.runId as string
  f = {
    waiting: await start('approval', { amount: 1 }),
    paused: await start('approval', { amount: 2 }),
    completed: await start('sequential', { val1: 1, val2: 2, mult: 3 }),
    failed: await start('fixable', { amount: 3 }),
  }
  await h.engine.pause(f.paused)
  await h.settle()
})
afterAll(async () => {
  await h.close()
})

/** Everything the routes could change: every run record, and the events delivered to the approval runs. */
async function storeSnapshot() {
  const { runs } = await h.store.listRuns({ limit: 100 })
  const events = await Promise.all(
    [f.waiting, f.paused].map((id) => h.store.loadEvent(id, 'decision').then((e) => e, () => null)),
  )
  const steps = await Promise.all(runs.map((r) => h.store.listStepExecutions(r.runId)))
  return { runs, events, steps }
}

interface Case {
  readonly name: string
  readonly path: (f: Fixtures) => string
  /** A string is sent as is with `Content-Type: application/json`; undefined sends no body. */
  readonly body?: unknown
  readonly headers?: Record<string, string>
  readonly status: number
  readonly code: string
}

const events = (id: keyof Fixtures, name = 'decision') => (x: Fixtures) => `/v1/runs/${x[id]}/events/${name}`
const action = (id: keyof Fixtures | 'unknown', verb: 'pause' | 'resume' | 'retry') => (x: Fixtures) =>
  `/v1/runs/${id === 'unknown' ? '00000000-0000-4000-8000-000000000000' : x[id]}/${verb}`
const DECISION = { payload: { approved: true, by: 'ada' } }

const REFUSALS: Case[] = [
  // POST /v1/runs/:runId/events/:name
  { name: 'an event for an unknown run', path: (x) => `/v1/runs/nope-${x.waiting}/events/decision`, body: DECISION, status: 404, code: 'RUN_NOT_FOUND' },
  { name: 'an event for a COMPLETED run', path: events('completed'), body: DECISION, status: 409, code: 'RUN_ALREADY_FINISHED' },
  { name: 'an event for a FAILED run', path: events('failed'), body: DECISION, status: 409, code: 'RUN_ALREADY_FINISHED' },
  { name: 'an event the workflow does not wait for', path: events('waiting', 'approved'), body: DECISION, status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'a payload failing the schema', path: events('waiting'), body: { payload: { approved: 'yes', by: 'ada' } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a payload missing a field', path: events('waiting'), body: { payload: { approved: true } }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a null payload', path: events('waiting'), body: { payload: null }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a payload failing the schema while paused', path: events('paused'), body: { payload: [] }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a body without payload', path: events('waiting'), body: {}, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'the payload without its wrapper', path: events('waiting'), body: DECISION.payload, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an unknown body field', path: events('waiting'), body: { ...DECISION, name: 'decision' }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a JSON array body', path: events('waiting'), body: [DECISION], status: 400, code: 'VALIDATION_ERROR' },
  { name: 'malformed JSON', path: events('waiting'), body: '{"payload": {', status: 400, code: 'INVALID_JSON' },
  { name: 'an empty body', path: events('waiting'), body: '', status: 400, code: 'INVALID_JSON' },
  { name: 'no body at all', path: events('waiting'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a text/plain body', path: events('waiting'), body: JSON.stringify(DECISION), headers: { 'Content-Type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a payload over 1 MiB', path: events('waiting'), body: { payload: { approved: true, by: 'x'.repeat(MIB) } }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'an event name with a space', path: events('waiting', 'my%20event'), body: DECISION, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an event name over 100 characters', path: events('waiting', 'e'.repeat(101)), body: DECISION, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an event name with a non-ASCII letter', path: events('waiting', 'd%C3%A9cision'), body: DECISION, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an event name with SQL in it', path: events('waiting', encodeURIComponent("x'; DROP TABLE workflow_events; --")), body: DECISION, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an event name with an encoded slash', path: events('waiting', 'a%2Fb'), body: DECISION, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'no event name', path: (x) => `/v1/runs/${x.waiting}/events/`, body: DECISION, status: 404, code: 'NOT_FOUND' },
  { name: 'GET on an event', path: events('waiting'), status: 405, code: 'METHOD_NOT_ALLOWED' },

  // POST /v1/runs/:runId/pause
  { name: 'pausing an unknown run', path: action('unknown', 'pause'), status: 404, code: 'RUN_NOT_FOUND' },
  { name: 'pausing a PAUSED run', path: action('paused', 'pause'), status: 409, code: 'RUN_STATE_CONFLICT' },
  { name: 'pausing a COMPLETED run', path: action('completed', 'pause'), status: 409, code: 'RUN_ALREADY_FINISHED' },
  { name: 'pausing a FAILED run', path: action('failed', 'pause'), status: 409, code: 'RUN_ALREADY_FINISHED' },
  { name: 'a run id over 200 characters on pause', path: () => `/v1/runs/${'r'.repeat(201)}/pause`, status: 400, code: 'VALIDATION_ERROR' },

  // POST /v1/runs/:runId/resume
  { name: 'resuming an unknown run', path: action('unknown', 'resume'), status: 404, code: 'RUN_NOT_FOUND' },
  { name: 'resuming a RUNNING run', path: action('waiting', 'resume'), status: 409, code: 'RUN_STATE_CONFLICT' },
  { name: 'resuming a COMPLETED run', path: action('completed', 'resume'), status: 409, code: 'RUN_ALREADY_FINISHED' },

  // POST /v1/runs/:runId/retry
  { name: 'retrying an unknown run', path: action('unknown', 'retry'), status: 404, code: 'RUN_NOT_FOUND' },
  { name: 'retrying a COMPLETED run', path: action('completed', 'retry'), status: 409, code: 'RUN_STATE_CONFLICT' },
  { name: 'retrying a RUNNING run', path: action('waiting', 'retry'), status: 409, code: 'RUN_STATE_CONFLICT' },
  { name: 'retrying a PAUSED run', path: action('paused', 'retry'), status: 409, code: 'RUN_STATE_CONFLICT' },
  { name: 'retrying from an unknown step', path: action('failed', 'retry'), body: { fromStep: 'nope' }, status: 400, code: 'INVALID_ARGUMENT' },
  { name: 'a numeric fromStep', path: action('failed', 'retry'), body: { fromStep: 1 }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an empty fromStep', path: action('failed', 'retry'), body: { fromStep: '' }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a fromStep over 200 characters', path: action('failed', 'retry'), body: { fromStep: 's'.repeat(201) }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'an unknown retry field', path: action('failed', 'retry'), body: { from: 'prepare' }, status: 400, code: 'VALIDATION_ERROR' },
  { name: 'a JSON string retry body', path: action('failed', 'retry'), body: '"prepare"', status: 400, code: 'VALIDATION_ERROR' },
  { name: 'malformed JSON on retry', path: action('failed', 'retry'), body: '{"fromStep":', status: 400, code: 'INVALID_JSON' },
  { name: 'a text/plain retry body', path: action('failed', 'retry'), body: '{}', headers: { 'Content-Type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a retry body without a Content-Type', path: action('failed', 'retry'), body: '{}', headers: { 'Content-Type': '' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
]

function send(c: Case, authorization: string | null = `Bearer ${TOKEN}`, method = c.name.startsWith('GET') ? 'GET' : 'POST') {
  const headers: Record<string, string> = {}
  if (authorization !== null) headers.Authorization = authorization
  let body: string | undefined
  if (c.body !== undefined) {
    body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body)
    headers['Content-Type'] = 'application/json'
  }
  for (const [name, value] of Object.entries(c.headers ?? {})) {
    if (value === '') delete headers[name]
    else headers[name] = value
  }
  // A Request, not app.request's init: an init with a string body and no Content-Type gets text/plain added.
  const request = new Request(`http://localhost${c.path(f)}`, { method, headers, ...(body === undefined ? {} : { body }) })
  if (c.headers?.['Content-Type'] === '') request.headers.delete('Content-Type')
  return Promise.resolve(h.app.request(request))
}

describe('events, pause, resume and retry routes', () => {
  it.each(REFUSALS)('answer $status $code for $name, and change nothing', async (c) => {
    const before = await storeSnapshot()
    const res = await send(c)
    const text = await res.text()
    expect(res.status, text).toBe(c.status)
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
    const body = JSON.parse(text)
    expect(body.error.code).toBe(c.code)
    expect(typeof body.error.message).toBe('string')
    if (c.code === 'VALIDATION_ERROR') expect(body.error.details.issues.length).toBeGreaterThan(0)
    await h.settle()
    expect(await storeSnapshot()).toEqual(before)
  })

  const ROUTES: Case[] = [
    { name: 'POST …/events/:name', path: events('waiting'), body: DECISION, status: 401, code: 'UNAUTHORIZED' },
    { name: 'POST …/pause', path: action('waiting', 'pause'), status: 401, code: 'UNAUTHORIZED' },
    { name: 'POST …/resume', path: action('paused', 'resume'), status: 401, code: 'UNAUTHORIZED' },
    { name: 'POST …/retry', path: action('failed', 'retry'), body: {}, status: 401, code: 'UNAUTHORIZED' },
  ]
  describe.each([
    ['no Authorization header', null],
    ['a wrong token', 'Bearer not-the-token'],
    ['another scheme', `Basic ${TOKEN}`],
  ] as const)('with %s', (_label, authorization) => {
    it.each(ROUTES)('$name answers 401 and changes nothing', async (c) => {
      const before = await storeSnapshot()
      const res = await send(c, authorization)
      expect(res.status).toBe(401)
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/)
      expect(((await res.json()) as any).error.code).toBe('UNAUTHORIZED')
      await h.settle()
      expect(await storeSnapshot()).toEqual(before)
    })
  })

  it('accepts a retry with no body at all', async () => {
    const fixable = fixableWorkflow()
    const w = createHarness(new MemoryStore(), { engine: { workflows: [fixable.workflow] } })
    try {
      const failed = (await json(await w.call('POST', '/v1/workflows/fixable/runs?wait=true', { input: { amount: 1 } }))).run
      const res = await w.app.request(`/v1/runs/${failed.runId}/retry`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } })
      expect(res.status).toBe(201)
      expect((await json(res)).run.retryOf).toBe(failed.runId)
    } finally {
      await w.close()
    }
  })

  it('lists PAUSED runs with ?status=PAUSED', async () => {
    const res = await h.call('GET', '/v1/runs?status=PAUSED')
    expect(res.status).toBe(200)
    expect((await json(res)).runs.map((r: { runId: string }) => r.runId)).toEqual([f.paused])
  })
})

describe('OpenAPI document', () => {
  it('documents the new routes with their statuses, and the new run and step fields', async () => {
    const doc: any = await json(await h.call('GET', '/v1/openapi.json'))
    const statuses = (path: string) => Object.keys(doc.paths[path]?.post?.responses ?? {}).sort()
    expect(statuses('/v1/runs/{runId}/events/{name}')).toEqual(['202', '400', '401', '404', '409', '413', '415', '503'])
    expect(statuses('/v1/runs/{runId}/pause')).toEqual(['202', '400', '401', '404', '409', '503'])
    expect(statuses('/v1/runs/{runId}/resume')).toEqual(['202', '400', '401', '404', '409', '503'])
    expect(statuses('/v1/runs/{runId}/retry')).toEqual(['201', '400', '401', '404', '409', '413', '415', '503'])
    const eventParams = doc.paths['/v1/runs/{runId}/events/{name}'].post.parameters
    expect(eventParams.find((p: { name: string }) => p.name === 'name').schema.pattern).toBe('^[A-Za-z0-9_.:-]{1,100}$')
    expect(doc.paths['/v1/runs/{runId}/retry'].post.requestBody.required).toBe(false)
    expect(doc.paths['/v1/runs/{runId}/events/{name}'].post.security).toEqual([{ bearerAuth: [] }])
    const { Run, StepExecution, WaitingFor } = doc.components.schemas
    expect(Object.keys(Run.properties)).toEqual(expect.arrayContaining(['waitingFor', 'retryOf', 'retriedBy', 'parentRunId', 'concurrencyLimit']))
    expect(Run.properties.status.enum).toContain('PAUSED')
    expect(StepExecution.properties).toHaveProperty('wakeAt')
    // sleep, event, child, version
    expect(WaitingFor.oneOf ?? WaitingFor.anyOf).toHaveLength(4)
    const listStatus = doc.paths['/v1/runs'].get.parameters.find((p: { name: string }) => p.name === 'status')
    expect(listStatus.schema.enum).toContain('PAUSED')
  })
})

/**
 * Store calls per operation as the API makes them. Background executions are held back until the response
 * is in, so the request's calls and the continuation's are counted apart.
 */
describe('store round trips', () => {
  function countedApp() {
    const counting = countingStore(new MemoryStore())
    const fixable = fixableWorkflow()
    const engine = new Engine({ store: counting.store, workflows: [...exampleWorkflows, fixable.workflow] })
    const held: (() => void)[] = []
    // The routes call engine.execute for their background work; hold each call until the test lets it go.
    const holding = new Proxy(engine, {
      get(target, prop) {
        if (prop === 'execute') {
          return (...args: Parameters<Engine['execute']>) =>
            new Promise<void>((go) => held.push(go)).then(() => target.execute(...args))
        }
        const value: unknown = Reflect.get(target, prop)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const background: Promise<unknown>[] = []
    const app = createApp({ engine: holding, apiTokens: [TOKEN], executeInBackground: (task) => void background.push(task) })
    const call = (path: string, body?: unknown) =>
      Promise.resolve(
        app.request(path, {
          method: 'POST',
          headers: { Authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      )
    /** Calls made by the request, then by the background work it started. */
    async function measure(path: string, body?: unknown) {
      counting.reset()
      const res = await call(path, body)
      const request = { ...counting.calls }
      counting.reset()
      for (const go of held.splice(0)) go()
      while (background.length > 0) await Promise.allSettled(background.splice(0))
      return { res, request, background: { ...counting.calls } }
    }
    return { engine, fixable, measure, close: () => engine.shutdown() }
  }

  it('costs 2 calls to deliver an event, 1 to pause, 1 to resume and 4 to retry', async () => {
    const c = countedApp()
    try {
      const waiting = await c.engine.run('approval', { amount: 9 })
      const paused = await c.measure(`/v1/runs/${waiting.runId}/pause`)
      expect(paused.res.status).toBe(202)
      expect(paused.request).toEqual({ transitionRun: 1 })
      expect(paused.background).toEqual({})

      const resumed = await c.measure(`/v1/runs/${waiting.runId}/resume`)
      expect(resumed.res.status).toBe(202)
      expect(resumed.request).toEqual({ transitionRun: 1 })
      // Still waiting for its event: the continuation's claim is refused (not due) and it reads the run once.
      expect(resumed.background).toEqual({ claimRun: 1, getRun: 1 })

      const sent = await c.measure(`/v1/runs/${waiting.runId}/events/decision`, { payload: { approved: true, by: 'ada' } })
      expect(sent.res.status).toBe(202)
      expect(sent.request).toEqual({ getRun: 1, deliverEvent: 1 })
      // The continuation claims the woken run, reads the event, commits the wait's step and then the finish.
      expect(sent.background).toEqual({ claimRun: 1, loadEvent: 1, commit: 2 })
      expect((await c.engine.getRun(waiting.runId)).status).toBe('COMPLETED')

      const failed = await c.engine.run('fixable', { amount: 1 })
      c.fixable.broken = false
      const retried = await c.measure(`/v1/runs/${failed.runId}/retry`)
      expect(retried.res.status).toBe(201)
      expect(retried.request).toEqual({ getRun: 1, listStepExecutions: 1, linkRetry: 1, createRun: 1 })
      // The new run is created leased to this engine: no claim; `prepare` is reused, not re-run or re-read.
      expect(retried.background).toEqual({ commit: 3 })
      const retryId = ((await retried.res.json()) as any).run.runId
      expect((await c.engine.getRun(retryId)).status).toBe('COMPLETED')

      console.info(
        `store calls — event: ${JSON.stringify(sent.request)} + continuation ${JSON.stringify(sent.background)}; ` +
          `pause: ${JSON.stringify(paused.request)}; resume: ${JSON.stringify(resumed.request)} + continuation ` +
          `${JSON.stringify(resumed.background)}; retry: ${JSON.stringify(retried.request)} + execution ` +
          `${JSON.stringify(retried.background)}`,
      )
    } finally {
      await c.close()
    }
  })
})
