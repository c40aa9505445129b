/**
 * The API with `scheduleRun` (a Worker with run alarms): async starts, events, resumes and retries arm the run
 * instead of executing it after the response, and the runs they store are unleased, so the scheduler's
 * execution claims them at once. The alarms themselves run in workerd (test/workerd/run-alarm.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { type ApiHarness, createHarness, json } from './harness'

let h: ApiHarness
let armed: string[]

beforeEach(() => {
  armed = []
  h = createHarness(new MemoryStore(), {
    scheduleRun: async (runId) => {
      armed.push(runId)
    },
  })
})

afterEach(async () => {
  await h.close()
})

describe('scheduleRun', () => {
  it('stores an async start PENDING and unleased, arms it, and executes nothing itself', async () => {
    const res = await h.call('POST', '/v1/workflows/sequential/runs', { input: { val1: 1, val2: 2, mult: 3 } })
    expect(res.status).toBe(202)
    const { run } = await json(res)
    await h.settle()
    expect(armed).toEqual([run.runId])
    expect(await h.store.getRun(run.runId)).toMatchObject({ status: 'PENDING', leaseOwner: null, startedAt: null })
    expect(await h.store.listStepExecutions(run.runId)).toEqual([])
    // What the alarm does: another engine's execute claims it at once.
    expect(await h.engine.execute(run.runId)).toMatchObject({ status: 'COMPLETED', output: { message: 'The final result is 9' } })
  })

  it('arms an idempotent start once', async () => {
    const body = { input: { val1: 1, val2: 1, mult: 1 }, idempotencyKey: 'once' }
    const first = await h.call('POST', '/v1/workflows/sequential/runs', body)
    const second = await h.call('POST', '/v1/workflows/sequential/runs', body)
    await h.settle()
    expect([first.status, second.status]).toEqual([202, 200])
    expect(armed).toEqual([(await json(first)).run.runId])
  })

  it('arms a run on an event and on resume, instead of executing it here', async () => {
    const { run } = await json(await h.call('POST', '/v1/workflows/approval/runs', { input: { amount: 5 } }))
    await h.settle()
    expect(await h.engine.execute(run.runId)).toMatchObject({ status: 'RUNNING', leaseOwner: null, waitingFor: { kind: 'event' } })
    expect((await h.call('POST', `/v1/runs/${run.runId}/pause`)).status).toBe(202)
    expect((await h.call('POST', `/v1/runs/${run.runId}/resume`)).status).toBe(202)
    expect((await h.call('POST', `/v1/runs/${run.runId}/events/decision`, { payload: { approved: true, by: 'ada' } })).status).toBe(202)
    await h.settle()
    expect(armed).toEqual([run.runId, run.runId, run.runId])
    expect((await h.store.getRun(run.runId)).status).toBe('RUNNING')
    expect(await h.engine.execute(run.runId)).toMatchObject({ status: 'COMPLETED' })
  })

  it('stores a retry unleased and arms it', async () => {
    const failed = await json(await h.call('POST', '/v1/workflows/flaky/runs?wait=true', { input: { failTimes: 9 } }))
    expect(failed.run.status).toBe('FAILED')
    const res = await h.call('POST', `/v1/runs/${failed.run.runId}/retry`)
    expect(res.status).toBe(201)
    const { run } = await json(res)
    await h.settle()
    expect(armed).toEqual([run.runId])
    expect(await h.store.getRun(run.runId)).toMatchObject({ status: 'PENDING', leaseOwner: null, retryOf: failed.run.runId })
  })
})
