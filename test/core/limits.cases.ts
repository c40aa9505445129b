/**
 * @module
 * Size limits (README "Limits") on any store: each value of exactly its limit is stored, one byte more is refused
 * with PAYLOAD_TOO_LARGE and leaves the store as it was. The limits are the engine's defaults on the store under
 * test, so "exactly the limit" is also what the store itself must hold.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import { NonRetryableError } from '../../src/core/errors'
import { MAX_ERROR_MESSAGE_LENGTH, type PayloadLimits } from '../../src/core/limits'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

/** What the engine's limits must default to on the store, and the store's ceiling (null: it declares none). */
export interface ExpectedLimits {
  readonly defaults: PayloadLimits
  readonly ceiling: PayloadLimits | null
}

/** A string whose JSON text is exactly `bytes` UTF-8 bytes (the quotes count). */
const textOf = (bytes: number, char = 'x'): string => char.repeat(bytes - 2)

export function runLimitCases(name: string, setup: () => Promise<EngineHarness>, expected: ExpectedLimits): void {
  describe(`Size limits on ${name}`, () => {
    const { store, engine } = useEngineHarness(setup)

    it('defaults to the smaller of 1 MiB and the store ceiling, and refuses a limit above the ceiling when built', () => {
      expect(store().payloadCeiling ? pick(store().payloadCeiling as PayloadLimits) : null).toEqual(expected.ceiling)
      expect(engine([]).limits).toEqual(expected.defaults)
      const ceiling = expected.ceiling
      if (ceiling === null) {
        expect(engine([], { limits: { stepOutputBytes: 2 ** 40 } }).limits.stepOutputBytes).toBe(2 ** 40)
      } else {
        expect(engine([], { limits: { stepOutputBytes: ceiling.stepOutputBytes } }).limits.stepOutputBytes).toBe(ceiling.stepOutputBytes)
        expect(() => new Engine({ store: store(), workflows: [], limits: { stepOutputBytes: ceiling.stepOutputBytes + 1 } })).toThrow(
          expect.objectContaining({
            code: 'INVALID_ARGUMENT',
            message: expect.stringContaining(`limits.stepOutputBytes is ${ceiling.stepOutputBytes + 1} bytes, above what the ${store().kind} store can hold`),
          }),
        )
      }
      expect(() => new Engine({ store: store(), workflows: [], limits: { stateValueBytes: 0 } })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
    })

    it('stores a run input, step outputs, a state value and an event payload of exactly their limits', async () => {
      const { runInputBytes, stepOutputBytes, stateValueBytes, eventPayloadBytes } = expected.defaults
      const first = defineStep({
        id: 'first',
        handler: async (ctx) => {
          await ctx.state.set('k', textOf(stateValueBytes))
          return textOf(stepOutputBytes)
        },
      })
      const last = defineStep({ id: 'last', handler: () => textOf(stepOutputBytes, 'y') })
      const wf = workflow<string>({ id: 'full' }).then(first).waitForEvent('go', { schema: z.string() }).then(last).build()
      const e = engine([wf])
      const waiting = await e.run('full', textOf(runInputBytes))
      expect(waiting).toMatchObject({ status: 'RUNNING', waitingFor: { kind: 'event', name: 'go' } })
      await e.sendEvent(waiting.runId, 'go', textOf(eventPayloadBytes, 'e'))
      const done = await e.execute(waiting.runId)
      expect(done).toMatchObject({ status: 'COMPLETED', error: null })
      const stored = await store().getRun(waiting.runId)
      expect([(stored.input as string).length + 2, (stored.output as string).length + 2]).toEqual([runInputBytes, stepOutputBytes])
      const state = await store().getAllState(waiting.runId)
      expect((state.k as string).length + 2).toBe(stateValueBytes)
      expect(((await store().loadEvent(waiting.runId, 'go')).payload as string).length + 2).toBe(eventPayloadBytes)
      const steps = await store().listStepExecutions(waiting.runId)
      expect(steps.map((s) => [s.stepId, s.status, (s.output as string).length + 2])).toEqual([
        ['first', 'COMPLETED', stepOutputBytes],
        ['go', 'COMPLETED', eventPayloadBytes],
        ['last', 'COMPLETED', stepOutputBytes],
      ])
    })

    it('refuses a run input one byte over its limit, counted in UTF-8 bytes, and creates no run', async () => {
      const limit = expected.defaults.runInputBytes
      const noop = defineStep({ id: 'noop', handler: () => null })
      const e = engine([workflow<string>({ id: 'in' }).then(noop).build()])
      const refusal = { code: 'PAYLOAD_TOO_LARGE', details: { size: limit + 1, limit, kind: 'runInputBytes' } }
      await expect(e.start('in', textOf(limit + 1))).rejects.toMatchObject(refusal)
      await expect(e.run('in', textOf(limit + 1))).rejects.toMatchObject(refusal)
      // Two bytes per 'é': fewer UTF-16 code units than the limit, more UTF-8 bytes.
      const accented = 'é'.repeat(Math.ceil(limit / 2))
      expect(accented.length + 2).toBeLessThan(limit)
      await expect(e.begin('in', accented)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { size: accented.length * 2 + 2 } })
      expect((await store().listRuns()).runs).toEqual([])
    })

    it('fails a step whose output is one byte over its limit at once, without a retry, and stores no output', async () => {
      const limit = expected.defaults.stepOutputBytes
      let calls = 0
      let ranAfter = false
      const big = defineStep({
        id: 'big',
        maxRetries: 3,
        handler: () => {
          calls++
          return textOf(limit + 1)
        },
      })
      const after = defineStep({ id: 'after', handler: () => { ranAfter = true } })
      const run = await engine([workflow({ id: 'out' }).then(big).then(after).build()]).run('out', null)
      expect(run).toMatchObject({ status: 'FAILED', output: null, error: { code: 'PAYLOAD_TOO_LARGE', step: 'big' } })
      expect([calls, ranAfter]).toEqual([1, false])
      const steps = await store().listStepExecutions(run.runId)
      expect(steps).toHaveLength(1)
      expect(steps[0]).toMatchObject({
        stepId: 'big',
        status: 'FAILED',
        attempt: 0,
        output: null,
        error: { code: 'PAYLOAD_TOO_LARGE', details: { size: limit + 1, limit, kind: 'stepOutputBytes' } },
      })
      await expect(store().loadStepOutput(run.runId, 'big')).rejects.toMatchObject({ code: 'STEP_OUTPUT_NOT_FOUND' })
    })

    it("fails a parent's step, once, when its child's input is one byte over the run input limit, creating no child", async () => {
      const limit = expected.defaults.runInputBytes
      const kid = workflow<string>({ id: 'kid' }).then(defineStep({ id: 'k', handler: () => null })).build()
      let inputs = 0
      const parent = workflow({ id: 'parent' })
        .child(kid, {
          id: 'spawn',
          input: () => {
            inputs++
            return textOf(limit + 1)
          },
        })
        .build()
      const run = await engine([kid, parent], { defaults: { maxRetries: 2 } }).run('parent', null)
      expect(run).toMatchObject({ status: 'FAILED', error: { code: 'PAYLOAD_TOO_LARGE', step: 'spawn' } })
      expect(inputs).toBe(1)
      expect((await store().listRuns()).runs.map((r) => r.workflowId)).toEqual(['parent'])
    })

    it('lets the run go on past an oversized output under continueOnError', async () => {
      const limit = expected.defaults.stepOutputBytes
      const big = defineStep({ id: 'big', continueOnError: true, handler: () => textOf(limit + 1) })
      const after = defineStep({ id: 'after', handler: (_ctx, input: unknown) => ({ got: input }) })
      const run = await engine([workflow({ id: 'cont' }).then(big).then(after).build()]).run('cont', null)
      expect(run).toMatchObject({ status: 'COMPLETED', output: { got: null } })
      const steps = await store().listStepExecutions(run.runId)
      expect(steps.map((s) => [s.stepId, s.status, s.error?.code ?? null])).toEqual([
        ['big', 'FAILED', 'PAYLOAD_TOO_LARGE'],
        ['after', 'COMPLETED', null],
      ])
    })

    it('fails a join whose inputs together exceed the step output limit, and a run whose sinks’ outputs do, storing neither', async () => {
      const limit = expected.defaults.stepOutputBytes
      // Each half fits on its own; `{"a":…,"b":…}` holds both and the keys.
      const half = (id: string) => defineStep({ id, handler: () => textOf(Math.ceil(limit / 2)) })
      let joined = 0
      const join = defineStep({ id: 'join', handler: () => ++joined })
      const e = engine([
        workflow({ id: 'wide-join' }).parallel([half('a'), half('b')]).then(join).build(),
        workflow({ id: 'wide-sinks' }).parallel([half('a'), half('b')]).build(),
      ])
      const run = await e.run('wide-join', null)
      expect(run).toMatchObject({ status: 'FAILED', error: { code: 'PAYLOAD_TOO_LARGE', step: 'join' } })
      expect(await store().getStepExecution(run.runId, 'join')).toMatchObject({
        status: 'FAILED',
        input: null,
        error: { code: 'PAYLOAD_TOO_LARGE', details: { limit, kind: 'stepOutputBytes' } },
      })
      expect(joined).toBe(0)
      const sinks = await e.run('wide-sinks', null)
      expect(sinks).toMatchObject({ status: 'FAILED', output: null, error: { code: 'PAYLOAD_TOO_LARGE', step: null } })
      expect(await store().getRun(sinks.runId)).toMatchObject({ status: 'FAILED', output: null })
    })

    it('refuses an event payload one byte over its limit and delivers nothing', async () => {
      const limit = expected.defaults.eventPayloadBytes
      const e = engine([workflow({ id: 'ev' }).waitForEvent('go', { schema: z.string() }).build()])
      const waiting = await e.run('ev', null)
      const before = await store().getRun(waiting.runId)
      expect(before).toMatchObject({ status: 'RUNNING', waitingFor: { kind: 'event', name: 'go' } })
      await expect(e.sendEvent(waiting.runId, 'go', textOf(limit + 1))).rejects.toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        details: { size: limit + 1, limit, kind: 'eventPayloadBytes' },
      })
      await expect(store().loadEvent(waiting.runId, 'go')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })
      expect(await store().getRun(waiting.runId)).toEqual(before)
    })

    it('stores a step error with its message cut and oversized details left out, and fails the run', async () => {
      const loud = defineStep({
        id: 'loud',
        handler: () => {
          throw new NonRetryableError('m'.repeat(500_000), { details: { blob: 'd'.repeat(500_000) } })
        },
      })
      const run = await engine([workflow({ id: 'loud' }).then(loud).build()]).run('loud', null)
      const kept = `${'m'.repeat(MAX_ERROR_MESSAGE_LENGTH)}… (${500_000 - MAX_ERROR_MESSAGE_LENGTH} more characters)`
      expect(run).toMatchObject({ status: 'FAILED', error: { code: 'NON_RETRYABLE', message: `step loud failed after 1 attempt: ${kept}` } })
      const [step] = await store().listStepExecutions(run.runId)
      expect(step?.error).toMatchObject({ code: 'NON_RETRYABLE', message: kept, details: { omitted: '500011 characters of details left out' } })
    })

    it('fails ctx.state.set of a value one byte over its limit in the step, writing nothing', async () => {
      const limit = expected.defaults.stateValueBytes
      const refusals: unknown[] = []
      let calls = 0
      const caught = defineStep({
        id: 'caught',
        handler: async (ctx) => {
          await ctx.state.set('small', 1)
          await ctx.state.set('big', textOf(limit + 1)).catch((err: unknown) => refusals.push(err))
          return 'went on'
        },
      })
      const thrown = defineStep({
        id: 'thrown',
        maxRetries: 2,
        handler: async (ctx) => {
          calls++
          await ctx.state.set('big', textOf(limit + 1))
        },
      })
      const run = await engine([workflow({ id: 'st' }).then(caught).then(thrown).build()]).run('st', null)
      expect(refusals).toMatchObject([{ code: 'PAYLOAD_TOO_LARGE', details: { size: limit + 1, limit, kind: 'stateValueBytes' } }])
      expect(run).toMatchObject({ status: 'FAILED', error: { code: 'PAYLOAD_TOO_LARGE', step: 'thrown' } })
      expect(calls).toBe(1)
      expect(await store().getAllState(run.runId)).toEqual({ small: 1 })
    })
  })
}

function pick(limits: PayloadLimits): PayloadLimits {
  const { runInputBytes, stepOutputBytes, eventPayloadBytes, stateValueBytes } = limits
  return { runInputBytes, stepOutputBytes, eventPayloadBytes, stateValueBytes }
}
