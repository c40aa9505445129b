/**
 * @module
 * The benchmark workloads, the same ones peers were measured on (issue 7):
 * - W1: 10 sequential trivial steps, `{ n } → { n: n + 1 }`, start to COMPLETED;
 * - W2: 16 parallel trivial steps fed by the run input, then one step aggregating them;
 * - W3: 100 W1 runs started concurrently on one engine;
 * - W4: one run of 10,000 sequential W1 steps (issue #17: the cost per step must not grow with the run).
 * Issue #17's W5 (a map over 10,000 items) waits for `map()`, which the builder does not have yet.
 * Steps carry zod schemas, as a user's steps would: validation is part of what is measured.
 * W1 and W2 exist in both durability modes (README "Durability modes"): `bench-w1`/`bench-w2` strict (the default),
 * `bench-w1-pipelined`/`bench-w2-pipelined` with `config: { durability: 'pipelined' }`; {@link BENCH_WORKFLOW_IDS}.
 */
import { z } from 'zod'
import type { Engine } from '../src/core/engine'
import { defineStep } from '../src/core/step'
import type { Durability } from '../src/core/step-config'
import { workflow, type AnyWorkflow, type WorkflowBuilder } from '../src/core/workflow'

/** Steps of W1 (the N of the N + 3 budget). */
export const W1_STEPS = 10
/** Parallel steps of W2 (plus one aggregating step). */
export const W2_BRANCHES = 16
/** Concurrent W1 runs in one W3 batch. */
export const W3_RUNS = 100
/** Steps of the one W4 run. */
export const W4_STEPS = 10_000

export type WorkloadId = 'W1' | 'W2' | 'W3' | 'W4'

export const WORKLOAD_IDS: readonly WorkloadId[] = ['W1', 'W2', 'W3', 'W4']

export const WORKLOAD_TITLES: Readonly<Record<WorkloadId, string>> = {
  W1: `${W1_STEPS} sequential steps`,
  W2: `${W2_BRANCHES} parallel steps + 1 join`,
  W3: `${W3_RUNS} concurrent W1 runs`,
  W4: `one run of ${W4_STEPS.toLocaleString('en')} sequential steps`,
}

const Counter = z.object({ n: z.number().int() })

function increment(id: string) {
  return defineStep({ id, input: Counter, output: Counter, handler: (_ctx, { n }) => ({ n: n + 1 }) })
}

/** W1: `inc1 → inc2 → … → inc10`; `{ n: 0 }` ends as `{ n: 10 }`. */
export const w1Workflow = w1Of('step')

/** W1 with `durability: 'pipelined'`. */
export const w1PipelinedWorkflow = w1Of('pipelined')

function w1Of(durability: Durability) {
  const suffix = durability === 'step' ? '' : `-${durability}`
  return workflow({ id: `bench-w1${suffix}`, name: `Benchmark W1${suffix}`, input: Counter, config: { durability } })
    .then(increment('inc1'))
    .then(increment('inc2'))
    .then(increment('inc3'))
    .then(increment('inc4'))
    .then(increment('inc5'))
    .then(increment('inc6'))
    .then(increment('inc7'))
    .then(increment('inc8'))
    .then(increment('inc9'))
    .then(increment('inc10'))
    .build()
}

const branches = Array.from({ length: W2_BRANCHES }, (_, i) => increment(`p${i + 1}`))

const sum = defineStep({
  id: 'sum',
  input: z.record(z.string(), Counter),
  output: Counter,
  handler: (_ctx, outputs) => ({ n: Object.values(outputs).reduce((total, { n }) => total + n, 0) }),
})

/** W2: `p1 ‖ … ‖ p16 → sum`; `{ n: 0 }` ends as `{ n: 16 }`. */
export const w2Workflow = w2Of('step')

/** W2 with `durability: 'pipelined'`. */
export const w2PipelinedWorkflow = w2Of('pipelined')

function w2Of(durability: Durability) {
  const suffix = durability === 'step' ? '' : `-${durability}`
  return workflow({ id: `bench-w2${suffix}`, name: `Benchmark W2${suffix}`, input: Counter, config: { durability } })
    .parallel(branches as unknown as readonly [ReturnType<typeof increment>, ...ReturnType<typeof increment>[]])
    .then(sum)
    .build()
}

/** The workflow ids of W1 (also W3's runs) and W2 in each durability mode. */
export const BENCH_WORKFLOW_IDS: Readonly<Record<Durability, { readonly W1: string; readonly W2: string }>> = {
  step: { W1: w1Workflow.id, W2: w2Workflow.id },
  pipelined: { W1: w1PipelinedWorkflow.id, W2: w2PipelinedWorkflow.id },
}

export const benchWorkflows: readonly AnyWorkflow[] = [w1Workflow, w2Workflow, w1PipelinedWorkflow, w2PipelinedWorkflow]

let w4: AnyWorkflow | null = null

/** W4: `inc1 → … → inc10000`, built on first use, so processes measuring other workloads never build it. */
export function w4Workflow(): AnyWorkflow {
  if (w4 === null) {
    let builder = workflow({ id: 'bench-w4', name: 'Benchmark W4', input: Counter }) as WorkflowBuilder<unknown, { n: number }>
    for (let i = 1; i <= W4_STEPS; i++) builder = builder.then(increment(`inc${i}`))
    w4 = builder.build()
  }
  return w4
}

/** The output each workload's runs must end with; anything else fails the benchmark loudly. */
export const EXPECTED_N: Readonly<Record<WorkloadId, number>> = { W1: W1_STEPS, W2: W2_BRANCHES, W3: W1_STEPS, W4: W4_STEPS }

/**
 * One run of W1, W2 or W4 on `engine` (which registers that workload's workflow), start to COMPLETED, checked; W1 and
 * W2 in the given durability mode.
 */
export async function runOnce(engine: Engine, workload: 'W1' | 'W2' | 'W4', durability: Durability = 'step'): Promise<void> {
  const id = workload === 'W4' ? w4Workflow().id : BENCH_WORKFLOW_IDS[durability][workload]
  const run = await engine.run(id, { n: 0 })
  assertCompleted(run.status, run.output, EXPECTED_N[workload], run.error)
}

/** One W3 batch: {@link W3_RUNS} W1 runs started at once on `engine`, all checked. */
export async function runBatch(engine: Engine, durability: Durability = 'step'): Promise<void> {
  const runs = await Promise.all(Array.from({ length: W3_RUNS }, () => engine.run(BENCH_WORKFLOW_IDS[durability].W1, { n: 0 })))
  for (const run of runs) assertCompleted(run.status, run.output, W1_STEPS, run.error)
}

/** Throws unless a run COMPLETED with `{ n: expected }`: a fast wrong answer is not a result. */
export function assertCompleted(status: string, output: unknown, expected: number, error?: unknown): void {
  const n = (output as { n?: unknown } | null)?.n
  if (status !== 'COMPLETED' || n !== expected) {
    throw new Error(
      `benchmark run ended ${status} with output ${JSON.stringify(output)} (expected { n: ${expected} })` +
        (error ? `: ${JSON.stringify(error)}` : ''),
    )
  }
}
