/**
 * @module
 * Durability proofs that need no process of their own: racing sweepers, injected store faults, concurrent
 * duplicate starts and retention. Parameterised by a store factory; every store runs them unchanged, once per
 * durability mode (README "Durability modes"): pipelined runs keep the guarantees these cases check.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Engine } from '../../src/core/engine'
import { StoreUnavailableError } from '../../src/core/errors'
import { isTerminalRunStatus, type RunStatus } from '../../src/core/model'
import { defineStep } from '../../src/core/step'
import { DURABILITY_MODES, type Durability } from '../../src/core/step-config'
import { workflow } from '../../src/core/workflow'
import type { RunCommit, WorkflowStore } from '../../src/core/store'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

interface Invocation {
  readonly key: string
  readonly start: number
  end: number
}

/** Records every handler invocation with its time span, to detect two attempts of one step overlapping. */
function invocationLog() {
  const log: Invocation[] = []
  let tick = 0
  const step = (id: string) =>
    defineStep({
      id,
      input: z.object({ n: z.number() }),
      output: z.object({ n: z.number() }),
      handler: async (ctx, { n }) => {
        const entry: Invocation = { key: `${ctx.runId}/${ctx.stepId}`, start: tick++, end: Number.POSITIVE_INFINITY }
        log.push(entry)
        await new Promise((r) => setTimeout(r, 1 + (n % 3)))
        entry.end = tick++
        return { n: n + 1 }
      },
    })
  const overlaps = () => {
    const byKey = new Map<string, Invocation[]>()
    for (const inv of log) byKey.set(inv.key, [...(byKey.get(inv.key) ?? []), inv])
    let count = 0
    for (const list of byKey.values()) {
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i] as Invocation
          const b = list[j] as Invocation
          if (a.start < b.end && b.start < a.end) count++
        }
      }
    }
    return count
  }
  return { log, step, overlaps }
}

type FaultMode = 'throw' | 'lost-reply'

/**
 * Fails a fraction of store calls with STORE_UNAVAILABLE: before reaching the store (`throw`), or after the
 * store applied it (`lost-reply`, the write happened but the caller never hears so). Records the first
 * terminal status each run reached, to prove it is never overwritten.
 */
function faultyStore(inner: WorkflowStore, mode: FaultMode, rate: number, random: () => number) {
  let enabled = true
  let injected = 0
  const firstTerminal = new Map<string, RunStatus>()
  const store = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop)
      if (typeof value !== 'function' || prop === 'close') return value
      return async (...args: unknown[]) => {
        const call = () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args)
        const fault = enabled && random() < rate
        if (fault) injected++
        if (fault && mode === 'throw') throw new StoreUnavailableError(`injected fault in ${String(prop)}`)
        const result = await call()
        if (prop === 'commit') {
          const [lease, commit] = args as [{ runId: string }, RunCommit]
          const status = commit.run.status
          if (status && isTerminalRunStatus(status) && !firstTerminal.has(lease.runId)) firstTerminal.set(lease.runId, status)
        }
        if (prop === 'cancelRun') firstTerminal.set(args[0] as string, 'CANCELLED')
        if (fault) throw new StoreUnavailableError(`injected lost reply from ${String(prop)}`)
        return result
      }
    },
  })
  return { store, firstTerminal, injected: () => injected, stop: () => { enabled = false } }
}

/** Deterministic pseudo-random numbers, so a failing fault schedule can be replayed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const until = async (check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

export function runDurabilityCases(name: string, setup: () => Promise<EngineHarness>, scale = { runs: 100 }): void {
  for (const durability of DURABILITY_MODES) durabilityCases(name, setup, scale, durability)
}

function durabilityCases(name: string, setup: () => Promise<EngineHarness>, scale: { runs: number }, durability: Durability): void {
  describe(`Durability on ${name} (${durability})`, () => {
    // Most tests build engines by hand (real clock, their own owners and leases); the retention test needs the
    // harness's virtual clock, so it uses `engine()`.
    const { store, clock, engine } = useEngineHarness(setup)

    it(`completes ${scale.runs} runs once each while 3 engines sweep concurrently, never overlapping an attempt`, async () => {
      const { step, overlaps, log } = invocationLog()
      const wf = workflow({ id: 'race', input: z.object({ n: z.number() }), config: { durability } }).then(step('a')).then(step('b')).then(step('c')).build()
      const starter = new Engine({ store: store(), workflows: [wf] })
      const ids: string[] = []
      for (let i = 0; i < scale.runs; i++) ids.push((await starter.start('race', { n: i })).run.runId)
      await starter.shutdown()
      const engines = [0, 1, 2].map((i) => new Engine({ store: store(), workflows: [wf], ownerId: `sweeper-${i}`, leaseMs: 5_000 }))
      const sweepers = engines.map(async (e) => {
        for (let round = 0; round < 200; round++) {
          const { claimed } = await e.resumeDue({ limit: 10 })
          if (claimed === 0 && (await store().listDueRuns(Date.now(), 1)).length === 0) return
        }
      })
      await Promise.all(sweepers)
      const runs = await Promise.all(ids.map((id) => store().getRun(id)))
      expect(runs.filter((r) => r.status !== 'COMPLETED')).toEqual([])
      expect(runs.every((r, i) => (r.output as { n: number }).n === i + 3)).toBe(true)
      expect(overlaps()).toBe(0)
      // No crash happened, so every step ran exactly once.
      expect(log.length).toBe(scale.runs * 3)
    }, 120_000)

    for (const mode of ['throw', 'lost-reply'] as const) {
      it(`ends every run terminal after store faults (${mode}), without overwriting a terminal state or losing an output`, async () => {
        const { step } = invocationLog()
        const wf = workflow({ id: 'faults', input: z.object({ n: z.number() }), config: { durability } }).then(step('a')).then(step('b')).build()
        const faulty = faultyStore(store(), mode, 0.15, seeded(mode === 'throw' ? 7 : 11))
        const engines = [0, 1].map((i) => new Engine({ store: faulty.store, workflows: [wf], ownerId: `f-${i}`, leaseMs: 300 }))
        const keys = Array.from({ length: 30 }, (_, i) => i)
        const runIds = new Map<number, string>()
        // Clients retry starts with an idempotency key, as they should against a flaky store.
        await Promise.all(
          keys.map(async (i) => {
            const e = engines[i % 2] as Engine
            for (let tries = 0; tries < 20 && !runIds.has(i); tries++) {
              try {
                const { run } = await e.start('faults', { n: i }, { idempotencyKey: `k${i}` })
                runIds.set(i, run.runId)
                await e.execute(run.runId)
              } catch {
                // injected; retried
              }
            }
          }),
        )
        // Cancel a few while the faults still fly: cancellation races with the executors' commits.
        for (const i of [3, 13, 23]) await engines[0]?.cancel(runIds.get(i) as string).catch(() => {})
        faulty.stop()
        expect(faulty.injected()).toBeGreaterThan(10)
        const healthy = new Engine({ store: store(), workflows: [wf], leaseMs: 300 })
        await until(async () => {
          await healthy.resumeDue({ limit: 50 })
          const all = (await store().listRuns({ workflowId: 'faults', limit: 100 })).runs
          return all.length === 30 && all.every((r) => isTerminalRunStatus(r.status))
        }, 20_000)
        const all = (await store().listRuns({ workflowId: 'faults', limit: 100 })).runs
        expect(all).toHaveLength(30)
        for (const run of all) {
          expect(isTerminalRunStatus(run.status)).toBe(true)
          const first = faulty.firstTerminal.get(run.runId)
          if (first) expect(run.status).toBe(first)
          if (run.status === 'COMPLETED') {
            const steps = await store().listStepExecutions(run.runId)
            for (const s of steps) {
              expect(s.status).toBe('COMPLETED')
              expect(await store().loadStepOutput(run.runId, s.stepId)).toEqual(s.output)
            }
            expect(run.output).toEqual({ n: (run.input as { n: number }).n + 2 })
          }
        }
        expect(all.filter((r) => r.status === 'COMPLETED').length).toBeGreaterThanOrEqual(27)
        await Promise.all([...engines, healthy].map((e) => e.shutdown()))
      }, 120_000)
    }

    it('creates one run for 20 concurrent starts with the same idempotency key', async () => {
      const { step } = invocationLog()
      const wf = workflow({ id: 'idem', input: z.object({ n: z.number() }), config: { durability } }).then(step('a')).build()
      const engines = [0, 1, 2].map(() => new Engine({ store: store(), workflows: [wf] }))
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (engines[i % 3] as Engine).start('idem', { n: 1 }, { idempotencyKey: 'same' })),
      )
      expect(new Set(results.map((r) => r.run.runId)).size).toBe(1)
      expect(results.filter((r) => r.created)).toHaveLength(1)
      expect((await store().listRuns({ workflowId: 'idem' })).runs).toHaveLength(1)
      await Promise.all(engines.map((e) => e.shutdown()))
    })

    it('deletes terminal runs older than the retention with all their children, keeping the rest', async () => {
      const { step } = invocationLog()
      const wf = workflow({ id: 'ret', input: z.object({ n: z.number() }), config: { durability } }).then(step('a')).build()
      const e = engine([wf], { retentionMs: 86_400_000 })
      const old = await e.run('ret', { n: 1 })
      clock().advance(86_400_001)
      const fresh = await e.run('ret', { n: 2 })
      const sweep = await e.resumeDue()
      expect(sweep.deleted).toBe(1)
      await expect(store().getRun(old.runId)).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' })
      expect(await store().listStepExecutions(old.runId)).toEqual([])
      expect((await store().getRun(fresh.runId)).status).toBe('COMPLETED')
    })
  })
}
