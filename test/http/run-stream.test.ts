/**
 * `GET /v1/runs/:runId/stream` over a LibSQL file shared by two engines: the API's engine streams what the other
 * engine, which executes the run, commits. Events arrive in order and the stream ends at the terminal status;
 * `Last-Event-ID` resumes with exactly the events after it; the store reads per stream are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { systemClock, type Clock } from '../../src/core/clock'
import { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { silentLogger } from '../../src/core/logger'
import { createLibSQLStore } from '../../src/store/libsql/create-libsql-store'
import { exampleWorkflows } from '../../src/workflows'
import { countingStore, type CountingStore } from '../support/counting-store'
import { tempDir, type TempDir } from '../support/libsql-harness'
import { type ApiHarness, createHarness, TOKEN } from './harness'

interface SseEvent {
  readonly event: string
  readonly id: string
  readonly data: any
}

/** Reads a whole event stream (it ends by itself) into its events and its `retry:` hints. */
async function readStream(res: Response): Promise<{ events: SseEvent[]; retry: number[] }> {
  const text = await res.text()
  const events: SseEvent[] = []
  const retry: number[] = []
  for (const block of text.split('\n\n')) {
    const fields: Record<string, string> = {}
    for (const line of block.split('\n')) {
      const at = line.indexOf(':')
      if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trimStart()
    }
    if (fields.retry !== undefined) retry.push(Number(fields.retry))
    if (fields.event !== undefined) events.push({ event: fields.event, id: fields.id ?? '', data: JSON.parse(fields.data ?? 'null') })
  }
  return { events, retry }
}

const attempt = defineStep({
  id: 'attempt',
  input: z.object({ failTimes: z.number() }),
  output: z.object({ attempts: z.number() }),
  maxRetries: 2,
  retryDelayMs: 60_000,
  handler: (ctx, { failTimes }) => {
    if (ctx.attempt < failTimes) throw new Error(`attempt ${ctx.attempt} failed on purpose`)
    return { attempts: ctx.attempt + 1 }
  },
})
const WORKFLOWS = [...exampleWorkflows, workflow({ id: 'slow-retry', input: z.object({ failTimes: z.number() }) }).then(attempt).build()]

/** The system clock moved `ms` ahead, as another process's would be once the backoff has passed. */
function shiftedClock(ms: number): Clock {
  return { ...systemClock, now: () => systemClock.now() + ms }
}

const stream = (h: ApiHarness, runId: string, headers: Record<string, string> = {}) =>
  Promise.resolve(h.app.request(`/v1/runs/${runId}/stream`, { headers: { Authorization: `Bearer ${TOKEN}`, ...headers } }))

let dir: TempDir
let counted: CountingStore
let h: ApiHarness
let executor: Engine

beforeAll(async () => {
  dir = tempDir('gorkflow-stream-')
  const url = `file:${dir.file('gorkflow.db')}`
  counted = countingStore(await createLibSQLStore({ url }))
  h = createHarness(counted.store, { streamPollMs: 200, streamMaxConnectionMs: 1_000, engine: { logger: silentLogger, workflows: WORKFLOWS } })
  executor = new Engine({ store: await createLibSQLStore({ url }), workflows: WORKFLOWS, logger: silentLogger })
})
afterAll(async () => {
  await executor.shutdown()
  await executor.store.close()
  await h.close()
  dir.dispose()
})

const SEQUENTIAL = [
  ['run.started', ''],
  ['step.started', 'add'],
  ['step.completed', 'add'],
  ['step.started', 'multiply'],
  ['step.completed', 'multiply'],
  ['step.started', 'format'],
  ['step.completed', 'format'],
  ['run.finished', ''],
]

describe('GET /v1/runs/:runId/stream', () => {
  it('streams a run executing in another engine, in order, and ends at its terminal status', async () => {
    const { run } = await executor.start('sequential', { val1: 1, val2: 2, mult: 3 })
    const res = await stream(h, run.runId)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^text\/event-stream/)
    const done = executor.execute(run.runId)
    const { events, retry } = await readStream(res)
    await done
    expect(retry).toEqual([200])
    expect(events.map((e) => [e.event, e.data.stepId ?? ''])).toEqual(SEQUENTIAL)
    expect(events.at(-1)?.data).toMatchObject({ runId: run.runId, status: 'COMPLETED', progress: 1 })
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length)
  })

  it('resumes after Last-Event-ID with exactly the events after it, and answers 204 once the client saw the end', async () => {
    const { run } = await executor.start('sequential', { val1: 2, val2: 2, mult: 2 })
    await executor.execute(run.runId)
    const all = (await readStream(await stream(h, run.runId))).events
    expect(all.map((e) => [e.event, e.data.stepId ?? ''])).toEqual(SEQUENTIAL)
    for (const cut of [0, 3, 6]) {
      const rest = (await readStream(await stream(h, run.runId, { 'Last-Event-ID': (all[cut] as SseEvent).id }))).events
      expect(rest).toEqual(all.slice(cut + 1))
    }
    const after = await stream(h, run.runId, { 'Last-Event-ID': (all.at(-1) as SseEvent).id })
    expect(after.status).toBe(204)
  })

  it('shows a retry while the step waits for its next attempt, then the attempt that completed', async () => {
    // A minute's backoff: the failed attempt is committed RETRYING and the run yields until its wakeAt.
    const { run } = await executor.start('slow-retry', { failTimes: 1 })
    await executor.execute(run.runId)
    const first = (await readStream(await stream(h, run.runId))).events
    expect(first.map((e) => [e.event, e.data.attempt])).toEqual([
      ['run.started', undefined],
      ['step.started', 0],
      ['step.retrying', 0],
    ])
    expect(first[2]?.data).toMatchObject({ error: { message: 'attempt 0 failed on purpose' }, nextAttemptAt: expect.any(Number) })
    // An engine whose clock is past the backoff sweeps the run to its end.
    const later = new Engine({ store: executor.store, workflows: WORKFLOWS, logger: silentLogger, clock: shiftedClock(120_000) })
    expect((await later.resumeDue()).completed).toBe(1)
    await later.shutdown()
    const rest = (await readStream(await stream(h, run.runId, { 'Last-Event-ID': (first[2] as SseEvent).id }))).events
    expect(rest.map((e) => [e.event, e.data.attempt])).toEqual([
      ['step.started', 1],
      ['step.completed', 1],
      ['run.finished', undefined],
    ])
  })

  it('pauses and resumes in the stream, closes a connection after its bounded time, and reads steps only when the run changed', async () => {
    const { run } = await executor.start('approval', { amount: 5 })
    await executor.execute(run.runId)
    await h.engine.pause(run.runId)
    counted.reset()
    const first = await readStream(await stream(h, run.runId))
    // The approval run waits for its event: the connection ends after streamMaxConnectionMs without run.finished.
    expect(first.events.map((e) => e.event)).toEqual(['run.started', 'step.started', 'step.waiting', 'run.paused'])
    expect(counted.calls.listStepExecutions).toBe(1)
    expect(counted.calls.getRun).toBeGreaterThan(1)
    await h.engine.resume(run.runId)
    const last = first.events.at(-1) as SseEvent
    const second = await readStream(await stream(h, run.runId, { 'Last-Event-ID': last.id }))
    expect(second.events.map((e) => e.event)).toEqual(['run.resumed'])
    await h.engine.cancel(run.runId)
    const third = await readStream(await stream(h, run.runId, { 'Last-Event-ID': (second.events[0] as SseEvent).id }))
    expect(third.events.map((e) => [e.event, e.data.status])).toEqual([
      ['step.cancelled', undefined],
      ['run.finished', 'CANCELLED'],
    ])
  })

  it('refuses without a token (401), for an unknown run (404) and for a Last-Event-ID it never sent (400)', async () => {
    const { run } = await executor.start('sequential', { val1: 1, val2: 1, mult: 1 })
    const anonymous = await h.app.request(`/v1/runs/${run.runId}/stream`)
    expect(anonymous.status).toBe(401)
    expect((await anonymous.json()).error.code).toBe('UNAUTHORIZED')
    const unknown = await stream(h, '00000000-0000-4000-8000-000000000000')
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).error.code).toBe('RUN_NOT_FOUND')
    const bad = await stream(h, run.runId, { 'Last-Event-ID': 'not-an-id' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.code).toBe('INVALID_ARGUMENT')
  })
})
