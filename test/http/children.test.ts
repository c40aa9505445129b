/**
 * @module
 * Child workflows over HTTP: a waiting parent shows `waitingFor: child` with the child's run id, the child shows
 * `parentRunId`, `GET /v1/runs/:runId/children` lists a parent's children with their status, and an unknown run is
 * a 404 that changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { VirtualClock } from '../support/virtual-clock'
import { type ApiHarness, createHarness, json } from './harness'

const num = z.object({ n: z.number() })
const double = defineStep({ id: 'double', input: num, output: num, handler: (_ctx, { n }) => ({ n: n * 2 }) })
const child = workflow({ id: 'child', input: num }).then(double).build()
const parent = workflow({ id: 'parent', input: num }).child(child).build()

let h: ApiHarness
beforeEach(() => {
  h = createHarness(new MemoryStore(), { engine: { workflows: [parent, child], clock: new VirtualClock() } })
})
afterEach(async () => {
  await h.settle()
  await h.engine.shutdown()
})

describe('child workflows over HTTP', () => {
  it('links parent and child both ways and lists the children with their status', async () => {
    const started = await h.call('POST', '/v1/workflows/parent/runs?wait=true', { input: { n: 2 } })
    const { run } = await json(started)
    expect(run).toMatchObject({ status: 'RUNNING', waitingFor: { kind: 'child', stepId: 'child', workflowId: 'child' } })
    expect(run.waitingFor.name).toBeUndefined()
    const childId: string = run.waitingFor.runId

    const childView = await json(await h.call('GET', `/v1/runs/${childId}`))
    expect(childView.run).toMatchObject({ runId: childId, workflowId: 'child', parentRunId: run.runId })
    expect(childView.run.parentRunId).toBe(run.runId)
    expect((await json(await h.call('GET', `/v1/runs/${run.runId}`))).run.parentRunId).toBeUndefined()

    const before = await h.call('GET', `/v1/runs/${run.runId}/children`)
    expect(before.status).toBe(200)
    expect(await json(before)).toEqual({ children: [{ stepId: 'child', runId: childId, workflowId: 'child', status: 'PENDING' }] })

    await h.engine.resumeDue()
    await h.engine.resumeDue()
    expect((await json(await h.call('GET', `/v1/runs/${run.runId}`))).run).toMatchObject({ status: 'COMPLETED', output: { n: 4 } })
    expect(await json(await h.call('GET', `/v1/runs/${run.runId}/children`))).toEqual({
      children: [{ stepId: 'child', runId: childId, workflowId: 'child', status: 'COMPLETED' }],
    })
    expect(await json(await h.call('GET', `/v1/runs/${childId}/children`))).toEqual({ children: [] })
  })

  it('answers 404 RUN_NOT_FOUND for the children of an unknown run', async () => {
    const res = await h.call('GET', '/v1/runs/no-such-run/children')
    expect(res.status).toBe(404)
    expect((await json(res)).error.code).toBe('RUN_NOT_FOUND')
    expect((await h.store.listRuns()).runs).toHaveLength(0)
  })
})
