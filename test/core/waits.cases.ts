/**
 * @module
 * Durable sleep, wait-for-event, pause/resume, retry-from-failure and per-resource concurrency, on any store.
 * Long waits run on a virtual clock; pause and concurrency use real time with short steps.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { systemClock } from '../../src/core/clock'
import type { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import type { RunCommit } from '../../src/core/store'
import { onCommit } from '../support/commit-hook'
import { countingStore } from '../support/counting-store'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

const DAY = 24 * 60 * 60 * 1000
const amount = z.object({ amount: z.number() })
const decision = z.object({ approved: z.boolean(), by: z.string() })

export function runWaitCases(name: string, setup: () => Promise<EngineHarness>): void {
  describe(`Waits, pause, retry and concurrency on ${name}`, () => {
    const { store, clock, engine } = useEngineHarness(setup)

    const finalize = defineStep({
      id: 'finalize',
      input: decision,
      handler: async (ctx, d) => ({ amount: (await ctx.getInput<{ amount: number }>('decision')).amount, ...d }),
    })
    const approval = workflow({ id: 'approval', input: amount })
      .waitForEvent('decision', { schema: decision, timeoutMs: 3_600_000 })
      .then(finalize)
      .build()

    it('sleeps a day holding no lease, shows waitingFor, and resumes through a new engine when due', async () => {
      const after = defineStep({ id: 'done', handler: (_c, i: { n: number }) => ({ slept: true, n: i.n }) })
      const wf = workflow<{ n: number }>({ id: 'nap' }).sleep(DAY).then(after).build()
      const yields: [string, number][] = []
      const first = engine([wf], { onYield: (runId, dueAt) => yields.push([runId, dueAt]) })
      const yielded = await first.run('nap', { n: 7 })
      const until = clock().now() + DAY
      // A scheduler learns when the released run is due again (the Node sweeper's timer, the Worker's alarm).
      expect(yields).toEqual([[yielded.runId, until]])
      expect(yielded).toMatchObject({ status: 'RUNNING', leaseOwner: null, wakeAt: until, waitingFor: { kind: 'sleep', stepId: 'sleep-1', until } })
      expect(await store().getRun(yielded.runId)).toMatchObject({ status: 'RUNNING', leaseOwner: null, waitingFor: { kind: 'sleep', until } })
      expect(await store().getStepExecution(yielded.runId, 'sleep-1')).toMatchObject({ status: 'RUNNING', wakeAt: until })
      await first.shutdown()

      const second = engine([wf])
      clock().advance(DAY - 1)
      expect((await second.resumeDue()).claimed).toBe(0)
      clock().advance(1)
      expect(await second.resumeDue()).toMatchObject({ claimed: 1, completed: 1 })
      expect(await store().getRun(yielded.runId)).toMatchObject({ status: 'COMPLETED', output: { slept: true, n: 7 }, waitingFor: null })
      expect(await store().getStepExecution(yielded.runId, 'sleep-1')).toMatchObject({ status: 'COMPLETED', output: { n: 7 } })
    })

    it('sleeps inline when short, and until a computed instant with sleepUntil', async () => {
      const wf = workflow<{ at: number }>({ id: 'until' })
        .sleep(500)
        .sleepUntil((_ctx, input) => input.at)
        .build()
      const e = engine([wf])
      const at = clock().now() + 2 * DAY
      const yielded = await e.run('until', { at })
      expect(yielded.waitingFor).toEqual({ kind: 'sleep', stepId: 'sleep-2', until: at })
      expect((await store().getStepExecution(yielded.runId, 'sleep-1')).status).toBe('COMPLETED')
      clock().advance(2 * DAY)
      await e.resumeDue()
      expect(await store().getRun(yielded.runId)).toMatchObject({ status: 'COMPLETED', output: { at } })
    })

    it('waits for an event, wakes when it is delivered, and outputs the validated payload', async () => {
      const counting = countingStore(store())
      const e = engine([approval], { store: counting.store })
      const waiting = await e.run('approval', { amount: 120 })
      expect(waiting.waitingFor).toEqual({ kind: 'event', stepId: 'decision', name: 'decision', until: clock().now() + 3_600_000 })
      expect(await store().listDueRuns(clock().now(), 10)).toEqual([])

      await expect(e.sendEvent(waiting.runId, 'decision', { approved: 'yes' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' })
      await expect(store().loadEvent(waiting.runId, 'decision')).rejects.toMatchObject({ code: 'EVENT_NOT_FOUND' })
      await expect(e.sendEvent(waiting.runId, 'other', {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      await expect(e.sendEvent('no-such-run', 'decision', {})).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })

      counting.reset()
      const woken = await e.sendEvent(waiting.runId, 'decision', { approved: true, by: 'ada' })
      expect(woken.wakeAt).toBe(clock().now())
      expect(counting.calls).toEqual({ getRun: 1, deliverEvent: 1 })
      await expect(e.sendEvent(waiting.runId, 'decision', { approved: false, by: 'bob' })).rejects.toMatchObject({
        code: 'EVENT_ALREADY_DELIVERED',
      })
      const done = await e.execute(waiting.runId)
      expect(done).toMatchObject({ status: 'COMPLETED', output: { amount: 120, approved: true, by: 'ada' }, waitingFor: null })
      await expect(e.sendEvent(waiting.runId, 'decision', {})).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
    })

    it('keeps an event sent before the run reaches its wait and consumes it on arrival', async () => {
      const wf = workflow({ id: 'early', input: amount }).sleep(DAY).waitForEvent('decision', { schema: decision }).build()
      const e = engine([wf])
      const sleeping = await e.run('early', { amount: 1 })
      await e.sendEvent(sleeping.runId, 'decision', { approved: false, by: 'early-bird' })
      clock().advance(DAY)
      await e.resumeDue()
      expect(await store().getRun(sleeping.runId)).toMatchObject({ status: 'COMPLETED', output: { approved: false, by: 'early-bird' } })
    })

    // The lost wake-up, with the interleaving forced: another process delivers the event just before one of the
    // commits that set up the wait lands. No clock advance and no sweep: the store's write alone must wake the run.
    const moments = {
      'before the commit that shows the wait': (commit: RunCommit) => commit.run.waitingFor?.kind === 'event',
      'before the yield commit that sets its deadline': (commit: RunCommit) =>
        commit.leaseExpiresAt === null && typeof commit.run.wakeAt === 'number',
    }
    for (const [moment, isThatCommit] of Object.entries(moments)) {
      it(`continues a run whose awaited event is delivered ${moment}`, async () => {
        let delivered = 0
        const racing = onCommit(store(), async (lease, commit, next) => {
          if (delivered === 0 && isThatCommit(commit)) {
            delivered++
            await store().deliverEvent(lease.runId, 'decision', { approved: true, by: 'racer' }, clock().now())
          }
          return next(lease, commit)
        })
        const counting = countingStore(racing)
        const e = engine([approval], { store: counting.store })
        const done = await e.run('approval', { amount: 3 })
        expect(delivered).toBe(1)
        expect(done).toMatchObject({ status: 'COMPLETED', output: { amount: 3, approved: true, by: 'racer' }, waitingFor: null })
        // The yield learnt from its own commit that the run was due again: no extra read looked for the event.
        expect(counting.calls['loadEvent']).toBe(2)
      })
    }

    it('fails an event wait with TIMEOUT, or hands null on under continueOnError', async () => {
      const strict = workflow({ id: 'strict' }).waitForEvent('go', { schema: z.object({}), timeoutMs: 60_000 }).build()
      const after = defineStep({ id: 'after', handler: (_c, i: null | object) => ({ got: i }) })
      const lenient = workflow({ id: 'lenient' })
        .waitForEvent('go', { schema: z.object({}), timeoutMs: 60_000, continueOnError: true })
        .then(after)
        .build()
      const e = engine([strict, lenient])
      const a = await e.run('strict', null)
      const b = await e.run('lenient', null)
      clock().advance(60_000)
      await e.resumeDue()
      expect(await store().getRun(a.runId)).toMatchObject({ status: 'FAILED', error: { code: 'TIMEOUT', step: 'go' } })
      expect(await store().getRun(b.runId)).toMatchObject({ status: 'COMPLETED', output: { got: null } })
    })

    it('times a short event wait out inline, on the virtual clock', async () => {
      const wf = workflow({ id: 'short-wait' }).waitForEvent('go', { schema: z.object({}), timeoutMs: 2_000 }).build()
      const t0 = clock().now()
      const run = await engine([wf]).run('short-wait', null)
      expect(run).toMatchObject({ status: 'FAILED', error: { code: 'TIMEOUT', step: 'go', timestamp: t0 + 2_000 } })
      expect(clock().sleeps).toEqual([2_000])
      expect(await store().getStepExecution(run.runId, 'go')).toMatchObject({ status: 'FAILED', completedAt: t0 + 2_000 })
    })

    it('pauses at the next step boundary, is never swept while PAUSED, and resumes to completion', async () => {
      let release!: () => void
      const gate = new Promise<void>((r) => { release = r })
      let started!: () => void
      const inB = new Promise<void>((r) => { started = r })
      const calls: string[] = []
      const a = defineStep({ id: 'a', handler: () => { calls.push('a'); return 1 } })
      const b = defineStep({ id: 'b', handler: async (_c, n: number) => { calls.push('b'); started(); await gate; return n + 1 } })
      const c = defineStep({ id: 'c', handler: (_c, n: number) => { calls.push('c'); return n + 1 } })
      const wf = workflow({ id: 'pausable' }).then(a).then(b).then(c).build()
      const e = engine([wf], { clock: systemClock })
      const { run } = await e.start('pausable', null)
      const execution = e.execute(run.runId)
      await inB
      expect((await e.pause(run.runId)).status).toBe('PAUSED')
      release()
      const paused = await execution
      expect(paused).toMatchObject({ status: 'PAUSED', leaseOwner: null })
      expect(calls).toEqual(['a', 'b'])
      expect((await store().getStepExecution(run.runId, 'b')).status).toBe('COMPLETED')
      expect(await store().listDueRuns(Date.now() + 60_000, 10)).toEqual([])
      await expect(e.pause(run.runId)).rejects.toMatchObject({ code: 'RUN_STATE_CONFLICT' })
      expect((await e.resumeDue()).claimed).toBe(0)

      expect((await e.resume(run.runId)).status).toBe('RUNNING')
      await expect(e.resume(run.runId)).rejects.toMatchObject({ code: 'RUN_STATE_CONFLICT' })
      expect(await e.execute(run.runId)).toMatchObject({ status: 'COMPLETED', output: 3 })
      expect(calls).toEqual(['a', 'b', 'c'])
      await expect(e.pause(run.runId)).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
    })

    it('keeps a sleep deadline while paused and acts on it after resume', async () => {
      const wf = workflow<number>({ id: 'paused-nap' }).sleep(DAY).build()
      const e = engine([wf])
      const sleeping = await e.run('paused-nap', 5)
      await e.pause(sleeping.runId)
      clock().advance(2 * DAY)
      expect((await e.resumeDue()).claimed).toBe(0)
      await e.resume(sleeping.runId)
      expect(await e.resumeDue()).toMatchObject({ claimed: 1, completed: 1 })
      expect(await store().getRun(sleeping.runId)).toMatchObject({ status: 'COMPLETED', output: 5 })
    })

    it('retries a FAILED run from the failed step, reusing completed outputs and linking both runs', async () => {
      const calls: string[] = []
      let broken = true
      const a = defineStep({ id: 'a', handler: (_c, n: number) => { calls.push('a'); return n + 1 } })
      const b = defineStep({
        id: 'b',
        maxRetries: 0,
        handler: (_c, n: number) => {
          calls.push('b')
          if (broken) throw new Error('downstream is down')
          return n * 10
        },
      })
      const c = defineStep({ id: 'c', handler: (_c, n: number) => { calls.push('c'); return n + 1 } })
      const wf = workflow<number>({ id: 'fixable' }).then(a).then(b).then(c).build()
      const e = engine([wf])
      const failed = await e.run('fixable', 1)
      expect(failed.status).toBe('FAILED')
      await expect(e.retry(failed.runId, { fromStep: 'nope' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
      broken = false
      const retry = await e.retry(failed.runId)
      expect(retry).toMatchObject({ retryOf: failed.runId, status: 'PENDING', input: 1 })
      const done = await e.execute(retry.runId)
      expect(done).toMatchObject({ status: 'COMPLETED', output: 21 })
      expect(calls).toEqual(['a', 'b', 'b', 'c'])
      expect((await store().getRun(failed.runId)).retriedBy).toBe(retry.runId)
      expect((await store().getStepExecution(retry.runId, 'a')).output).toBe(2)
      await expect(e.retry(failed.runId)).rejects.toMatchObject({ code: 'RUN_STATE_CONFLICT' })
      await expect(e.retry(retry.runId)).rejects.toMatchObject({ code: 'RUN_STATE_CONFLICT' })

      broken = true
      const again = await e.run('fixable', 1)
      broken = false
      calls.length = 0
      const fromA = await e.execute((await e.retry(again.runId, { fromStep: 'a' })).runId)
      expect(fromA.output).toBe(21)
      expect(calls).toEqual(['a', 'b', 'c'])
    })

    it('never lets more than the limit of runs of one resource execute at once across 3 engines', async () => {
      let active = 0
      let peak = 0
      const work = defineStep({
        id: 'work',
        handler: async (_c, n: number) => {
          if (n === 99) return n // the other resource's run has its own slots
          active++
          peak = Math.max(peak, active)
          // Linger until a second run is active (or 1 s passed), so that a limit enforced too strictly — one
          // at a time — shows as peak 1 even when a slow store spaces the claims out.
          for (let waited = 0; active < 2 && waited < 1000; waited += 10) await new Promise((r) => setTimeout(r, 10))
          peak = Math.max(peak, active)
          active--
          return n
        },
      })
      const wf = workflow<number>({ id: 'limited', concurrency: { limit: 2 } }).then(work).build()
      const engines3 = [0, 1, 2].map(() => engine([wf], { clock: systemClock, leaseMs: 10_000 }))
      const ids: string[] = []
      for (let i = 0; i < 30; i++) {
        const e = engines3[i % 3] as Engine
        const { run } = await e.start('limited', i, { resourceId: 'customer-42' })
        expect(run).toMatchObject({ concurrencyLimit: 2, leaseOwner: null })
        ids.push(run.runId)
      }
      const other = await (engines3[0] as Engine).start('limited', 99, { resourceId: 'customer-7' })
      await Promise.all(
        engines3.map(async (e) => {
          for (let round = 0; round < 400; round++) {
            await e.resumeDue({ limit: 5 })
            const runs = await Promise.all([...ids, other.run.runId].map((id) => store().getRun(id)))
            if (runs.every((r) => r.status === 'COMPLETED')) return
          }
        }),
      )
      const runs = await Promise.all(ids.map((id) => store().getRun(id)))
      expect(runs.every((r) => r.status === 'COMPLETED')).toBe(true)
      expect(peak).toBeLessThanOrEqual(2)
      expect(peak).toBe(2)
    }, 120_000)
  })
}
