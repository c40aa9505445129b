/**
 * @module
 * Map nodes on any store (README "Map over an array"): one durable record and its own retries per item, results in
 * item order, at most `concurrency` items at once, a failed item failing the map unless it continues, a resumed run
 * redoing only unfinished items, and maps whose items end in larger numbers than one store transaction takes.
 * Handler invocations and store calls are counted, never timed.
 */
import { describe, expect, it } from 'vitest'
import { NonRetryableError } from '../../src/core/errors'
import { MAX_MAP_ITEMS } from '../../src/core/map-items'
import type { StepExecution } from '../../src/core/model'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import { onCommit } from '../support/commit-hook'
import { countingStore } from '../support/counting-store'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

const listing = defineStep({ id: 'list', handler: (_ctx, n: number) => range(n) })

/** A macrotask: lets every launched handler start before any finishes. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

function itemsOf(steps: readonly StepExecution[], mapId: string): StepExecution[] {
  return steps.filter((s) => s.stepId.startsWith(`${mapId}[`))
}

export function runMapCases(name: string, setup: () => Promise<EngineHarness>): void {
  describe(`map on ${name}`, () => {
    const { store, clock, engine } = useEngineHarness(setup)

    it('returns the items’ outputs in item order whatever order they finish in, one record per item', async () => {
      const gates: { n: number; open: () => void }[] = []
      const slow = defineStep({
        id: 'slow',
        handler: async (_ctx, n: number) => {
          await new Promise<void>((open) => gates.push({ n, open }))
          return { n, square: n * n }
        },
      })
      const wf = workflow<number>({ id: 'ordered' }).then(listing).map(slow, { concurrency: 4 }).build()
      const e = engine([wf])
      const begun = await e.begin('ordered', 4)
      while (gates.length < 4) await tick()
      for (const gate of [...gates].reverse()) {
        gate.open()
        await tick()
      }
      const run = await begun.done
      expect(run).toMatchObject({ status: 'COMPLETED', progress: 1, output: range(4).map((n) => ({ n, square: n * n })) })
      const steps = await store().listStepExecutions(run.runId)
      expect(steps.map((s) => s.stepId)).toEqual(['list', 'slow', 'slow[0]', 'slow[1]', 'slow[2]', 'slow[3]'])
      expect(itemsOf(steps, 'slow').map((s) => [s.status, s.input, s.output])).toEqual(
        range(4).map((n) => ['COMPLETED', n, { n, square: n * n }]),
      )
      expect(await store().getStepExecution(run.runId, 'slow')).toMatchObject({ status: 'COMPLETED', input: range(4) })
    })

    it('retries each item on its own with the step’s retry options', async () => {
      const attempts = new Map<number, number>()
      const flaky = defineStep({
        id: 'flaky',
        maxRetries: 3,
        retryDelayMs: 0,
        handler: (_ctx, n: number) => {
          const seen = (attempts.get(n) ?? 0) + 1
          attempts.set(n, seen)
          if (n % 3 === 1 && seen <= 2) throw new Error(`item ${n} attempt ${seen}`)
          return n * 10
        },
      })
      const wf = workflow<number>({ id: 'retries' }).then(listing).map(flaky, { concurrency: 3 }).build()
      const run = await engine([wf]).run('retries', 6)
      expect(run).toMatchObject({ status: 'COMPLETED', output: [0, 10, 20, 30, 40, 50] })
      expect([...attempts.entries()].sort((a, b) => a[0] - b[0])).toEqual([[0, 1], [1, 3], [2, 1], [3, 1], [4, 3], [5, 1]])
      const items = itemsOf(await store().listStepExecutions(run.runId), 'flaky')
      expect(items.map((s) => s.attempt)).toEqual([0, 2, 0, 0, 2, 0])
    })

    it('never runs more than `concurrency` items at once', async () => {
      let active = 0
      let most = 0
      let calls = 0
      const tracked = defineStep({
        id: 'tracked',
        handler: async (_ctx, n: number) => {
          calls++
          active++
          most = Math.max(most, active)
          await tick()
          active--
          return n
        },
      })
      const wf = workflow<number>({ id: 'bounded' }).then(listing).map(tracked, { concurrency: 5 }).build()
      const run = await engine([wf]).run('bounded', 40)
      expect(run).toMatchObject({ status: 'COMPLETED', output: range(40) })
      expect(calls).toBe(40)
      expect(most).toBe(5)
    })

    it('fails the map and the run when an item fails for good, starting no further items', async () => {
      const started: number[] = []
      const picky = defineStep({
        id: 'picky',
        handler: (_ctx, n: number) => {
          started.push(n)
          if (n === 2) throw new NonRetryableError('two is not allowed')
          return n
        },
      })
      const after = defineStep({ id: 'after', handler: (_ctx, xs: number[]) => xs.length })
      const wf = workflow<number>({ id: 'failing-map' }).then(listing).map(picky, { concurrency: 1 }).then(after).build()
      const run = await engine([wf]).run('failing-map', 10)
      expect(run).toMatchObject({
        status: 'FAILED',
        error: { code: 'NON_RETRYABLE', step: 'picky', message: expect.stringContaining('item 2 (picky[2]) failed: two is not allowed') },
      })
      expect(started).toEqual([0, 1, 2])
      expect(await store().getStepExecution(run.runId, 'picky')).toMatchObject({ status: 'FAILED', error: { code: 'NON_RETRYABLE' } })
      expect(await store().getStepExecution(run.runId, 'picky[2]')).toMatchObject({ status: 'FAILED' })
      expect(await store().getStepExecution(run.runId, 'after').catch((err: { code?: string }) => err.code)).toBe('STEP_EXECUTION_NOT_FOUND')
    })

    it('with continueOnError, completes with null for each failed item and keeps its error on its record', async () => {
      const picky = defineStep({
        id: 'picky',
        maxRetries: 0,
        handler: (_ctx, n: number) => {
          if (n % 2 === 1) throw new Error(`odd ${n}`)
          return n
        },
      })
      const wf = workflow<number>({ id: 'continuing-map' }).then(listing).map(picky, { concurrency: 2, continueOnError: true }).build()
      const run = await engine([wf]).run('continuing-map', 5)
      expect(run).toMatchObject({ status: 'COMPLETED', output: [0, null, 2, null, 4] })
      expect(await store().getStepExecution(run.runId, 'picky[3]')).toMatchObject({
        status: 'FAILED',
        error: { code: 'EXECUTION_FAILED', message: 'odd 3' },
      })
    })

    it('completes an empty map with [] and refuses a non-array and an array over MAX_MAP_ITEMS before any item', async () => {
      let calls = 0
      const item = defineStep({ id: 'item', handler: (_ctx, n: number) => ++calls + n })
      const wf = workflow<number[]>({ id: 'edges' }).map(item).build()
      const e = engine([wf])
      expect(await e.run('edges', [])).toMatchObject({ status: 'COMPLETED', output: [] })
      expect(await e.run('edges', { not: 'an array' } as never)).toMatchObject({
        status: 'FAILED',
        error: { code: 'VALIDATION_ERROR', step: 'item', message: expect.stringContaining('needs an array') },
      })
      const tooMany = await e.run('edges', range(MAX_MAP_ITEMS + 1))
      expect(tooMany).toMatchObject({ status: 'FAILED', error: { code: 'MAP_TOO_LARGE', step: 'item' } })
      expect(itemsOf(await store().listStepExecutions(tooMany.runId), 'item')).toHaveLength(0)
      expect(calls).toBe(0)
    })

    it('fails the map with PAYLOAD_TOO_LARGE when its items fit the step output limit one by one but their array does not', async () => {
      const item = defineStep({ id: 'chunk', handler: (_ctx, n: number) => 'x'.repeat(300) + n })
      const wf = workflow<number>({ id: 'big-array' }).then(listing).map(item, { concurrency: 4 }).build()
      const run = await engine([wf], { limits: { stepOutputBytes: 1000 } }).run('big-array', 4)
      expect(run).toMatchObject({ status: 'FAILED', error: { code: 'PAYLOAD_TOO_LARGE', step: 'chunk' } })
      const map = await store().getStepExecution(run.runId, 'chunk')
      expect(map).toMatchObject({ status: 'FAILED', output: null, error: { code: 'PAYLOAD_TOO_LARGE', details: { limit: 1000 } } })
      expect(itemsOf(await store().listStepExecutions(run.runId), 'chunk').map((s) => s.status)).toEqual(Array(4).fill('COMPLETED'))
    })

    it('redoes only unfinished items when another engine resumes the run after a crash', async () => {
      const n = 30
      let calls = 0
      const work = defineStep({
        id: 'work',
        handler: async (_ctx, x: number) => {
          calls++
          await tick()
          return x + 1
        },
      })
      const wf = workflow<number>({ id: 'resumed' }).then(listing).map(work, { concurrency: 4 }).build()
      let commits = 0
      // The fourth commit never lands: the process "died" with items done, running and not yet started.
      const crashing = onCommit(store(), async (lease, commit, next) => {
        if (++commits === 4) throw new Error('simulated crash')
        return next(lease, commit)
      })
      const halted = await engine([wf], { store: crashing }).run('resumed', n)
      expect(halted.status).toBe('RUNNING')
      const before = itemsOf(await store().listStepExecutions(halted.runId), 'work')
      const done = before.filter((s) => s.status === 'COMPLETED').length
      expect(done).toBeGreaterThan(0)
      expect(done).toBeLessThan(n)
      const callsBefore = calls
      clock().advance(60_001)
      const counting = countingStore(store())
      await engine([wf], { store: counting.store }).resumeDue()
      expect(await store().getRun(halted.runId)).toMatchObject({ status: 'COMPLETED', output: range(n).map((x) => x + 1) })
      expect(calls - callsBefore).toBe(n - done)
      const after = itemsOf(await store().listStepExecutions(halted.runId), 'work')
      // Items completed before the crash keep their records as they were.
      for (const item of before.filter((s) => s.status === 'COMPLETED')) {
        expect(after.find((s) => s.stepId === item.stepId)).toEqual(item)
      }
    })

    it('reuses the completed items when a failed run is retried, and re-runs them all when retried from the map', async () => {
      let broken = true
      const calls: number[] = []
      const fragile = defineStep({
        id: 'fragile',
        maxRetries: 0,
        handler: (_ctx, n: number) => {
          calls.push(n)
          if (broken && n === 3) throw new Error('three is down')
          return n + 100
        },
      })
      const wf = workflow<number>({ id: 'retried-map' }).then(listing).map(fragile, { concurrency: 2 }).build()
      const e = engine([wf])
      const failed = await e.run('retried-map', 6)
      expect(failed).toMatchObject({ status: 'FAILED', error: { step: 'fragile' } })
      const finished = itemsOf(await store().listStepExecutions(failed.runId), 'fragile').filter((s) => s.status === 'COMPLETED')
      expect(finished.length).toBeGreaterThanOrEqual(2)
      broken = false
      calls.length = 0
      const retried = await e.execute((await e.retry(failed.runId)).runId)
      expect(retried).toMatchObject({ status: 'COMPLETED', output: range(6).map((n) => n + 100) })
      expect(calls.sort()).toEqual(range(6).filter((n) => !finished.some((s) => s.stepId === `fragile[${n}]`)))
      calls.length = 0
      broken = true
      const again = await e.run('retried-map', 6)
      broken = false
      calls.length = 0
      expect(await e.execute((await e.retry(again.runId, { fromStep: 'fragile' })).runId)).toMatchObject({ status: 'COMPLETED' })
      expect(calls.sort()).toEqual(range(6))
    })

    it('completes a map whose items end and start together in more records than one commit of the store takes', async () => {
      const wide = defineStep({ id: 'wide', handler: (_ctx, n: number) => n * 2 })
      const wf = workflow<number>({ id: 'wide-map' }).then(listing).map(wide, { concurrency: 120 }).build()
      const counting = countingStore(store())
      const run = await engine([wf], { store: counting.store }).run('wide-map', 300)
      expect(run).toMatchObject({ status: 'COMPLETED', output: range(300).map((x) => x * 2) })
      expect(itemsOf(await store().listStepExecutions(run.runId), 'wide').every((s) => s.status === 'COMPLETED')).toBe(true)
      expect(counting.calls.commit).toBeGreaterThan(1)
    })
  })
}
