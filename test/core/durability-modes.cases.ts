/**
 * @module
 * The two durability modes (README "Durability modes") on any store: what each costs in store calls, and what a
 * crash or a failed commit can do under each. Commits are held at a gate the test opens (test/support/held-commits.ts),
 * so which completions share a commit is decided here, not by timing.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { Engine } from '../../src/core/engine'
import { defineStep } from '../../src/core/step'
import type { Durability } from '../../src/core/step-config'
import { workflow, type AnyWorkflow, type WorkflowBuilder } from '../../src/core/workflow'
import { onCommit } from '../support/commit-hook'
import { countingStore } from '../support/counting-store'
import { heldCommits as heldCommitsOf, type HeldCommits } from '../support/held-commits'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

const num = z.object({ n: z.number() })

/** Polls `check` between macrotasks until it holds; real stores answer over I/O, so this waits on real time. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`)
    await new Promise((r) => setTimeout(r, 1))
  }
}

/** Yields one macrotask, as a step's I/O would: a commit due behind the steps goes out meanwhile. */
const io = () => new Promise<void>((r) => setImmediate(r))

/**
 * `steps` sequential `{ n } → { n: n + 1 }` steps recording each invocation as `id#attempt`; each does "I/O" (one
 * macrotask), then calls `gate(id)`, which may act (close a commit gate) and may return a promise to wait for.
 */
function chain(id: string, steps: number, durability: Durability, gate: (stepId: string) => Promise<void> | void = () => undefined) {
  const invocations: string[] = []
  const finished: string[] = []
  const aborted: string[] = []
  const make = (stepId: string) =>
    defineStep({
      id: stepId,
      input: num,
      output: num,
      maxRetries: 0,
      handler: async (ctx, { n }) => {
        invocations.push(`${stepId}#${ctx.attempt}`)
        ctx.signal.addEventListener('abort', () => aborted.push(stepId))
        await io()
        await gate(stepId)
        finished.push(stepId)
        return { n: n + 1 }
      },
    })
  let builder = workflow({ id, input: num, config: { durability } }).then(make('s1')) as WorkflowBuilder<unknown, { n: number }>
  for (let i = 2; i <= steps; i++) builder = builder.then(make(`s${i}`))
  return { wf: builder.build() as AnyWorkflow, invocations, finished, aborted, ran: (stepId: string) => invocations.filter((i) => i.startsWith(`${stepId}#`)).length }
}

const LEASE_MS = 1_000

export function runDurabilityModeCases(name: string, setup: () => Promise<EngineHarness>): void {
  describe(`Durability modes on ${name}`, () => {
    const { store, clock, engine } = useEngineHarness(setup, { leaseMs: LEASE_MS })
    // Registered after the harness's hook, so it runs first: a failing test's held commits go on, and its engines
    // can shut down instead of hanging on them.
    const gates: HeldCommits[] = []
    const blocked: (() => void)[] = []
    afterEach(() => {
      for (const gate of gates.splice(0)) gate.release()
      for (const unblock of blocked.splice(0)) unblock()
    })
    const heldCommits = (inner: Parameters<typeof heldCommitsOf>[0]) => {
      const gate = heldCommitsOf(inner)
      gates.push(gate)
      return gate
    }

    it('runs a 10-step pipelined chain in createRun + 2 commits when the first commit is held until every step finished', async () => {
      const { wf, finished } = chain('piped', 10, 'pipelined')
      const held = heldCommits(store())
      const counting = countingStore(held.store)
      held.hold()
      const begun = await engine([wf], { store: counting.store }).begin('piped', { n: 0 })
      // Every step ran on outputs not yet stored: only the creating write has reached the store.
      await until(() => finished.length === 10 && held.held() === 1, 'all 10 steps ran behind one held commit')
      expect(await store().getRun(begun.run.runId)).toMatchObject({ status: 'RUNNING', progress: 0 })
      expect((await store().listStepExecutions(begun.run.runId)).map((s) => [s.stepId, s.status])).toEqual([['s1', 'RUNNING']])
      held.release()
      const run = await begun.done
      expect(run).toMatchObject({ status: 'COMPLETED', output: { n: 10 }, leaseOwner: null })
      // The first commit (s1 done, s2 started), then the terminal one with s2..s10 and COMPLETED.
      expect(counting.calls).toEqual({ createRun: 1, commit: 2 })
      const steps = await store().listStepExecutions(run.runId)
      expect(steps.map((s) => [s.stepId, s.status, s.attempt, s.output])).toEqual(
        Array.from({ length: 10 }, (_, i) => [`s${i + 1}`, 'COMPLETED', 0, { n: i + 1 }]),
      )
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: { n: 10 }, progress: 1, leaseOwner: null })
    })

    it('runs a 10-step pipelined chain of steps without I/O in createRun + the terminal commit', async () => {
      const invocations: string[] = []
      const step = (id: string) =>
        defineStep({ id, input: num, output: num, handler: (_ctx, { n }) => (invocations.push(id), { n: n + 1 }) })
      let builder = workflow({ id: 'pure', input: num, config: { durability: 'pipelined' } }).then(step('s1')) as WorkflowBuilder<unknown, { n: number }>
      for (let i = 2; i <= 10; i++) builder = builder.then(step(`s${i}`))
      const counting = countingStore(store())
      const run = await engine([builder.build()], { store: counting.store }).run('pure', { n: 0 })
      expect(run).toMatchObject({ status: 'COMPLETED', output: { n: 10 } })
      // The commit behind s1 waits one macrotask; s2..s10 settle in microtasks first, so the terminal commit takes all.
      expect(counting.calls).toEqual({ createRun: 1, commit: 1 })
      expect((await store().listStepExecutions(run.runId)).map((s) => [s.stepId, s.status, s.output])).toEqual(
        Array.from({ length: 10 }, (_, i) => [`s${i + 1}`, 'COMPLETED', { n: i + 1 }]),
      )
      expect(invocations).toHaveLength(10)
    })

    it('awaits a pipelined commit once it gathers 50 records, so a long chain of fast steps fits every store', async () => {
      const step = (id: string) => defineStep({ id, input: num, output: num, handler: (_ctx, { n }) => ({ n: n + 1 }) })
      let builder = workflow({ id: 'long', input: num, config: { durability: 'pipelined' } }).then(step('s1')) as WorkflowBuilder<unknown, { n: number }>
      for (let i = 2; i <= 150; i++) builder = builder.then(step(`s${i}`))
      const counting = countingStore(store())
      const sizes: number[] = []
      const sized = onCommit(counting.store, (lease, commit, next) => (sizes.push(commit.steps.length), next(lease, commit)))
      const run = await engine([builder.build()], { store: sized }).run('long', { n: 0 })
      expect(run).toMatchObject({ status: 'COMPLETED', output: { n: 150 } })
      // DynamoDB takes at most 99 steps in one commit; each of these carries 50 (49 done, the next started), the last the rest.
      expect(sizes).toEqual([50, 50, 50, 3])
      expect(counting.calls).toEqual({ createRun: 1, commit: 4 })
    })

    for (const durability of ['step', 'pipelined'] as const) {
      it(`records a long sleep's deadline in the yield commit (${durability})`, async () => {
        const step = defineStep({ id: 'before', input: num, output: num, handler: (_ctx, { n }) => ({ n: n + 1 }) })
        const wf = workflow({ id: 'naps', input: num, config: { durability } }).then(step).sleep(60_000).build()
        const counting = countingStore(store())
        const run = await engine([wf], { store: counting.store }).run('naps', { n: 0 })
        expect(run).toMatchObject({ status: 'RUNNING', leaseOwner: null, waitingFor: { kind: 'sleep', stepId: 'sleep-1' } })
        // createRun (before started), before's boundary (the sleep started), the yield with the sleep's deadline;
        // pipelined, before's boundary goes out with the yield too.
        expect(counting.calls).toEqual({ createRun: 1, commit: durability === 'step' ? 2 : 1 })
        const sleep = await store().getStepExecution(run.runId, 'sleep-1')
        expect(sleep).toMatchObject({ status: 'RUNNING', wakeAt: (await store().getRun(run.runId)).wakeAt })
      })
    }

    it('keeps the strict chain at N + 1 store calls, starting no step past a commit that has not returned', async () => {
      const { wf, invocations } = chain('strict', 10, 'step')
      const held = heldCommits(store())
      const counting = countingStore(held.store)
      held.hold()
      const begun = await engine([wf], { store: counting.store }).begin('strict', { n: 0 })
      await until(() => held.held() === 1, 'the first commit is held')
      expect(invocations).toEqual(['s1#0'])
      held.release()
      expect(await begun.done).toMatchObject({ status: 'COMPLETED', output: { n: 10 } })
      expect(counting.calls).toEqual({ createRun: 1, commit: 10 })
    })

    it('lets a pipelined step start its successor at once, and a strict successor wait for its durable input', async () => {
      const invocations: string[] = []
      const held = heldCommits(store())
      const step = (id: string, durability: Durability) =>
        defineStep({
          id,
          input: num,
          output: num,
          durability,
          handler: async (_ctx, { n }) => {
            invocations.push(id)
            await io()
            // The commit that stored fast's start is back; the one behind fast is held.
            if (id === 'fast') held.hold()
            return { n: n + 1 }
          },
        })
      // Workflow-wide strict; `fast` alone is pipelined: `next` starts behind its commit, `careful` (strict) waits.
      const wf = workflow({ id: 'mixed', input: num })
        .then(step('first', 'step'))
        .then(step('fast', 'pipelined'))
        .then(step('next', 'pipelined'))
        .then(step('careful', 'step'))
        .build()
      const counting = countingStore(held.store)
      const begun = await engine([wf], { store: counting.store }).begin('mixed', { n: 0 })
      // fast finished: its commit (fast done, next started) is held, yet `next` runs; `careful` must wait for it.
      await until(() => invocations.includes('next') && held.held() === 1, 'next ran behind the held commit')
      expect(invocations).toEqual(['first', 'fast', 'next'])
      held.release()
      expect(await begun.done).toMatchObject({ status: 'COMPLETED', output: { n: 4 } })
      expect(invocations).toEqual(['first', 'fast', 'next', 'careful'])
      // Created with first started; first's boundary (strict); fast's (behind); next's (careful is strict); the end.
      expect(counting.calls).toEqual({ createRun: 1, commit: 4 })
    })

    it('waits for the commit that renews the lease before it starts another pipelined step', async () => {
      const held = heldCommits(store())
      const leases: (number | null)[] = []
      const recording = onCommit(held.store, (lease, commit, next) => (leases.push(commit.leaseExpiresAt), next(lease, commit)))
      const { wf, invocations, finished } = chain('renews', 4, 'pipelined', (id) => {
        if (id !== 's2') return
        // Half the lease passes while s2 runs: the next commit extends the lease, and nothing may start before it returns.
        held.hold()
        clock().advance(LEASE_MS / 2 + 1)
      })
      const begun = await engine([wf], { store: recording }).begin('renews', { n: 0 })
      const created = begun.run.leaseExpiresAt as number
      await until(() => finished.includes('s2') && held.held() === 1, 'the renewing commit is held')
      expect(invocations).toEqual(['s1#0', 's2#0'])
      expect(leases.at(-1)).toBe(clock().now() + LEASE_MS)
      expect(leases.at(-1)).toBeGreaterThan(created)
      held.release()
      expect(await begun.done).toMatchObject({ status: 'COMPLETED', output: { n: 4 }, leaseOwner: null })
      expect(invocations).toEqual(['s1#0', 's2#0', 's3#0', 's4#0'])
    })

    it('stops starting steps when a pipelined commit fails, aborts the running one, and leaves the run to the sweeper', async () => {
      let releaseS3!: () => void
      const s3Running = new Promise<void>((r) => { releaseS3 = r })
      blocked.push(releaseS3)
      const held = heldCommits(store())
      // The commit behind s1 (s1 done, s2 started) went out before s2 runs; s2 closes the gate, so the one behind
      // s2 is held while s3 runs.
      const { wf, ran, aborted } = chain('fails', 5, 'pipelined', (id) => {
        if (id === 's2') held.hold()
        return id === 's3' ? s3Running : undefined
      })
      const e = engine([wf], { store: held.store })
      const begun = await e.begin('fails', { n: 0 })
      await until(() => ran('s3') === 1 && held.held() === 1, 's3 runs behind the held commit')
      held.kill()
      const run = await begun.done
      releaseS3()
      expect(aborted).toEqual(['s3'])
      expect([ran('s4'), ran('s5')]).toEqual([0, 0])
      // Nothing final was written: the run is still RUNNING under the dead engine's lease, for the sweeper.
      const stored = await store().getRun(run.runId)
      expect(stored).toMatchObject({ status: 'RUNNING', leaseOwner: e.ownerId })
      expect((await store().listStepExecutions(run.runId)).map((s) => [s.stepId, s.status])).toEqual([
        ['s1', 'COMPLETED'],
        ['s2', 'RUNNING'],
      ])
    })

    it('stops when a pipelined commit finds the lease taken, and the new owner finishes the run alone', async () => {
      let releaseS3!: () => void
      const s3Running = new Promise<void>((r) => { releaseS3 = r })
      blocked.push(releaseS3)
      let gateS3 = true
      const held = heldCommits(store())
      const { wf, ran, invocations } = chain('fenced', 4, 'pipelined', (id) => {
        if (id === 's2') held.hold()
        return id === 's3' && gateS3 ? s3Running : undefined
      })
      const first = engine([wf], { store: held.store, ownerId: 'first' })
      const begun = await first.begin('fenced', { n: 0 })
      await until(() => ran('s3') === 1 && held.held() === 1, 's3 runs behind the held commit')
      // The first engine's lease lapses (its isolate stalled) and another engine claims the run.
      clock().advance(LEASE_MS + 1)
      gateS3 = false
      const second = engine([wf], { ownerId: 'second' })
      const resumed = second.execute(begun.run.runId)
      await until(async () => (await store().getRun(begun.run.runId)).leaseOwner === 'second', 'the second engine claimed the run')
      // The held commit now meets the second engine's lease: refused, the first engine stops.
      held.release()
      const stopped = await begun.done
      releaseS3()
      expect(stopped.leaseOwner).not.toBe('first')
      expect(await resumed).toMatchObject({ status: 'COMPLETED', output: { n: 4 } })
      // s1 was stored before the lease changed hands; s2 and s3 ran again on the new owner; s4 only there.
      expect(invocations.filter((i) => i.startsWith('s1'))).toEqual(['s1#0'])
      expect(ran('s4')).toBe(1)
      expect((await store().getRun(begun.run.runId)).status).toBe('COMPLETED')
    })

    it('runs again after a crash exactly the steps whose commit had not returned', async () => {
      const held = heldCommits(store())
      // The commit behind s1 (s1 done, s2 started) went out before s2 runs; s2 closes the gate behind it.
      const { wf, invocations, finished } = chain('rerun', 5, 'pipelined', (id) => (id === 's2' ? held.hold() : undefined))
      const begun = await engine([wf], { store: held.store }).begin('rerun', { n: 0 })
      // s2..s5 all ran behind the held commit; the process dies before it lands.
      await until(() => finished.length === 5 && held.held() === 1, 'every step ran')
      held.kill()
      await begun.done
      expect((await store().listStepExecutions(begun.run.runId)).map((s) => [s.stepId, s.status])).toEqual([
        ['s1', 'COMPLETED'],
        ['s2', 'RUNNING'],
      ])
      clock().advance(LEASE_MS + 1)
      const run = await engine([wf]).execute(begun.run.runId)
      expect(run).toMatchObject({ status: 'COMPLETED', output: { n: 5 } })
      // s1 is not run again. s2 was stored RUNNING: it runs again as an interrupted attempt's successor (attempt 1).
      // s3..s5 were never stored: they run again as if for the first time (attempt 0 twice), the weakening
      // pipelined documents; the resumed execution, having found an interruption, commits every boundary first.
      expect(invocations).toEqual(['s1#0', 's2#0', 's3#0', 's4#0', 's5#0', 's2#1', 's3#0', 's4#0', 's5#0'])
      expect((await store().listStepExecutions(run.runId)).map((s) => [s.stepId, s.attempt, s.interruptions])).toEqual([
        ['s1', 0, 0],
        ['s2', 1, 1],
        ['s3', 0, 0],
        ['s4', 0, 0],
        ['s5', 0, 0],
      ])
    })

    it('still ends a step that kills its worker every time with ATTEMPT_INTERRUPTED, blaming that step', async () => {
      const mortal = () => {
        const gate = heldCommits(store())
        // Steps settle in microtasks, the commits after a macrotask: every pipelined step runs before its commit lands.
        gate.slow()
        return gate
      }
      let current = mortal()
      const invocations: string[] = []
      const step = (id: string, kills: boolean) =>
        defineStep({
          id,
          input: num,
          output: num,
          maxRetries: 0,
          handler: (ctx, { n }) => {
            invocations.push(`${id}#${ctx.attempt}`)
            if (kills) current.kill()
            return { n: n + 1 }
          },
        })
      const wf = workflow({ id: 'poison', input: num, config: { durability: 'pipelined', maxInterruptions: 2 } })
        .then(step('a', false))
        .then(step('b', false))
        .then(step('poison', true))
        .build()
      const first: Engine = engine([wf], { store: current.store })
      const { run } = await first.start('poison', { n: 0 })
      await first.execute(run.runId)
      let rounds = 1
      while ((await store().getRun(run.runId)).status === 'RUNNING' && rounds < 20) {
        rounds++
        clock().advance(LEASE_MS + 1)
        current = mortal()
        await engine([wf], { store: current.store }).execute(run.runId)
      }
      const final = await store().getRun(run.runId)
      expect(final).toMatchObject({ status: 'FAILED', error: { code: 'ATTEMPT_INTERRUPTED', step: 'poison' } })
      // The first execution died with only a's start stored. A resumed execution that finds an interrupted attempt
      // commits every boundary before it goes on, so the poison step's start was stored each time it ran, and 3
      // interruptions (one over the bound of 2) end it; a and b, only run again, are not blamed.
      expect(await store().getStepExecution(run.runId, 'poison')).toMatchObject({ status: 'FAILED', interruptions: 3 })
      expect((await store().listStepExecutions(run.runId)).map((s) => [s.stepId, s.status])).toEqual([
        ['a', 'COMPLETED'],
        ['b', 'COMPLETED'],
        ['poison', 'FAILED'],
      ])
      expect(rounds).toBeLessThanOrEqual(6)
    })
  })
}
