/**
 * @module
 * The benchmark workloads, the same ones peers were measured on (issue 7):
 * - W1: 10 sequential trivial steps, `{ n } → { n: n + 1 }`, start to COMPLETED;
 * - W2: 16 parallel trivial steps fed by the run input, then one step aggregating them;
 * - W3: 100 W1 runs started concurrently on one engine;
 * - W4: one run of 10,000 sequential W1 steps (issue #17: the cost per step must not grow with the run);
 * - W5: one run mapping W1's step over 10,000 items, 50 at a time (issue #17: an item costs at most 2× a W4 step).
 * Steps carry zod schemas, as a user's steps would: validation is part of what is measured. W1 and W2 exist in
 * each durability mode (issue #18), as workflows of their own.
 */
import { z } from 'zod'
import type { Engine } from '../src/core/engine'
import { defineStep } from '../src/core/step'
import { DURABILITY_MODES, type Durability } from '../src/core/step-config'
import { workflow, type AnyWorkflow, type WorkflowBuilder } from '../src/core/workflow'
import { W1_STEPS, W2_BRANCHES, W3_RUNS, W4_STEPS, W5_CONCURRENCY, W5_ITEMS } from './workload-sizes'

export type WorkloadId = 'W1' | 'W2' | 'W3' | 'W4' | 'W5'

export const WORKLOAD_IDS: readonly WorkloadId[] = ['W1', 'W2', 'W3', 'W4', 'W5']

export const WORKLOAD_TITLES: Readonly<Record<WorkloadId, string>> = {
  W1: `${W1_STEPS} sequential steps`,
  W2: `${W2_BRANCHES} parallel steps + 1 join`,
  W3: `${W3_RUNS} concurrent W1 runs`,
  W4: `one run of ${W4_STEPS.toLocaleString('en')} sequential steps`,
  W5: `one map over ${W5_ITEMS.toLocaleString('en')} items, ${W5_CONCURRENCY} at a time`,
}

const Counter = z.object({ n: z.number().int() })

function increment(id: string) {
  return defineStep({ id, input: Counter, output: Counter, handler: (_ctx, { n }) => ({ n: n + 1 }) })
}

/** W1 and W2 of one durability mode, with ids of their own so one Worker can register both modes. */
export interface BenchWorkflows {
  readonly durability: Durability
  /** W1: `inc1 → inc2 → … → inc10`; `{ n: 0 }` ends as `{ n: 10 }`. */
  readonly w1: AnyWorkflow
  /** W2: `p1 ‖ … ‖ p16 → sum`; `{ n: 0 }` ends as `{ n: 16 }`. */
  readonly w2: AnyWorkflow
  readonly all: readonly AnyWorkflow[]
}

const sum = defineStep({
  id: 'sum',
  input: z.record(z.string(), Counter),
  output: Counter,
  handler: (_ctx, outputs) => ({ n: Object.values(outputs).reduce((total, { n }) => total + n, 0) }),
})

function buildBenchWorkflows(durability: Durability): BenchWorkflows {
  const suffix = durability === 'step' ? '' : `-${durability}`
  const title = durability === 'step' ? '' : ` (${durability})`
  const config = durability === 'step' ? {} : { config: { durability } }
  let w1 = workflow({ id: `bench-w1${suffix}`, name: `Benchmark W1${title}`, input: Counter, ...config }) as WorkflowBuilder<
    unknown,
    { n: number }
  >
  for (let i = 1; i <= W1_STEPS; i++) w1 = w1.then(increment(`inc${i}`))
  const branches = Array.from({ length: W2_BRANCHES }, (_, i) => increment(`p${i + 1}`))
  const w2 = workflow({ id: `bench-w2${suffix}`, name: `Benchmark W2${title}`, input: Counter, ...config })
    .parallel(branches as unknown as readonly [ReturnType<typeof increment>, ...ReturnType<typeof increment>[]])
    .then(sum)
    .build()
  const built = w1.build()
  return { durability, w1: built, w2, all: [built, w2] }
}

const BY_DURABILITY: Readonly<Record<Durability, BenchWorkflows>> = {
  step: buildBenchWorkflows('step'),
  pipelined: buildBenchWorkflows('pipelined'),
}

/** The benchmark's W1 and W2 in one durability mode. */
export function benchWorkflows(durability: Durability = 'step'): BenchWorkflows {
  return BY_DURABILITY[durability]
}

/** Every benchmark workflow of every mode: what a server registers so that one process serves all rows. */
export const ALL_BENCH_WORKFLOWS: readonly AnyWorkflow[] = DURABILITY_MODES.flatMap((d) => BY_DURABILITY[d].all)

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

const counters = defineStep({
  id: 'counters',
  input: z.object({ items: z.number().int() }),
  output: z.array(Counter),
  handler: (_ctx, { items }) => Array.from({ length: items }, (_, n) => ({ n })),
})

/** W5: `counters → map(inc)`; `{ items: 10000 }` ends as `[{ n: 1 }, …, { n: 10000 }]`. */
export const w5Workflow = workflow({ id: 'bench-w5', name: 'Benchmark W5', input: z.object({ items: z.number().int() }) })
  .then(counters)
  .map(increment('inc'), { concurrency: W5_CONCURRENCY })
  .build()

/** The output each workload's runs must end with; anything else fails the benchmark loudly. */
export const EXPECTED_N: Readonly<Record<Exclude<WorkloadId, 'W5'>, number>> = { W1: W1_STEPS, W2: W2_BRANCHES, W3: W1_STEPS, W4: W4_STEPS }

/** One W5 run on `engine` (which registers {@link w5Workflow}), start to COMPLETED with every item's output checked. */
export async function runMap(engine: Engine): Promise<void> {
  const run = await engine.run(w5Workflow.id, { items: W5_ITEMS })
  const output = run.output as { n: number }[] | null
  const wrong = !Array.isArray(output) || output.length !== W5_ITEMS || output.some((o, i) => o?.n !== i + 1)
  if (run.status !== 'COMPLETED' || wrong) {
    throw new Error(`W5 run ended ${run.status} with ${Array.isArray(output) ? `${output.length} items` : JSON.stringify(output)}: ${JSON.stringify(run.error)}`)
  }
}

/**
 * One run of W1, W2 or W4 on `engine` (which registers that workload's workflow), start to COMPLETED, checked.
 * W4 has the default durability only.
 */
export async function runOnce(engine: Engine, workload: 'W1' | 'W2' | 'W4', durability: Durability = 'step'): Promise<void> {
  const flows = benchWorkflows(durability)
  const id = workload === 'W1' ? flows.w1.id : workload === 'W2' ? flows.w2.id : w4Workflow().id
  const run = await engine.run(id, { n: 0 })
  assertCompleted(run.status, run.output, EXPECTED_N[workload], run.error)
}

/** One W3 batch: {@link W3_RUNS} W1 runs started at once on `engine`, all checked. */
export async function runBatch(engine: Engine, durability: Durability = 'step'): Promise<void> {
  const { w1 } = benchWorkflows(durability)
  const runs = await Promise.all(Array.from({ length: W3_RUNS }, () => engine.run(w1.id, { n: 0 })))
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
