/**
 * Size limits over HTTP (README "Limits"): a run input or an event payload over the engine's limit, inside the body
 * limit, is answered 413 PAYLOAD_TOO_LARGE with the sizes, and creates or delivers nothing; on the API (memory and a
 * LibSQL file) and in the dashboard's forms.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import type { WorkflowStore } from '../../src/core/store'
import { MemoryStore } from '../../src/store/memory/memory-store'
import { fileStoreHarness } from '../support/libsql-harness'
import { createUiHarness } from '../support/ui-harness'
import { type ApiHarness, createHarness, json } from './harness'

const LIMIT = 1000
const limits = { runInputBytes: LIMIT, eventPayloadBytes: LIMIT }
/** A string whose JSON text is exactly `bytes` UTF-8 bytes. */
const textOf = (bytes: number): string => 'x'.repeat(bytes - 2)

const echo = workflow<string>({ id: 'echo' })
  .then(defineStep({ id: 'echo', handler: (_ctx, s: string) => s.length }))
  .build()
const note = workflow({ id: 'note' }).waitForEvent('note', { schema: z.string() }).build()

const stores: Record<string, () => Promise<{ store: WorkflowStore; cleanup?: () => Promise<void> }>> = {
  MemoryStore: async () => ({ store: new MemoryStore() }),
  'LibSQLStore (file:)': fileStoreHarness,
}

for (const [name, setup] of Object.entries(stores)) {
  describe(`size limits over the API on ${name}`, () => {
    let h: ApiHarness
    let cleanup: (() => Promise<void>) | undefined

    const harness = async () => {
      const made = await setup()
      cleanup = made.cleanup
      h = createHarness(made.store, { engine: { workflows: [echo, note], limits } })
      return h
    }

    afterEach(async () => {
      await h.settle()
      await h.engine.shutdown()
      await cleanup?.()
    })

    it.each(['', '?wait=true'])('answers 413 PAYLOAD_TOO_LARGE for a run input one byte over (%s) and creates no run', async (query) => {
      await harness()
      const over = await h.call('POST', `/v1/workflows/echo/runs${query}`, { input: textOf(LIMIT + 1) })
      expect(over.status).toBe(413)
      expect((await json(over)).error).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        message: `input of workflow echo is ${LIMIT + 1} bytes, over the limit of ${LIMIT} bytes`,
        details: { size: LIMIT + 1, limit: LIMIT, kind: 'runInputBytes' },
      })
      expect((await json(await h.call('GET', '/v1/runs'))).runs).toEqual([])
      const exact = await h.call('POST', `/v1/workflows/echo/runs?wait=true`, { input: textOf(LIMIT) })
      expect(exact.status).toBe(200)
      expect((await json(exact)).run).toMatchObject({ status: 'COMPLETED', output: LIMIT - 2 })
    })

    it('answers 413 PAYLOAD_TOO_LARGE for an event payload one byte over and delivers nothing', async () => {
      await harness()
      const started = await json(await h.call('POST', '/v1/workflows/note/runs?wait=true', { input: null }))
      const runId = started.run.runId as string
      const before = await h.store.getRun(runId)
      const over = await h.call('POST', `/v1/runs/${runId}/events/note`, { payload: textOf(LIMIT + 1) })
      expect(over.status).toBe(413)
      expect((await json(over)).error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { size: LIMIT + 1, limit: LIMIT, kind: 'eventPayloadBytes' } })
      await expect(h.store.loadEvent(runId, 'note')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })
      expect(await h.store.getRun(runId)).toEqual(before)
      const exact = await h.call('POST', `/v1/runs/${runId}/events/note`, { payload: textOf(LIMIT) })
      expect(exact.status).toBe(202)
      expect((await h.store.loadEvent(runId, 'note')).payload).toBe(textOf(LIMIT))
    })
  })
}

describe('size limits in the dashboard', () => {
  it('answers the start form 413 with the sizes for an input over the limit and starts nothing', async () => {
    const h = createUiHarness([echo], {}, { limits })
    const { cookie, csrf } = await h.signIn()
    const res = await h.post('/ui/workflows/echo/runs', { _csrf: csrf, input: JSON.stringify(textOf(LIMIT + 1)) }, cookie)
    expect(res.status).toBe(413)
    expect(await res.text()).toContain(`input of workflow echo is ${LIMIT + 1} bytes, over the limit of ${LIMIT} bytes`)
    expect((await h.engine.listRuns()).runs).toHaveLength(0)
  })

  it('answers the event form 413 with the sizes for a payload over the limit and delivers nothing', async () => {
    const h = createUiHarness([note], {}, { limits })
    const { cookie, csrf } = await h.signIn()
    const waiting = await h.engine.run('note', null)
    const res = await h.post(`/ui/runs/${waiting.runId}/events`, { _csrf: csrf, name: 'note', payload: JSON.stringify(textOf(LIMIT + 1)) }, cookie)
    expect(res.status).toBe(413)
    expect(await res.text()).toContain(`payload of event note is ${LIMIT + 1} bytes, over the limit of ${LIMIT} bytes`)
    await expect(h.engine.store.loadEvent(waiting.runId, 'note')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })
  })
})
