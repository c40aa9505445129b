/**
 * Hono's typed client over `AppType`: this file must compile (`tsc --noEmit` in `npm test`) and its calls must
 * work at run time.
 */
import { hc } from 'hono/client'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import type { AppType } from '../../src/http/app'
import type { RunStatus } from '../../src/core/model'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { type ApiHarness, createHarness, TOKEN } from './harness'

let h: ApiHarness
let client: ReturnType<typeof hc<AppType>>

beforeAll(() => {
  h = createHarness(new MemoryStore())
  client = hc<AppType>('http://gorkflow.test', {
    fetch: (input: RequestInfo | URL, init?: RequestInit) => h.app.request(input instanceof Request ? input : String(input), init),
    headers: { Authorization: `Bearer ${TOKEN}` },
  })
})
afterAll(async () => {
  await h.close()
})

describe('hc<AppType>', () => {
  it('starts a run and reads it back with typed responses', async () => {
    const res = await client.v1.workflows[':workflowId'].runs.$post({
      param: { workflowId: 'sequential' },
      query: { wait: 'true' },
      json: { input: { val1: 4, val2: 5, mult: 2 }, tags: { via: 'hc' } },
    })
    expect(res.status).toBe(200)
    if (res.status !== 200) throw new Error('unexpected status')
    const { run } = await res.json()
    expectTypeOf(run.status).toEqualTypeOf<RunStatus>()
    expectTypeOf(run.runId).toEqualTypeOf<string>()
    expect(run.output).toEqual({ message: 'The final result is 18' })

    const read = await client.v1.runs[':runId'].$get({ param: { runId: run.runId } })
    if (read.status !== 200) throw new Error(`unexpected status ${read.status}`)
    expect((await read.json()).run.tags).toEqual({ via: 'hc' })

    const steps = await client.v1.runs[':runId'].steps.$get({ param: { runId: run.runId } })
    if (steps.status !== 200) throw new Error(`unexpected status ${steps.status}`)
    const body = await steps.json()
    expectTypeOf(body.steps[0]!.executionIndex).toEqualTypeOf<number>()
    expect(body.steps.map((s) => s.stepId)).toEqual(['add', 'multiply', 'format'])
  })

  it('lists runs with typed query parameters and reads typed errors', async () => {
    const list = await client.v1.runs.$get({ query: { workflowId: 'sequential', limit: '5' } })
    if (list.status !== 200) throw new Error(`unexpected status ${list.status}`)
    const page = await list.json()
    expectTypeOf(page.nextCursor).toEqualTypeOf<string | null>()
    expect(page.runs.length).toBeGreaterThan(0)

    const missing = await client.v1.workflows[':workflowId'].$get({ param: { workflowId: 'nope' } })
    expect(missing.status).toBe(404)
    if (missing.status === 404) {
      const { error } = await missing.json()
      expectTypeOf(error.code).toEqualTypeOf<string>()
      expect(error.code).toBe('WORKFLOW_NOT_FOUND')
    }
  })

  it('reads the health route', async () => {
    const res = await client.health.$get()
    expect(await res.json()).toEqual({ ok: true, store: 'memory' })
  })
})
