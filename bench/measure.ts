/**
 * @module
 * Measures one workload on one target in this process and prints the result as one JSON line. `bench/run.ts`
 * starts a process per (target, workload), so each peak RSS is its own and no JIT or heap state leaks from
 * one measurement into the next.
 *
 * Usage: `node --import tsx bench/measure.ts <target-id> <W1|…|W5> [--quick] [--profile FILE]`. With `--profile`,
 * V8's CPU profiler (the one behind `node --cpu-prof`) records the measured runs only, not module loading,
 * setup or warm-up, and writes a `.cpuprofile` to FILE.
 */
import { writeFileSync } from 'node:fs'
import { Session as InspectorSession } from 'node:inspector/promises'
import { runAsChild } from './child-process'
import { median, quantile, summarize, type Repetition, type Summary } from './stats'
import { findTarget } from './targets'
import { DEFAULT_BUDGET, type Budget, type Session } from './targets/target'
import { W3_RUNS } from './workload-sizes'
import type { WorkloadId } from './workloads'

/** W4 and W5 are one long run each: a few of them, each its own repetition, are enough for a median. */
const LONG_REPETITIONS = 3

export interface Measurement extends Summary {
  readonly target: string
  readonly workload: WorkloadId
  /** Store method calls per run (counting wrapper); null when the store lives in another process. */
  readonly storeCallsPerRun: number | null
  /** HTTP requests to the store's endpoint per run; null when the store is not behind HTTP. */
  readonly endpointRequestsPerRun: number | null
  /**
   * CPU time (user + system) of the engine's process per run, in ms. Unlike latency it barely moves when other
   * work shares the machine, so it is the number to compare across runs of the benchmark.
   */
  readonly cpuMsPerRun: number
  /** Peak resident set of the engine's process, in MiB. */
  readonly peakRssMiB: number
}

/** A budget small enough to check that everything works, not to publish. */
export const QUICK_BUDGET: Budget = { warmupMs: 200, repetitions: 2, repetitionMs: 200, minRuns: 2, maxRuns: 200, batches: 1 }

export interface MeasureOptions {
  readonly quick?: boolean
  /** Write a CPU profile of the measured runs here. */
  readonly profilePath?: string
}

export async function measure(targetId: string, workload: WorkloadId, options: MeasureOptions = {}): Promise<Measurement> {
  const quick = options.quick ?? false
  const target = findTarget(targetId)
  if (!target.workloads.includes(workload)) throw new Error(`target ${targetId} does not run ${workload}`)
  const base = quick ? QUICK_BUDGET : { ...DEFAULT_BUDGET, ...target.budget }
  const long = workload === 'W4' || workload === 'W5'
  const budget = long ? { ...base, repetitions: quick ? 1 : LONG_REPETITIONS, minRuns: 1, maxRuns: 1 } : base
  const session = await target.open()
  try {
    await warmUp(session, workload, budget)
    const calls0 = session.storeCalls()
    const requests0 = await session.endpointRequests()
    const profiler = options.profilePath === undefined ? null : await startProfiler()
    const cpu0 = process.cpuUsage()
    const summary = workload === 'W3' ? await measureBatches(session, budget) : await measureRuns(session, workload, budget)
    const cpu = process.cpuUsage(cpu0)
    if (profiler && options.profilePath !== undefined) writeFileSync(options.profilePath, JSON.stringify(await profiler.stop()))
    const calls1 = session.storeCalls()
    const requests1 = await session.endpointRequests()
    return {
      target: targetId,
      workload,
      ...summary,
      storeCallsPerRun: calls0 === null || calls1 === null ? null : (calls1 - calls0) / summary.runs,
      endpointRequestsPerRun: requests0 === null || requests1 === null ? null : (requests1 - requests0) / summary.runs,
      cpuMsPerRun: (cpu.user + cpu.system) / 1000 / summary.runs,
      peakRssMiB: (await session.peakRssKiB()) / 1024,
    }
  } finally {
    await session.close()
  }
}

/**
 * Lets the event loop turn between runs, untimed, as it does between a server's requests. With a store that
 * answers without I/O (memory, the embedded file) a run is one long chain of microtasks, and native memory
 * released only on a later turn piles up: the `libsql` binding frees statements from a deferred finalizer, and
 * without turns a W1 loop on the file store grew its RSS by 0.74 MB per run (1.6 GB after 2,000 runs) and its
 * CPU per run by half.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

async function startProfiler(): Promise<{ stop(): Promise<unknown> }> {
  const session = new InspectorSession()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop')
      session.disconnect()
      return profile
    },
  }
}

async function warmUp(session: Session, workload: WorkloadId, budget: Budget): Promise<void> {
  const until = performance.now() + budget.warmupMs
  let runs = 0
  while (runs < 3 || performance.now() < until) {
    await session.run(workload === 'W2' ? 'W2' : 'W1')
    runs++
    await nextTurn()
  }
  if (workload === 'W3') await session.batch()
}

async function measureRuns(session: Session, workload: 'W1' | 'W2' | 'W4' | 'W5', budget: Budget): Promise<Summary> {
  const run =
    workload === 'W4' ? session.longRun?.bind(session) : workload === 'W5' ? session.mapRun?.bind(session) : () => session.run(workload)
  if (run === undefined) throw new Error(`this target does not run ${workload}`)
  const repetitions: Repetition[] = []
  for (let r = 0; r < budget.repetitions; r++) {
    await session.beforeRepetition?.()
    const latenciesMs: number[] = []
    const start = performance.now()
    const until = start + budget.repetitionMs
    while (latenciesMs.length < budget.maxRuns && (latenciesMs.length < budget.minRuns || performance.now() < until)) {
      const t0 = performance.now()
      await run()
      latenciesMs.push(performance.now() - t0)
      await nextTurn()
    }
    repetitions.push({ latenciesMs, wallMs: performance.now() - start, runs: latenciesMs.length })
  }
  return summarize(repetitions)
}

/** W3 stops after 3 batches once this much time has gone by, so a slow backend keeps `npm run bench` short. */
const W3_TIME_CAP_MS = 10_000

/** W3: each batch is one sample; its total is the latency that counts. */
async function measureBatches(session: Session, budget: Budget): Promise<Summary> {
  const totals: number[] = []
  const until = performance.now() + W3_TIME_CAP_MS
  for (let b = 0; b < budget.batches && (b < Math.min(3, budget.batches) || performance.now() < until); b++) {
    await session.beforeRepetition?.()
    const t0 = performance.now()
    await session.batch()
    totals.push(performance.now() - t0)
    await nextTurn()
  }
  const medianMs = median(totals)
  return {
    medianMs,
    p95Ms: quantile(totals, 0.95),
    runsPerSecond: (W3_RUNS * 1000) / medianMs,
    repetitions: totals.length,
    runs: totals.length * W3_RUNS,
  }
}

runAsChild(import.meta.url, (args) => {
  const [targetId, workload] = args
  const profileAt = args.indexOf('--profile')
  const profilePath = profileAt > 0 ? args[profileAt + 1] : undefined
  return measure(targetId as string, workload as WorkloadId, {
    quick: args.includes('--quick'),
    ...(profilePath === undefined ? {} : { profilePath }),
  })
})
