/**
 * @module
 * Child workflows on any store (README "Child workflows"): a parent step starts a registered workflow and waits for
 * it holding no lease, is woken by the child's end, fails (or continues) with it, never starts it twice however
 * often it is resumed, and passes cancel, pause and resume on to it.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { CHILD_RECHECK_MS, childRunId } from '../../src/core/child-run'
import type { Engine } from '../../src/core/engine'
import { NonRetryableError, StoreUnavailableError } from '../../src/core/errors'
import { defineStep } from '../../src/core/step'
import type { WorkflowStore } from '../../src/core/store'
import { workflow } from '../../src/core/workflow'
import { onCommit } from '../support/commit-hook'
import { countingStore } from '../support/counting-store'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

const num = z.object({ n: z.number() })

function flows() {
  const calls: string[] = []
  const double = defineStep({
    id: 'double',
    input: num,
    output: num,
    handler: (ctx, { n }) => {
      calls.push(`double:${ctx.runId}`)
      return { n: n * 2 }
    },
  })
  const boom = defineStep({
    id: 'boom',
    input: num,
    handler: (): { n: number } => {
      throw new NonRetryableError('boom')
    },
  })
  const prep = defineStep({ id: 'prep', input: num, output: num, handler: (_ctx, { n }) => ({ n: n + 1 }) })
  const after = defineStep({ id: 'after', input: num, handler: (_ctx, { n }) => ({ total: n + 100 }) })
  const child = workflow({ id: 'child', input: num }).then(double).build()
  const failing = workflow({ id: 'failing', input: num }).then(boom).build()
  const parent = workflow({ id: 'parent', input: num }).then(prep).child(child).then(after).build()
  const failingParent = workflow({ id: 'failing-parent', input: num }).then(prep).child(failing).then(after).build()
  const continuing = workflow({ id: 'continuing', input: num }).then(prep).child(failing, { continueOnError: true }).build()
  const solo = workflow({ id: 'solo', input: num }).child(child, { id: 'only', input: (_ctx, { n }) => ({ n: n + 10 }) }).build()
  return { calls, all: [child, failing, parent, failingParent, continuing, solo] }
}

export function runChildCases(name: string, setup: () => Promise<EngineHarness>): void {
  describe(`Child workflows on ${name}`, () => {
    const { store, clock, engine } = useEngineHarness(setup)

    /** Sweeps until a sweep claims nothing (a child's end makes its parent due for the next sweep). */
    async function settle(e: Engine): Promise<number> {
      for (let sweeps = 1; sweeps <= 10; sweeps++) if ((await e.resumeDue()).claimed === 0) return sweeps
      throw new Error('runs did not settle in 10 sweeps')
    }

    async function childRuns(s: WorkflowStore, workflowId: string) {
      return (await s.listRuns({ workflowId })).runs
    }

    it('waits for the child holding no lease, then completes with its output', async () => {
      const { all, calls } = flows()
      const e = engine(all)
      const run = await e.run('parent', { n: 1 })
      const childId = childRunId(run.runId, 'child')
      expect(run).toMatchObject({
        status: 'RUNNING',
        leaseOwner: null,
        leaseExpiresAt: null,
        wakeAt: clock().now() + CHILD_RECHECK_MS,
        waitingFor: { kind: 'child', stepId: 'child', runId: childId, workflowId: 'child', name: `child:${childId}` },
      })
      expect(await store().getRun(childId)).toMatchObject({ status: 'PENDING', parentRunId: run.runId, input: { n: 2 } })
      expect(await settle(e)).toBe(3)
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: { total: 104 }, waitingFor: null })
      expect(await store().getStepExecution(run.runId, 'child')).toMatchObject({ status: 'COMPLETED', output: { n: 4 } })
      expect(calls).toEqual([`double:${childId}`])
      expect(await e.listChildren(run.runId)).toEqual([{ stepId: 'child', runId: childId, workflowId: 'child', status: 'COMPLETED' }])
      expect(await e.listChildren(childId)).toEqual([])
    })

    it("passes the input function's value to the child", async () => {
      const e = engine(flows().all)
      const run = await e.run('solo', { n: 1 })
      await settle(e)
      expect(await store().getRun(childRunId(run.runId, 'only'))).toMatchObject({ input: { n: 11 }, output: { n: 22 } })
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: { n: 22 } })
    })

    it("fails the parent's step with CHILD_FAILED when the child fails, and continues with continue-on-error", async () => {
      const e = engine(flows().all)
      const failed = await e.run('failing-parent', { n: 1 })
      const continued = await e.run('continuing', { n: 1 })
      await settle(e)
      expect(await store().getRun(childRunId(failed.runId, 'failing'))).toMatchObject({ status: 'FAILED' })
      expect(await store().getRun(failed.runId)).toMatchObject({ status: 'FAILED', error: { code: 'CHILD_FAILED', step: 'failing' } })
      expect(await store().getStepExecution(failed.runId, 'after').catch(() => null)).toBeNull()
      expect(await store().getRun(continued.runId)).toMatchObject({ status: 'COMPLETED' })
      expect(await store().getStepExecution(continued.runId, 'failing')).toMatchObject({ status: 'FAILED', error: { code: 'CHILD_FAILED' } })
    })

    it('starts the child once when the parent crashed after starting it and another engine resumes the parent', async () => {
      const { all, calls } = flows()
      let crashed = 0
      // The commit that would record the wait (after the child was created) never lands: the process "died".
      const crashing = onCommit(store(), async (lease, commit, next) => {
        if (commit.steps.some((s) => s.stepId === 'child' && s.wakeAt !== null)) {
          crashed++
          throw new Error('simulated crash')
        }
        return next(lease, commit)
      })
      const run = await engine(all, { store: crashing }).run('parent', { n: 1 })
      expect(crashed).toBe(1)
      expect(run.leaseOwner).not.toBeNull()
      const first = await store().getRun(childRunId(run.runId, 'child'))
      clock().advance(30_001)
      const counting = countingStore(store())
      const survivor = engine(all, { store: counting.store })
      await settle(survivor)
      expect(counting.calls.createRun).toBe(1)
      expect(await childRuns(store(), 'child')).toHaveLength(1)
      expect(await store().getRun(first.runId)).toMatchObject({ status: 'COMPLETED', createdAt: first.createdAt })
      expect(calls).toHaveLength(1)
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: { total: 104 } })
    })

    it('looks at the child again after CHILD_RECHECK_MS when the wake-up was lost', async () => {
      const { all } = flows()
      const lossy = new Proxy(store(), {
        get(target, prop) {
          const value: unknown = Reflect.get(target, prop)
          if (prop === 'deliverEvent') return () => Promise.reject(new StoreUnavailableError('simulated outage'))
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
        },
      })
      const e = engine(all, { store: lossy })
      const run = await e.run('parent', { n: 1 })
      await settle(e)
      expect(await store().getRun(childRunId(run.runId, 'child'))).toMatchObject({ status: 'COMPLETED' })
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'RUNNING', leaseOwner: null })
      clock().advance(CHILD_RECHECK_MS)
      await settle(engine(all))
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: { total: 104 } })
    })

    it('cancels the child when the parent is cancelled', async () => {
      const e = engine(flows().all)
      const run = await e.run('parent', { n: 1 })
      const cancelled = await e.cancel(run.runId)
      expect(cancelled.status).toBe('CANCELLED')
      expect(await store().getRun(childRunId(run.runId, 'child'))).toMatchObject({ status: 'CANCELLED' })
      expect(await settle(e)).toBe(1)
    })

    it('pauses and resumes the child with the parent', async () => {
      const { all, calls } = flows()
      const e = engine(all)
      const run = await e.run('parent', { n: 1 })
      const childId = childRunId(run.runId, 'child')
      await e.pause(run.runId)
      expect(await store().getRun(childId)).toMatchObject({ status: 'PAUSED' })
      await settle(e)
      expect(calls).toEqual([])
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'PAUSED' })
      await e.resume(run.runId)
      expect(await store().getRun(childId)).toMatchObject({ status: 'RUNNING' })
      await settle(e)
      expect(calls).toEqual([`double:${childId}`])
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: { total: 104 } })
    })

    it('costs one store call to start the child and one to wake the parent, which then resumes in three (README "Child workflows")', async () => {
      const counting = countingStore(store())
      const e = engine(flows().all, { store: counting.store })
      const run = await e.run('solo', { n: 1 })
      // The parent's run: created with its child node started (createRun), the child created (createRun), then
      // what every wait costs (a sleep too): the yield commit, which records its deadline and releases the lease.
      expect(counting.calls).toEqual({ createRun: 2, commit: 1 })
      counting.reset()
      const child = await e.execute(childRunId(run.runId, 'only'))
      expect(child.status).toBe('COMPLETED')
      // The child's own one-step run (claimRun, 2 commits), then the wake-up: deliverEvent.
      expect(counting.calls).toEqual({ claimRun: 1, commit: 2, deliverEvent: 1 })
      counting.reset()
      const parent = await e.execute(run.runId)
      // The parent: claimRun, its look at the child (getRun), the completing commit.
      expect(parent).toMatchObject({ status: 'COMPLETED', output: { n: 22 } })
      expect(counting.calls).toEqual({ claimRun: 1, getRun: 1, commit: 1 })
    })
  })
}
