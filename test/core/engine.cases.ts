/**
 * @module
 * The engine's behaviour matrix, parameterised by a store factory so it runs unchanged on every store
 * (memory here; LibSQL and DynamoDB in their own test files). Named `.cases.ts` so vitest does not run it alone.
 */
import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { systemClock } from '../../src/core/clock'
import { NonRetryableError } from '../../src/core/errors'
import { LOCAL_POLL_MS } from '../../src/core/loop-wake'
import type { RunRecord } from '../../src/core/model'
import { defineStep, type AnyStep } from '../../src/core/step'
import { workflow } from '../../src/core/workflow'
import type { WorkflowStore } from '../../src/core/store'
import { onCommit } from '../support/commit-hook'
import { countingStore } from '../support/counting-store'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

const num = z.object({ n: z.number() })
const inc = <Id extends string>(id: Id, calls?: string[]) =>
  defineStep({
    id,
    input: num,
    output: num,
    handler: (_ctx, { n }) => {
      calls?.push(id)
      return { n: n + 1 }
    },
  })

/** A wrapper whose `commit` number `failAt` (1-based) throws as if the process died at that moment. */
function crashOnCommit(inner: WorkflowStore, failAt: number): WorkflowStore {
  let commits = 0
  return onCommit(inner, (lease, commit, next) => {
    commits++
    return commits >= failAt ? Promise.reject(new Error('simulated crash')) : next(lease, commit)
  })
}

/** Lets the callbacks of virtual-clock timers that fell due run (they run as macrotasks, like real timers'). */
const timersFired = () => new Promise<void>((r) => setImmediate(r))

const sleepUntilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))

/** A step that reports when it started and waits until its signal aborts, recording that it did. */
function abortableWait() {
  let started!: () => void
  const running = new Promise<void>((r) => { started = r })
  let aborted = false
  const waits = defineStep({
    id: 'waits',
    handler: async (ctx) => {
      started()
      ctx.signal.addEventListener('abort', () => { aborted = true })
      return sleepUntilAborted(ctx.signal)
    },
  })
  return { waits, running, aborted: () => aborted }
}

export function runEngineCases(name: string, setup: () => Promise<EngineHarness>): void {
  describe(`Engine on ${name}`, () => {
    // A fixed jitter draw keeps the retry delays the tests assert exact.
    const { store, clock, engine } = useEngineHarness(setup, { random: () => 0.5 })

    it('passes each step output to the next step and completes with the last output', async () => {
      const calls: string[] = []
      const wf = workflow({ id: 'seq', input: num }).then(inc('a', calls)).then(inc('b', calls)).then(inc('c', calls)).build()
      const run = await engine([wf]).run('seq', { n: 1 })
      expect(run).toMatchObject({ status: 'COMPLETED', output: { n: 4 }, progress: 1, error: null, leaseOwner: null })
      expect(calls).toEqual(['a', 'b', 'c'])
      const steps = await store().listStepExecutions(run.runId)
      expect(steps.map((s) => [s.stepId, s.executionIndex, s.status, s.attempt, s.input, s.output])).toEqual([
        ['a', 0, 'COMPLETED', 0, { n: 1 }, { n: 2 }],
        ['b', 1, 'COMPLETED', 0, { n: 2 }, { n: 3 }],
        ['c', 2, 'COMPLETED', 0, { n: 3 }, { n: 4 }],
      ])
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: { n: 4 }, startedAt: expect.any(Number) })
    })

    it('gives runs time-ordered UUIDv7 ids, so runs created in one millisecond list newest first exactly', async () => {
      const wf = workflow({ id: 'seq', input: num }).then(inc('a')).build()
      const e = engine([wf])
      // The virtual clock stands still: every run below has the same createdAt.
      const started: string[] = []
      for (let i = 0; i < 40; i++) started.push((await e.start('seq', { n: i })).run.runId)
      for (const id of started) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      const listed = (await e.listRuns({ workflowId: 'seq', limit: 100 })).runs.map((r) => r.runId)
      expect(listed).toEqual([...started].reverse())
    })

    it('keeps running and listing a run stored with an old random (v4) id', async () => {
      const wf = workflow({ id: 'seq', input: num }).then(inc('a')).build()
      // An engine of an earlier release made v4 ids (start leases the run to the engine that made it).
      const legacy = engine([wf], { generateId: () => crypto.randomUUID() })
      const legacyId = (await legacy.start('seq', { n: 1 })).run.runId
      const e = engine([wf])
      const fresh = (await e.start('seq', { n: 1 })).run.runId
      expect((await legacy.execute(legacyId)).status).toBe('COMPLETED')
      expect((await e.execute(fresh)).status).toBe('COMPLETED')
      const listed = (await e.listRuns({ workflowId: 'seq' })).runs.map((r) => r.runId)
      expect(listed.sort()).toEqual([fresh, legacyId].sort())
    })

    it('fans out in parallel and joins the outputs keyed by step id', async () => {
      const add = defineStep({ id: 'add', handler: (_c, i: { x: number; y: number }) => ({ sum: i.x + i.y }) })
      const mul = defineStep({ id: 'mul', handler: (_c, i: { x: number; y: number }) => ({ product: i.x * i.y }) })
      const join = defineStep({
        id: 'join',
        handler: (_c, i: { add: { sum: number }; mul: { product: number } }) => `${i.add.sum}/${i.mul.product}`,
      })
      const wf = workflow<{ x: number; y: number }>({ id: 'fan' }).parallel([add, mul]).then(join).build()
      const run = await engine([wf]).run('fan', { x: 3, y: 4 })
      expect(run.output).toBe('7/12')
      const steps = await store().listStepExecutions(run.runId)
      expect(steps.find((s) => s.stepId === 'join')?.input).toEqual({ add: { sum: 7 }, mul: { product: 12 } })
      expect(new Set(steps.map((s) => s.executionIndex)).size).toBe(3)
    })

    it('feeds the run input to every step of a leading parallel block and keys a multi-sink output', async () => {
      const wf = workflow({ id: 'lead', input: num }).parallel([inc('p'), inc('q')]).build()
      const run = await engine([wf]).run('lead', { n: 10 })
      expect(run.output).toEqual({ p: { n: 11 }, q: { n: 11 } })
      expect(Object.keys(run.output as object)).toEqual(['p', 'q'])
    })

    it('skips a conditional step with its default, a computed default, or its input passed through', async () => {
      const value = z.object({ value: z.number(), doubled: z.boolean() })
      const double = defineStep({
        id: 'double',
        input: z.object({ value: z.number() }),
        output: value,
        handler: (_c, { value: v }) => ({ value: v * 2, doubled: true }),
      })
      const same = defineStep({ id: 'same', input: value, output: value, handler: (_c, i) => ({ ...i, value: i.value + 100 }) })
      const computed = workflow({ id: 'computed', input: z.object({ value: z.number() }) })
        .thenIf(double, (_c, i) => i.value > 5, (i) => ({ value: i.value, doubled: false }))
        .thenIf(same, (_c, i) => i.doubled)
        .build()
      const fixed = workflow({ id: 'fixed', input: z.object({ value: z.number() }) })
        .thenIf(double, () => false, { value: -1, doubled: false })
        .build()
      const e = engine([computed, fixed])
      const skipped = await e.run('computed', { value: 2 })
      expect(skipped.output).toEqual({ value: 2, doubled: false })
      const steps = await store().listStepExecutions(skipped.runId)
      expect(steps.map((s) => s.status)).toEqual(['SKIPPED', 'SKIPPED'])
      expect(await store().loadStepOutput(skipped.runId, 'double')).toEqual({ value: 2, doubled: false })
      expect((await e.run('computed', { value: 6 })).output).toEqual({ value: 112, doubled: true })
      expect((await e.run('fixed', { value: 9 })).output).toEqual({ value: -1, doubled: false })
    })

    for (const [backoff, delays] of [
      ['LINEAR', [100, 200, 300]],
      ['EXPONENTIAL', [100, 200, 400]],
      ['NONE', []],
    ] as const) {
      it(`retries with ${backoff} backoff, counting attempts and recording the failing one`, async () => {
        const attempts: number[] = []
        const flaky = defineStep({
          id: 'flaky',
          maxRetries: 3,
          retryDelayMs: 100,
          backoff,
          handler: (ctx) => {
            attempts.push(ctx.attempt)
            if (ctx.attempt < 3) throw new Error(`boom ${ctx.attempt}`)
            return 'ok'
          },
        })
        const wf = workflow({ id: 'retry' }).then(flaky).build()
        const run = await engine([wf]).run('retry', null)
        expect(run.status).toBe('COMPLETED')
        expect(attempts).toEqual([0, 1, 2, 3])
        expect(clock().sleeps.filter((ms) => ms > 0)).toEqual(delays)
        expect(await store().getStepExecution(run.runId, 'flaky')).toMatchObject({ status: 'COMPLETED', attempt: 3, error: null })
      })
    }

    it('caps delays at maxDelayMs and jitters them within [delay/2, delay]', async () => {
      const flaky = defineStep({
        id: 'flaky',
        maxRetries: 3,
        retryDelayMs: 1000,
        backoff: 'EXPONENTIAL',
        maxDelayMs: 1500,
        jitter: true,
        handler: (ctx) => {
          if (ctx.attempt < 3) throw new Error('again')
          return 1
        },
      })
      const wf = workflow({ id: 'jit' }).then(flaky).build()
      await engine([wf], { random: () => 0 }).run('jit', null)
      expect(clock().sleeps).toEqual([500, 750, 750])
    })

    it('fails the run after exhausting retries, naming the step and the real last attempt', async () => {
      let calls = 0
      const bad = defineStep({ id: 'bad', maxRetries: 2, retryDelayMs: 10, handler: () => { calls++; throw new Error('nope') } })
      const wf = workflow({ id: 'exhaust', input: num }).then(inc('first')).then(bad as AnyStep).build()
      const run = await engine([wf]).run('exhaust', { n: 0 })
      expect(calls).toBe(3)
      expect(run.status).toBe('FAILED')
      expect(run.error).toMatchObject({ code: 'EXECUTION_FAILED', step: 'bad', message: 'step bad failed after 3 attempts: nope' })
      expect(run.progress).toBe(0.5)
      const rec = await store().getStepExecution(run.runId, 'bad')
      expect(rec).toMatchObject({ status: 'FAILED', attempt: 2, error: { code: 'EXECUTION_FAILED', attempt: 2, message: 'nope' } })
      expect(rec.error?.timestamp).toBe(clock().now())
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'FAILED', leaseOwner: null })
    })

    it('does not retry a NonRetryableError or a schema validation failure', async () => {
      let calls = 0
      const refuse = defineStep({ id: 'refuse', maxRetries: 5, handler: () => { calls++; throw new NonRetryableError('declined') } })
      const badOutput = defineStep({ id: 'badOut', maxRetries: 5, output: z.object({ ok: z.literal(true) }), input: z.unknown(), handler: () => { calls++; return { ok: false } as never } })
      const badInput = defineStep({ id: 'badIn', maxRetries: 5, input: z.object({ need: z.string() }), handler: () => { calls++; return 1 } })
      const e = engine([
        workflow({ id: 'w1' }).then(refuse).build(),
        workflow({ id: 'w2' }).then(badOutput).build(),
        workflow({ id: 'w3' }).then(badInput as AnyStep).build(),
      ])
      expect((await e.run('w1', null)).error).toMatchObject({ code: 'NON_RETRYABLE', step: 'refuse' })
      expect(calls).toBe(1)
      const out = await e.run('w2', null)
      expect(out.error).toMatchObject({ code: 'VALIDATION_ERROR', step: 'badOut' })
      expect(calls).toBe(2)
      const inp = await e.run('w3', { nope: 1 })
      expect(inp.error).toMatchObject({ code: 'VALIDATION_ERROR', step: 'badIn' })
      expect(calls).toBe(2)
      const rec = await store().getStepExecution(inp.runId, 'badIn')
      expect(rec.error?.details).toEqual({ issues: [{ path: 'need', message: expect.any(String) }] })
    })

    it('aborts the signal on timeout and ignores the late result', async () => {
      let sawAbort = false
      let lateFinished = false
      const slow = defineStep({
        id: 'slow',
        timeoutMs: 30,
        maxRetries: 1,
        retryDelayMs: 0,
        handler: async (ctx) => {
          ctx.signal.addEventListener('abort', () => { sawAbort = true })
          await new Promise((r) => setTimeout(r, 80))
          lateFinished = true
          return 'late'
        },
      })
      const wf = workflow({ id: 'to' }).then(slow).build()
      const run = await engine([wf], { clock: systemClock }).run('to', null)
      expect(sawAbort).toBe(true)
      expect(run.status).toBe('FAILED')
      expect(run.error).toMatchObject({ code: 'TIMEOUT', step: 'slow' })
      expect(run.output).toBeNull()
      await new Promise((r) => setTimeout(r, 120))
      expect(lateFinished).toBe(true)
      expect(await store().getStepExecution(run.runId, 'slow')).toMatchObject({ status: 'FAILED', attempt: 1, output: null })
      expect((await store().getRun(run.runId)).status).toBe('FAILED')
    })

    it('times a step out when the virtual clock reaches its timeout, and not a millisecond before', async () => {
      let signal: AbortSignal | undefined
      let started!: () => void
      const running = new Promise<void>((r) => { started = r })
      const hangs = defineStep({
        id: 'hangs',
        timeoutMs: 3_600_000,
        maxRetries: 0,
        handler: (ctx) => {
          signal = ctx.signal
          started()
          return sleepUntilAborted(ctx.signal)
        },
      })
      const wf = workflow({ id: 'virtual-timeout' }).then(hangs).build()
      const t0 = clock().now()
      const done = engine([wf]).run('virtual-timeout', null)
      await running
      clock().advance(3_599_999)
      await timersFired()
      expect(signal?.aborted).toBe(false)
      clock().advance(1)
      const run = await done
      expect(signal?.reason).toMatchObject({ code: 'TIMEOUT' })
      expect(run).toMatchObject({ status: 'FAILED', error: { code: 'TIMEOUT', step: 'hangs', timestamp: t0 + 3_600_000 } })
      expect(await store().getStepExecution(run.runId, 'hangs')).toMatchObject({
        status: 'FAILED',
        attempt: 0,
        error: { code: 'TIMEOUT' },
        completedAt: t0 + 3_600_000,
      })
    })

    it('starts a retry when the virtual clock reaches its backoff while a sibling step still runs', async () => {
      const attempts: number[] = []
      let retried!: () => void
      const retrying = new Promise<void>((r) => { retried = r })
      let release!: () => void
      const gate = new Promise<void>((r) => { release = r })
      const flaky = defineStep({
        id: 'flaky',
        maxRetries: 1,
        retryDelayMs: 60_000,
        jitter: false,
        handler: (ctx) => {
          attempts.push(ctx.attempt)
          if (ctx.attempt === 0) throw new Error('first attempt fails')
          retried()
          return 'ok'
        },
      })
      // Its timeout is a virtual-clock timer too: set beyond the minute this test advances.
      const slow = defineStep({ id: 'slow', timeoutMs: 3_600_000, handler: async () => { await gate; return 'slow' } })
      const wf = workflow({ id: 'retry-beside' }).parallel([flaky, slow]).build()
      const begun = await engine([wf]).begin('retry-beside', null)
      const runId = begun.run.runId
      // Virtual time must stand still until the failure is recorded: the backoff counts from that instant.
      await vi.waitFor(async () => expect((await store().getStepExecution(runId, 'flaky')).status).toBe('RETRYING'), {
        timeout: 20_000,
      })
      const { wakeAt } = await store().getStepExecution(runId, 'flaky')
      expect(wakeAt).toBe(clock().now() + 60_000)
      clock().advance(59_999)
      await timersFired()
      expect(attempts).toEqual([0])
      clock().advance(1)
      await retrying
      expect(attempts).toEqual([0, 1])
      release()
      expect(await begun.done).toMatchObject({ status: 'COMPLETED', output: { flaky: 'ok', slow: 'slow' } })
    })

    it('continues past a continue-on-error failure, handing null to its successor', async () => {
      let received: unknown = 'unset'
      const fails = defineStep({ id: 'fails', maxRetries: 0, continueOnError: true, handler: (): number => { throw new Error('x') } })
      const after = defineStep({ id: 'after', handler: (_c, i: number | null) => { received = i; return 'done' } })
      const wf = workflow({ id: 'coe' }).then(fails).then(after).build()
      const run = await engine([wf]).run('coe', null)
      expect(run).toMatchObject({ status: 'COMPLETED', output: 'done', progress: 1 })
      expect(received).toBeNull()
      expect((await store().getStepExecution(run.runId, 'fails')).status).toBe('FAILED')
    })

    it('aborts running siblings when a step fails fatally', async () => {
      let siblingAborted = false
      const boom = defineStep({ id: 'boom', maxRetries: 0, handler: async () => { await Promise.resolve(); throw new Error('fatal') } })
      const waits = defineStep({
        id: 'waits',
        handler: async (ctx) => {
          ctx.signal.addEventListener('abort', () => { siblingAborted = true })
          return sleepUntilAborted(ctx.signal)
        },
      })
      const wf = workflow({ id: 'sib' }).parallel([boom, waits]).build()
      const run = await engine([wf], { clock: systemClock }).run('sib', null)
      expect(run.status).toBe('FAILED')
      expect(run.error?.step).toBe('boom')
      expect(siblingAborted).toBe(true)
      const steps = await store().listStepExecutions(run.runId)
      expect(Object.fromEntries(steps.map((s) => [s.stepId, s.status]))).toEqual({ boom: 'FAILED', waits: 'CANCELLED' })
    })

    it('cancels a running run: the step signal fires, step and run end CANCELLED, and the state is sticky', async () => {
      const { waits, running, aborted } = abortableWait()
      const wf = workflow({ id: 'cancel' }).then(waits).then(inc('never') as AnyStep).build()
      const e = engine([wf], { clock: systemClock })
      const { run } = await e.start('cancel', null)
      const done = e.execute(run.runId)
      await running
      const cancelled = await e.cancel(run.runId)
      expect(cancelled.status).toBe('CANCELLED')
      expect(aborted()).toBe(true)
      expect((await done).status).toBe('CANCELLED')
      expect(await store().getStepExecution(run.runId, 'waits')).toMatchObject({ status: 'CANCELLED' })
      await expect(e.cancel(run.runId)).rejects.toMatchObject({ code: 'RUN_ALREADY_FINISHED' })
      expect((await e.execute(run.runId)).status).toBe('CANCELLED')
      await expect(store().getStepExecution(run.runId, 'never')).rejects.toMatchObject({ code: 'STEP_EXECUTION_NOT_FOUND' })
    })

    it('with isolatedRequests, a cancel only flags the execution, which aborts its step at its own next look', async () => {
      const { waits, running, aborted } = abortableWait()
      const wf = workflow({ id: 'isolated-cancel' }).then(waits).build()
      const e = engine([wf], { isolatedRequests: true })
      const { run } = await e.start('isolated-cancel', null)
      const done = e.execute(run.runId)
      await running
      expect((await e.cancel(run.runId)).status).toBe('CANCELLED')
      await timersFired()
      expect(aborted()).toBe(false)
      clock().advance(LOCAL_POLL_MS)
      expect((await done).status).toBe('CANCELLED')
      expect(aborted()).toBe(true)
      expect(await store().getStepExecution(run.runId, 'waits')).toMatchObject({ status: 'CANCELLED' })
    })

    it('keeps the lease expiry between step commits and extends it once half the lease has passed', async () => {
      const leaseMs = 1_000
      const commits: { kept: number; sent: number | null; now: number }[] = []
      const recording = onCommit(store(), (lease, commit, next) => {
        commits.push({ kept: lease.expiresAt, sent: commit.leaseExpiresAt, now: commit.now })
        return next(lease, commit)
      })
      // Each step takes its share of the lease on the virtual clock: 0.2 + 0.2 keeps it, + 0.3 passes half.
      const takes = (id: string, share: number) =>
        defineStep({
          id,
          input: num,
          output: num,
          handler: (_ctx, { n }) => {
            clock().advance(leaseMs * share)
            return { n: n + 1 }
          },
        })
      const wf = workflow({ id: 'lease-keep', input: num })
        .then(takes('a', 0.2))
        .then(takes('b', 0.2))
        .then(takes('c', 0.3))
        .then(takes('d', 0.2))
        .build()
      const t0 = clock().now()
      const run = await engine([wf], { store: recording, leaseMs }).run('lease-keep', { n: 0 })
      expect(run).toMatchObject({ status: 'COMPLETED', output: { n: 4 } })
      const created = t0 + leaseMs
      const renewed = t0 + 0.7 * leaseMs
      expect(commits).toEqual([
        { kept: created, sent: created, now: t0 + 0.2 * leaseMs },
        { kept: created, sent: created, now: t0 + 0.4 * leaseMs },
        { kept: created, sent: renewed + leaseMs, now: renewed },
        { kept: renewed + leaseMs, sent: null, now: t0 + 0.9 * leaseMs },
      ])
      expect(await store().getRun(run.runId)).toMatchObject({ leaseOwner: null, leaseExpiresAt: null })
    })

    it('stops an executor in another engine at its next lease renewal after a cancel', async () => {
      const { waits, running, aborted } = abortableWait()
      const wf = workflow({ id: 'xcancel' }).then(waits).build()
      const owner = engine([wf], { clock: systemClock, leaseMs: 200 })
      const other = engine([wf], { clock: systemClock, leaseMs: 200 })
      const { run } = await owner.start('xcancel', null)
      const done = owner.execute(run.runId)
      await running
      await other.cancel(run.runId)
      expect((await done).status).toBe('CANCELLED')
      expect(aborted()).toBe(true)
    })

    it('resumes a run whose engine died after k steps without re-running completed handlers', async () => {
      const calls: string[] = []
      const wf = workflow({ id: 'crash', input: num })
        .then(inc('a', calls)).then(inc('b', calls)).then(inc('c', calls)).then(inc('d', calls))
        .build()
      // Commits: 1 marks a started, 2 completes a/starts b, 3 completes b/starts c. Die at 3: b ran, unrecorded.
      const doomed = engine([wf], { store: crashOnCommit(store(), 3), leaseMs: 10_000 })
      const { run } = await doomed.start('crash', { n: 0 })
      const dead = await doomed.execute(run.runId)
      expect(dead.status).toBe('RUNNING')
      expect(calls).toEqual(['a', 'b'])
      expect(await store().listDueRuns(clock().now(), 10)).not.toContain(run.runId)
      clock().advance(10_001)
      expect(await store().listDueRuns(clock().now(), 10)).toContain(run.runId)
      const survivor = engine([wf])
      const sweep = await survivor.resumeDue()
      expect(sweep).toEqual({ claimed: 1, completed: 1, parked: 0, deleted: 0 })
      const finished = await store().getRun(run.runId)
      expect(finished).toMatchObject({ status: 'COMPLETED', output: { n: 4 }, leaseOwner: null })
      expect(calls).toEqual(['a', 'b', 'b', 'c', 'd'])
      // The interrupted attempt of b counts as an attempt.
      expect(await store().getStepExecution(run.runId, 'b')).toMatchObject({ status: 'COMPLETED', attempt: 1 })
      expect(await store().getStepExecution(run.runId, 'a')).toMatchObject({ status: 'COMPLETED', attempt: 0 })
    })

    it('does not charge an interrupted attempt to maxRetries: a maxRetries: 0 step interrupted once completes at once', async () => {
      let invocations = 0
      // A backoff above the inline limit would make the resumed run yield: the interrupted attempt must not wait one.
      const once = defineStep({ id: 'once', maxRetries: 0, retryDelayMs: 600_000, handler: () => ++invocations })
      const wf = workflow({ id: 'once' }).then(once).build()
      // Commit 2 would record the finished attempt: the process dies after the handler ran.
      const doomed = engine([wf], { store: crashOnCommit(store(), 2), leaseMs: 1000 })
      const { run } = await doomed.start('once', null)
      await doomed.execute(run.runId)
      clock().advance(1001)
      const resumed = await engine([wf]).execute(run.runId)
      expect(resumed).toMatchObject({ status: 'COMPLETED', output: 2 })
      expect(invocations).toBe(2)
      // The attempt number stays the attempt's identity (ctx.attempt); the interruption is counted apart.
      expect(await store().getStepExecution(run.runId, 'once')).toMatchObject({ status: 'COMPLETED', attempt: 1, interruptions: 1, error: null })
    })

    it('spends retries only on failed attempts: interrupted, failed, then completed with maxRetries: 1', async () => {
      const attempts: number[] = []
      const flaky = defineStep({
        id: 'flaky',
        maxRetries: 1,
        retryDelayMs: 0,
        handler: (ctx) => {
          attempts.push(ctx.attempt)
          if (ctx.attempt === 1) throw new Error('fails once on purpose')
          return ctx.attempt
        },
      })
      const wf = workflow({ id: 'flaky-int' }).then(flaky).build()
      const doomed = engine([wf], { store: crashOnCommit(store(), 2), leaseMs: 1000 })
      const { run } = await doomed.start('flaky-int', null)
      await doomed.execute(run.runId)
      clock().advance(1001)
      expect(await engine([wf]).execute(run.runId)).toMatchObject({ status: 'COMPLETED', output: 2 })
      expect(attempts).toEqual([0, 1, 2])
      expect(await store().getStepExecution(run.runId, 'flaky')).toMatchObject({ status: 'COMPLETED', attempt: 2, interruptions: 1 })
    })

    it('fails a step that kills its worker on every attempt after maxInterruptions, with ATTEMPT_INTERRUPTED', async () => {
      let invocations = 0
      const poison = defineStep({ id: 'poison', maxRetries: 0, retryDelayMs: 0, handler: () => { invocations++; return 1 } })
      const wf = workflow({ id: 'poison' }).then(poison).build()
      // The bound comes from the engine's defaults (docs/decisions.md#configuration-merge).
      const defaults = { maxInterruptions: 2 }
      const first = engine([wf], { store: crashOnCommit(store(), 2), leaseMs: 1000, defaults })
      const { run } = await first.start('poison', null)
      await first.execute(run.runId)
      let rounds = 0
      while ((await store().getRun(run.runId)).status === 'RUNNING' && rounds < 10) {
        rounds++
        clock().advance(1001)
        // Each new engine dies right after the handler finishes, before its completion is recorded.
        const next = engine([wf], { store: crashOnCommit(store(), 2), leaseMs: 1000, defaults })
        await next.execute(run.runId)
      }
      const final = await store().getRun(run.runId)
      expect(final.status).toBe('FAILED')
      expect(final.error).toMatchObject({ code: 'ATTEMPT_INTERRUPTED', step: 'poison' })
      // Attempts 0, 1 and 2 ran and were interrupted; the third interruption is one more than the bound allows.
      expect(invocations).toBe(3)
      expect(rounds).toBe(3)
      expect(await store().getStepExecution(run.runId, 'poison')).toMatchObject({
        status: 'FAILED',
        attempt: 2,
        interruptions: 3,
        error: { code: 'ATTEMPT_INTERRUPTED', attempt: 2 },
      })
    })

    it('interrupts an attempt still running when the shutdown grace ends, releases the lease, and another engine resumes at once', async () => {
      let aborted: unknown = null
      let started!: () => void
      const running = new Promise<void>((r) => { started = r })
      let invocations = 0
      const stubborn = defineStep({
        id: 'stubborn',
        maxRetries: 0,
        handler: (ctx) => {
          invocations++
          if (ctx.attempt > 0) return 'done'
          ctx.signal.addEventListener('abort', () => { aborted = ctx.signal.reason })
          started()
          // Ignores its signal: shutdown must not wait for it.
          return new Promise<never>(() => {})
        },
      })
      const wf = workflow({ id: 'stubborn' }).then(stubborn).build()
      const yields: [string, number][] = []
      const first = engine([wf], { onYield: (runId, dueAt) => yields.push([runId, dueAt]) })
      const begun = await first.begin('stubborn', null)
      await running
      const closing = first.shutdown({ graceMs: 1000 })
      clock().advance(999)
      await timersFired()
      expect(aborted).toBeNull()
      clock().advance(1)
      await closing
      const now = clock().now()
      expect(aborted).toMatchObject({ code: 'ATTEMPT_INTERRUPTED' })
      expect(await begun.done).toMatchObject({ status: 'RUNNING', leaseOwner: null })
      expect(yields).toEqual([[begun.run.runId, now]])
      expect(await store().getRun(begun.run.runId)).toMatchObject({ status: 'RUNNING', leaseOwner: null, leaseExpiresAt: null, wakeAt: null })
      expect(await store().getStepExecution(begun.run.runId, 'stubborn')).toMatchObject({
        status: 'RETRYING',
        attempt: 0,
        interruptions: 1,
        error: { code: 'ATTEMPT_INTERRUPTED', attempt: 0 },
      })
      // Due now, not when a lease expires: a second engine claims it without the clock moving.
      expect(await store().listDueRuns(now, 10)).toContain(begun.run.runId)
      expect(await engine([wf]).resumeDue()).toMatchObject({ claimed: 1, completed: 1 })
      expect(await store().getRun(begun.run.runId)).toMatchObject({ status: 'COMPLETED', output: 'done' })
      expect(await store().getStepExecution(begun.run.runId, 'stubborn')).toMatchObject({ status: 'COMPLETED', attempt: 1, interruptions: 1 })
      expect(invocations).toBe(2)
    })

    it('makes a sleep still computing its deadline at the end of the shutdown grace due at once, to compute it again', async () => {
      let calls = 0
      let computing!: () => void
      const started = new Promise<void>((r) => { computing = r })
      const wf = workflow({ id: 'slow-sleep' })
        .sleep(() => {
          calls++
          if (calls > 1) return 0
          computing()
          return new Promise<never>(() => {})
        })
        .build()
      const first = engine([wf])
      const begun = await first.begin('slow-sleep', null)
      await started
      const closing = first.shutdown({ graceMs: 10 })
      clock().advance(10)
      await closing
      expect(await begun.done).toMatchObject({ status: 'RUNNING', leaseOwner: null })
      // Due at once, and the next engine computes the deadline again: the sleep node went back to ready.
      expect(await store().getRun(begun.run.runId)).toMatchObject({ status: 'RUNNING', wakeAt: null })
      expect(await engine([wf]).resumeDue()).toMatchObject({ claimed: 1, completed: 1 })
      expect(await store().getRun(begun.run.runId)).toMatchObject({ status: 'COMPLETED' })
      expect(calls).toBe(2)
    })

    it('lets attempts that finish within the shutdown grace commit as usual', async () => {
      let release!: () => void
      const gate = new Promise<void>((r) => { release = r })
      let started!: () => void
      const running = new Promise<void>((r) => { started = r })
      const prompt = defineStep({ id: 'prompt', handler: async () => { started(); await gate; return 'ok' } })
      const next = defineStep({ id: 'next', handler: () => 'never here' })
      const wf = workflow({ id: 'prompt' }).then(prompt).then(next).build()
      expect(() => engine([wf], { shutdownGraceMs: -1 })).toThrow('shutdownGraceMs must be an integer >= 0')
      const first = engine([wf])
      const begun = await first.begin('prompt', null)
      await running
      await expect(first.shutdown({ graceMs: 0.5 })).rejects.toThrow('graceMs must be an integer >= 0')
      const closing = first.shutdown({ graceMs: 1000 })
      release()
      await closing
      const steps = await store().listStepExecutions(begun.run.runId)
      // The finished attempt is recorded; the next step is not started during shutdown.
      expect(steps.map((s) => [s.stepId, s.status, s.interruptions])).toEqual([['prompt', 'COMPLETED', 0]])
      expect(await store().getRun(begun.run.runId)).toMatchObject({ status: 'RUNNING', leaseOwner: null, wakeAt: null })
    })

    it('persists progress as it changes: 0.5 after one of two steps, 1 at completion', async () => {
      const counting = countingStore(store())
      const progress: number[] = []
      const spy = onCommit(counting.store, (lease, commit, next) => {
        if (commit.run.progress !== undefined) progress.push(commit.run.progress)
        return next(lease, commit)
      })
      const wf = workflow({ id: 'prog', input: num }).then(inc('a')).then(inc('b')).build()
      await engine([wf], { store: spy }).run('prog', { n: 0 })
      expect(progress).toEqual([0.5, 1])
    })

    it('makes N + 1 store calls for an N-step sequential run begun at once, N + 3 when swept', async () => {
      const N = 10
      let builder = workflow({ id: 'budget', input: num }).then(inc('s0'))
      for (let i = 1; i < N; i++) builder = builder.then(inc(`s${i}`))
      const wf = builder.build()
      const counting = countingStore(store())
      const e = engine([wf], { store: counting.store })
      const run = await e.run('budget', { n: 0 })
      expect(run.output).toEqual({ n: N })
      // The creation carries the first step's start; each later commit ends one step and starts the next.
      expect(counting.calls).toEqual({ createRun: 1, commit: N })
      expect(counting.total()).toBe(N + 1)

      // start then execute: the creation and the first start are two calls.
      counting.reset()
      const { run: started } = await e.start('budget', { n: 0 })
      expect((await e.execute(started.runId)).output).toEqual({ n: N })
      expect(counting.calls).toEqual({ createRun: 1, commit: N + 1 })

      // Left to the sweeper: list, claim, then the same commits.
      const starter = engine([wf])
      const { run: queued } = await starter.start('budget', { n: 0 })
      await starter.shutdown()
      counting.reset()
      await e.resumeDue()
      expect((await store().getRun(queued.runId)).status).toBe('COMPLETED')
      expect(counting.calls.commit).toBe(N + 1)
      expect((counting.calls.claimRun ?? 0) + (counting.calls.listDueRuns ?? 0)).toBe(2)
    })

    it('begin stores the run RUNNING with its entry steps started, then executes it', async () => {
      const calls: string[] = []
      const wf = workflow({ id: 'begun', input: num }).parallel([inc('a', calls), inc('b', calls)]).build()
      const e = engine([wf])
      const begun = await e.begin('begun', { n: 1 }, { idempotencyKey: 'once' })
      expect(begun.created).toBe(true)
      expect(begun.run).toMatchObject({ status: 'RUNNING', startedAt: clock().now(), leaseOwner: e.ownerId })
      const final = await begun.done
      expect(final).toMatchObject({ status: 'COMPLETED', output: { a: { n: 2 }, b: { n: 2 } } })
      expect(calls.sort()).toEqual(['a', 'b'])
      const steps = await store().listStepExecutions(final.runId)
      expect(steps.map((s) => [s.stepId, s.status, s.attempt])).toEqual([['a', 'COMPLETED', 0], ['b', 'COMPLETED', 0]])

      // An idempotent duplicate is answered with the stored run and runs nothing.
      const again = await e.begin('begun', { n: 5 }, { idempotencyKey: 'once' })
      expect(again.created).toBe(false)
      expect(await again.done).toEqual(await store().getRun(final.runId))
      expect(calls).toHaveLength(2)
    })

    it('begin reports a failed creation and leaves nothing running', async () => {
      const calls: string[] = []
      const wf = workflow({ id: 'taken', input: num }).then(inc('a', calls)).build()
      const e = engine([wf], { generateId: () => 'fixed-id' })
      await store().createRun({ ...(await engine([wf]).start('taken', { n: 0 })).run, runId: 'fixed-id' })
      await expect(e.begin('taken', { n: 0 })).rejects.toMatchObject({ code: 'RUN_ALREADY_EXISTS' })
      await e.shutdown()
      expect(calls).toEqual([])
      expect(await store().listStepExecutions('fixed-id')).toEqual([])
    })

    it('resumes a begun run whose process died mid-attempt: the stored start counts the attempt, the next one runs', async () => {
      const calls: string[] = []
      const wf = workflow({ id: 'died', input: num, config: { maxRetries: 1, retryDelayMs: 1 } }).then(inc('a', calls)).build()
      // The creating call stores the attempt's start; the process "dies" before the commit that would end it.
      const dying = engine([wf], { store: crashOnCommit(store(), 1) })
      const { run, done } = await dying.begin('died', { n: 0 })
      await done
      clock().advance(60_000)
      await engine([wf]).resumeDue()
      const final = await store().getRun(run.runId)
      expect(final).toMatchObject({ status: 'COMPLETED', output: { n: 1 } })
      const [step] = await store().listStepExecutions(run.runId)
      expect(step).toMatchObject({ status: 'COMPLETED', attempt: 1 })
      expect(calls).toEqual(['a', 'a'])
    })

    it('bounds concurrent steps of one run with maxConcurrency', async () => {
      let running = 0
      let peak = 0
      const step = (id: string) =>
        defineStep({
          id,
          handler: async () => {
            running++
            peak = Math.max(peak, running)
            await new Promise((r) => setTimeout(r, 5))
            running--
            return id
          },
        })
      const wf = workflow({ id: 'conc', config: { maxConcurrency: 2 } })
        .parallel([step('a'), step('b'), step('c'), step('d'), step('e')])
        .build()
      const run = await engine([wf], { clock: systemClock }).run('conc', null)
      expect(run.status).toBe('COMPLETED')
      expect(peak).toBe(2)
      const steps = await store().listStepExecutions(run.runId)
      expect(steps.map((s) => s.stepId)).toEqual(['a', 'b', 'c', 'd', 'e'])
      expect(steps.map((s) => s.executionIndex)).toEqual([0, 1, 2, 3, 4])
    })

    it('starts ready steps and due retries in insertion order under maxConcurrency 1 (docs/decisions.md#scheduling-order)', async () => {
      const calls: string[] = []
      const step = (id: string, failFirst = false) =>
        defineStep({
          id,
          maxRetries: 1,
          retryDelayMs: 0,
          handler: (ctx) => {
            calls.push(`${id}${ctx.attempt}`)
            if (failFirst && ctx.attempt === 0) throw new Error('once')
            return id
          },
        })
      const wf = workflow({ id: 'order', config: { maxConcurrency: 1 } })
        .parallel([step('c'), step('a', true), step('b')])
        .then(step('d'))
        .build()
      const run = await engine([wf]).run('order', null)
      expect(run.status).toBe('COMPLETED')
      // a's retry (index 1) is due before b (index 2) is started, and goes first.
      expect(calls).toEqual(['c0', 'a0', 'a1', 'b0', 'd0'])
    })

    it('persists a long retry delay as wakeAt, releases the lease and resumes through the sweeper', async () => {
      const attempts: number[] = []
      const later = defineStep({
        id: 'later',
        maxRetries: 2,
        retryDelayMs: 60_000,
        handler: (ctx) => {
          attempts.push(ctx.attempt)
          if (ctx.attempt === 0) throw new Error('not yet')
          return 'done'
        },
      })
      const wf = workflow({ id: 'wake' }).then(later).build()
      const e = engine([wf], { inlineDelayLimitMs: 1000 })
      const yielded = await e.run('wake', null)
      expect(yielded).toMatchObject({ status: 'RUNNING', leaseOwner: null, wakeAt: clock().now() + 60_000 })
      expect(await store().getRun(yielded.runId)).toMatchObject({ status: 'RUNNING', leaseOwner: null, wakeAt: clock().now() + 60_000 })
      expect(await store().getStepExecution(yielded.runId, 'later')).toMatchObject({ status: 'RETRYING', attempt: 0 })
      expect(await e.resumeDue()).toEqual({ claimed: 0, completed: 0, parked: 0, deleted: 0 })
      clock().advance(60_000)
      expect(await e.resumeDue()).toEqual({ claimed: 1, completed: 1, parked: 0, deleted: 0 })
      expect(attempts).toEqual([0, 1])
      expect(await store().getRun(yielded.runId)).toMatchObject({ status: 'COMPLETED', output: 'done', wakeAt: null })
    })

    it('runs a due run once when two sweeps of one engine overlap', async () => {
      let calls = 0
      const once = defineStep({ id: 'once', handler: () => ++calls })
      const wf = workflow({ id: 'overlap' }).then(once).build()
      const starter = engine([wf])
      const { run } = await starter.start('overlap', null)
      await starter.shutdown()
      const e = engine([wf])
      const sweeps = await Promise.all([e.resumeDue(), e.resumeDue()])
      expect(sweeps.map((s) => s.claimed).sort()).toEqual([0, 1])
      expect(calls).toBe(1)
      expect(await store().getRun(run.runId)).toMatchObject({ status: 'COMPLETED', output: 1 })
    })

    it('merges config field by field: engine defaults < workflow config < step options', async () => {
      let calls = 0
      const step = defineStep({ id: 's', maxRetries: 1, handler: () => { calls++; throw new Error('x') } })
      const wf = workflow({ id: 'merge', config: { retryDelayMs: 7, maxRetries: 4 } }).then(step).build()
      const plain = defineStep({ id: 's', handler: () => { calls++; throw new Error('x') } })
      const wf2 = workflow({ id: 'merge2', config: { retryDelayMs: 7 } }).then(plain).build()
      const e = engine([wf, wf2], { defaults: { maxRetries: 2, backoff: 'EXPONENTIAL' } })
      await e.run('merge', null)
      expect(calls).toBe(2)
      expect(clock().sleeps).toEqual([7])
      calls = 0
      await e.run('merge2', null)
      expect(calls).toBe(3)
      expect(clock().sleeps).toEqual([7, 7, 14])
      expect(step.config).toEqual({ maxRetries: 1 })
    })

    it('shares state between steps and reads any step input or output', async () => {
      const setup = defineStep({
        id: 'setup',
        handler: async (ctx, i: { v: number }) => {
          await ctx.state.set('flag', { on: true })
          return i.v * 10
        },
      })
      const read = defineStep({
        id: 'read',
        handler: async (ctx, prev: number) => ({
          prev,
          flag: await ctx.state.get('flag'),
          has: await ctx.state.has('flag'),
          missing: await ctx.state.get('nope'),
          setupOut: await ctx.getOutput<number>('setup'),
          setupIn: await ctx.getInput('setup'),
        }),
      })
      const wf = workflow<{ v: number }>({ id: 'state' }).then(setup).then(read).build()
      const run = await engine([wf]).run('state', { v: 4 })
      expect(run.output).toEqual({ prev: 40, flag: { on: true }, has: true, setupOut: 40, setupIn: { v: 4 } })
      expect(await store().getAllState(run.runId)).toEqual({ flag: { on: true } })
    })

    it('returns the existing run for a repeated idempotency key and validates start input', async () => {
      const wf = workflow({ id: 'idem', input: num }).then(inc('a')).build()
      const e = engine([wf])
      const first = await e.start('idem', { n: 1 }, { idempotencyKey: 'k1' })
      const again = await e.start('idem', { n: 1 }, { idempotencyKey: 'k1' })
      expect(first.created).toBe(true)
      expect(again).toMatchObject({ created: false, run: { runId: first.run.runId } })
      await expect(e.start('idem', { n: 'x' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' })
      await expect(e.start('nope', {})).rejects.toMatchObject({ code: 'WORKFLOW_NOT_FOUND' })
      expect((await store().listRuns({ workflowId: 'idem' })).runs).toHaveLength(1)
    })

    it('does not re-execute a completed run', async () => {
      const calls: string[] = []
      const wf = workflow({ id: 'once', input: num }).then(inc('a', calls)).build()
      const e = engine([wf])
      const run = await e.run('once', { n: 0 })
      const again: RunRecord = await e.execute(run.runId)
      expect(again.status).toBe('COMPLETED')
      expect(calls).toEqual(['a'])
    })
  })
}
