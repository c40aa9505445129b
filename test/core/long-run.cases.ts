/**
 * @module
 * Long runs at a flat cost per step (issue #17 part 4), parameterised by a store factory: a 10,000-step run
 * completes, and the engine's work per step does not grow with the run's length. Work is counted (reads of the
 * workflow's nodes, store calls), never timed. Named `.cases.ts` so vitest does not run it alone.
 */
import { describe, expect, it } from 'vitest'
import { defineStep } from '../../src/core/step'
import { workflow, type AnyWorkflow, type WorkflowBuilder, type WorkflowNode } from '../../src/core/workflow'
import { countingStore } from '../support/counting-store'
import { useEngineHarness, type EngineHarness } from '../support/engine-harness'

/** `s0 → s1 → … → s(n-1)`, each adding one to a number. */
export function chain(n: number, id = `chain-${n}`): AnyWorkflow {
  let b: WorkflowBuilder<number, number> = workflow<number>({ id })
  for (let i = 0; i < n; i++) b = b.then(defineStep({ id: `s${i}`, handler: (_c, x: number) => x + 1 }))
  return b.build()
}

/**
 * The workflow with every node wrapped so that each property read is counted: the scheduler's work on the
 * graph, which was O(n) per step (every loop iteration scanned all steps) and must be O(1).
 */
function countingReads(wf: AnyWorkflow): { workflow: AnyWorkflow; reads: () => number } {
  let reads = 0
  const steps = wf.steps.map(
    (node) =>
      new Proxy(node, {
        get(target, prop, receiver) {
          reads++
          return Reflect.get(target, prop, receiver) as unknown
        },
      }) as WorkflowNode,
  )
  return { workflow: { ...wf, steps }, reads: () => reads }
}

export function runLongRunCases(name: string, setup: () => Promise<EngineHarness>): void {
  describe(`long runs (${name})`, () => {
    const h = useEngineHarness(setup)

    it('completes a 10,000-step sequential run with N + 1 store calls', async () => {
      const n = 10_000
      const wf = chain(n)
      const counting = countingStore(h.store())
      const engine = h.engine([wf], { store: counting.store })
      const run = await engine.run(wf.id, 0)
      expect(run.status).toBe('COMPLETED')
      expect(run.output).toBe(n)
      expect(run.progress).toBe(1)
      expect(counting.total()).toBe(n + 1)
      const steps = await h.store().listStepExecutions(run.runId)
      expect(steps).toHaveLength(n)
      expect(steps.every((s) => s.status === 'COMPLETED')).toBe(true)
      expect(steps.at(-1)?.executionIndex).toBe(n - 1)
    }, 120_000)

    it('does the same work per step in a run of 2,000 steps as in one of 200: node reads and store calls', async () => {
      const perStep = async (n: number) => {
        const counted = countingReads(chain(n))
        const counting = countingStore(h.store())
        const engine = h.engine([counted.workflow], { store: counting.store })
        const before = counted.reads()
        const run = await engine.run(counted.workflow.id, 0)
        expect(run.output).toBe(n)
        return { reads: (counted.reads() - before) / n, calls: counting.total() / n }
      }
      const short = await perStep(200)
      const long = await perStep(2_000)
      // Scanning every node on each step made this ratio about 10; only per-run constants are left over.
      expect(long.reads).toBeLessThanOrEqual(short.reads * 1.05)
      expect(long.reads).toBeGreaterThan(0)
      expect(long.calls).toBeLessThanOrEqual(short.calls)
    }, 120_000)
  })
}
