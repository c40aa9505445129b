/**
 * @module
 * Map nodes over HTTP: `GET /v1/runs/:runId/steps` lists a map as one entry with its items counted by status, not
 * one entry per item; `GET …/steps/:stepId/items` pages the items in item order; bad paging input is a 4xx.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { NonRetryableError } from '../../src/core/errors'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { VirtualClock } from '../support/virtual-clock'
import { type ApiHarness, createHarness, json } from './harness'

const list = defineStep({ id: 'list', handler: (_ctx, n: number) => Array.from({ length: n }, (_, i) => i) })
const square = defineStep({
  id: 'square',
  maxRetries: 0,
  handler: (_ctx, i: number) => {
    if (i === 1_000_000) throw new NonRetryableError('too big')
    return i * i
  },
})
const squares = workflow<number>({ id: 'squares' }).then(list).map(square, { concurrency: 50 }).build()
const failing = workflow<number[]>({ id: 'failing' }).map(square, { id: 'each', concurrency: 1 }).build()

let h: ApiHarness
beforeEach(() => {
  h = createHarness(new MemoryStore(), { engine: { workflows: [squares, failing], clock: new VirtualClock() } })
})
afterEach(async () => {
  await h.settle()
  await h.engine.shutdown()
})

describe('map steps over HTTP', () => {
  it('lists a 1,000-item map as one step with counts, and pages its items in item order', async () => {
    const { run } = await json(await h.call('POST', '/v1/workflows/squares/runs?wait=true', { input: 1000 }))
    expect(run.status).toBe('COMPLETED')
    const { steps } = await json(await h.call('GET', `/v1/runs/${run.runId}/steps`))
    expect(steps.map((s: { stepId: string }) => s.stepId)).toEqual(['list', 'square'])
    expect(steps[0].items).toBeUndefined()
    expect(steps[1].items).toEqual({ total: 1000, notStarted: 0, byStatus: { COMPLETED: 1000 } })

    const first = await json(await h.call('GET', `/v1/runs/${run.runId}/steps/square/items`))
    expect(first.items.map((s: { stepId: string }) => s.stepId)).toEqual(Array.from({ length: 20 }, (_, i) => `square[${i}]`))
    expect(first.items[3]).toMatchObject({ status: 'COMPLETED', input: 3, output: 9 })
    expect(first.counts).toEqual({ total: 1000, notStarted: 0, byStatus: { COMPLETED: 1000 } })
    expect(first.nextCursor).toBe('20')

    let cursor: string | null = first.nextCursor
    const seen: string[] = first.items.map((s: { stepId: string }) => s.stepId)
    while (cursor !== null) {
      const page = await json(await h.call('GET', `/v1/runs/${run.runId}/steps/square/items?limit=100&cursor=${cursor}`))
      expect(page.items.length).toBeLessThanOrEqual(100)
      seen.push(...page.items.map((s: { stepId: string }) => s.stepId))
      cursor = page.nextCursor
    }
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => `square[${i}]`))
  })

  it('counts a failed map’s items by status, including those never started', async () => {
    const { run } = await json(await h.call('POST', '/v1/workflows/failing/runs?wait=true', { input: [1, 1_000_000, 2, 3] }))
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'NON_RETRYABLE', step: 'each' } })
    const { steps } = await json(await h.call('GET', `/v1/runs/${run.runId}/steps`))
    expect(steps).toEqual([
      expect.objectContaining({ stepId: 'each', status: 'FAILED', items: { total: 4, notStarted: 2, byStatus: { COMPLETED: 1, FAILED: 1 } } }),
    ])
    const page = await json(await h.call('GET', `/v1/runs/${run.runId}/steps/each/items`))
    expect(page.items.map((s: { stepId: string; status: string }) => [s.stepId, s.status])).toEqual([
      ['each[0]', 'COMPLETED'],
      ['each[1]', 'FAILED'],
    ])
    expect(page.nextCursor).toBeNull()
  })

  it('refuses bad paging input, a step that is not a map and an unknown step with a 4xx, changing nothing', async () => {
    const { run } = await json(await h.call('POST', '/v1/workflows/squares/runs?wait=true', { input: 3 }))
    const before = await h.store.listStepExecutions(run.runId)
    const cases: [string, number, string][] = [
      [`/v1/runs/${run.runId}/steps/square/items?cursor=abc`, 400, 'INVALID_CURSOR'],
      [`/v1/runs/${run.runId}/steps/square/items?cursor=-1`, 400, 'INVALID_CURSOR'],
      [`/v1/runs/${run.runId}/steps/square/items?limit=0`, 400, 'VALIDATION_ERROR'],
      [`/v1/runs/${run.runId}/steps/square/items?limit=101`, 400, 'VALIDATION_ERROR'],
      [`/v1/runs/${run.runId}/steps/list/items`, 400, 'INVALID_ARGUMENT'],
      [`/v1/runs/${run.runId}/steps/nope/items`, 404, 'STEP_EXECUTION_NOT_FOUND'],
      ['/v1/runs/no-such-run/steps/square/items', 404, 'RUN_NOT_FOUND'],
    ]
    for (const [path, status, code] of cases) {
      const res = await h.call('GET', path)
      expect([path, res.status, (await json(res)).error.code]).toEqual([path, status, code])
    }
    expect(await h.store.listStepExecutions(run.runId)).toEqual(before)
  })
})
