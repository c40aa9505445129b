/**
 * @module
 * Turns measurements into the markdown the runner prints and writes to `bench/RESULTS.md`: the machine, the
 * results table, the targets of issue 7 with met/missed, and the peers' reference numbers.
 */
import { execFileSync } from 'node:child_process'
import { cpus, loadavg, release, totalmem } from 'node:os'
import type { Measurement } from './measure'
import { formatMs, formatRate } from './stats'
import type { Target } from './targets/target'
import { W1_STEPS, W4_STEPS, W5_ITEMS } from './workload-sizes'
import { WORKLOAD_TITLES, type WorkloadId } from './workloads'

/** A measurement, or why there is none. */
export type Outcome =
  | { readonly ok: true; readonly target: Target; readonly workload: WorkloadId; readonly result: Measurement }
  | { readonly ok: false; readonly target: Target; readonly workload: WorkloadId; readonly error: string }

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly node: string
  readonly os: string
  readonly date: string
  /** The code measured: commit, marked when the working tree has uncommitted changes. */
  readonly commit: string
  /** 1-minute load average before and after the run: other work on the machine skews every number. */
  readonly loadBefore: number
  loadAfter?: number
}

export function machine(): Machine {
  const list = cpus()
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${process.platform} ${release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: commitMeasured(),
    loadBefore: loadavg()[0] ?? 0,
  }
}

/** `git describe`-like: the commit, and whether uncommitted changes were measured with it. */
function commitMeasured(): string {
  // A copy of the tree without .git (e.g. `git archive` into a temp folder) says which commit it is.
  if (process.env.GORKFLOW_BENCH_COMMIT) return process.env.GORKFLOW_BENCH_COMMIT
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: 'pipe' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: 'pipe' }).trim()
    return dirty === '' ? commit : `${commit} with uncommitted changes`
  } catch {
    return 'unknown (not a git checkout)'
  }
}

/** Issue 7's goals, each checked against the measurements it names. */
interface Goal {
  readonly label: string
  readonly limit: string
  check(find: (target: string, workload: WorkloadId) => Measurement | undefined): { value: string; met: boolean } | null
}

const BUDGET_CALLS = W1_STEPS + 3
/** (N + 3) round trips of 20 ms, plus 15 %. */
const REMOTE_W1_LIMIT_MS = BUDGET_CALLS * 20 * 1.15

function latencyGoal(label: string, target: string, workload: WorkloadId, limitMs: number): Goal {
  return {
    label,
    limit: `≤ ${formatMs(limitMs)} ms`,
    check: (find) => {
      const m = find(target, workload)
      return m ? { value: `${formatMs(m.medianMs)} ms`, met: m.medianMs <= limitMs } : null
    },
  }
}

/**
 * Issue #18: a workload through our Worker at least `factor` × the runs/s of Cloudflare Workflows' (for W1, one run
 * at a time: half its latency), the peer measured in the same run under the same `wrangler dev`
 * (bench/targets/cf-workflows.ts), so the ratio does not depend on how fast the machine is that day.
 */
function peerRatioGoal(label: string, target: string, workload: WorkloadId, factor: number): Goal {
  return {
    label,
    limit: `≥ ${factor}× the peer's runs/s`,
    check: (find) => {
      const ours = find(target, workload)
      const peer = find('cf-workflows', workload)
      if (!ours || !peer) return null
      const ratio = ours.runsPerSecond / peer.runsPerSecond
      return {
        value: `${formatRate(ours.runsPerSecond)} vs ${formatRate(peer.runsPerSecond)} runs/s (${ratio.toFixed(2)}×)`,
        met: ratio >= factor,
      }
    },
  }
}

/**
 * Issue #17: a step of W4's 10,000-step run costs at most 1.5× a step of W1's 10-step run. Judged on CPU per step:
 * a 10,000-step run on a loaded machine spends most of its wall time waiting for a core, which a 10-step run,
 * done within one time slice, mostly does not; the wall times are shown beside it.
 */
function flatStepGoal(label: string, target: string): Goal {
  return {
    label,
    limit: '≤ 1.5× W1 CPU per step',
    check: (find) => {
      const w1 = find(target, 'W1')
      const w4 = find(target, 'W4')
      if (!w1 || !w4) return null
      const short = w1.cpuMsPerRun / W1_STEPS
      const long = w4.cpuMsPerRun / W4_STEPS
      const µs = (ms: number) => `${formatMs(ms * 1000)} µs`
      return {
        value:
          `CPU ${µs(long)} vs ${µs(short)} a step (${(long / short).toFixed(2)}×); ` +
          `wall ${µs(w4.medianMs / W4_STEPS)} vs ${µs(w1.medianMs / W1_STEPS)}`,
        met: long <= short * 1.5,
      }
    },
  }
}

/**
 * Issue #17: an item of W5's 10,000-item map costs at most 2× a step of W4's 10,000-step sequential run. Judged on
 * CPU, as {@link flatStepGoal} is, with the wall times beside it.
 */
function mapItemGoal(label: string, target: string): Goal {
  return {
    label,
    limit: '≤ 2× W4 CPU per step',
    check: (find) => {
      const w4 = find(target, 'W4')
      const w5 = find(target, 'W5')
      if (!w4 || !w5) return null
      const step = w4.cpuMsPerRun / W4_STEPS
      const item = w5.cpuMsPerRun / W5_ITEMS
      const µs = (ms: number) => `${formatMs(ms * 1000)} µs`
      return {
        value:
          `CPU ${µs(item)} an item vs ${µs(step)} a step (${(item / step).toFixed(2)}×); ` +
          `wall ${µs(w5.medianMs / W5_ITEMS)} vs ${µs(w4.medianMs / W4_STEPS)}`,
        met: item <= step * 2,
      }
    },
  }
}

export const GOALS: readonly Goal[] = [
  {
    label: `store calls per ${W1_STEPS}-step sequential run (W1, W3), every store`,
    limit: `≤ N + 3 = ${BUDGET_CALLS}`,
    check: (find) => {
      const ids = ['memory', 'libsql-file', 'libsql-http-0ms', 'libsql-http-20ms', 'dynamodb-local', 'node-server']
      const counts = ids
        .flatMap((id) => [find(id, 'W1'), find(id, 'W3')])
        .map((m) => m?.storeCallsPerRun)
        .filter((n): n is number => typeof n === 'number')
      if (counts.length === 0) return null
      const worst = Math.max(...counts)
      return { value: `max ${round(worst)}`, met: worst <= BUDGET_CALLS }
    },
  },
  latencyGoal('W1 over the 20 ms endpoint', 'libsql-http-20ms', 'W1', REMOTE_W1_LIMIT_MS),
  latencyGoal('W1 memory', 'memory', 'W1', 0.1),
  latencyGoal('W1 LibSQL file', 'libsql-file', 'W1', 0.7),
  latencyGoal('W2 LibSQL file', 'libsql-file', 'W2', 1.5),
  latencyGoal('W3 LibSQL file (≥ 1000 runs/s)', 'libsql-file', 'W3', 100),
  latencyGoal('W1 through `wrangler dev`, LibSQL over HTTP', 'wrangler-dev', 'W1', 8),
  latencyGoal('the same, inspector off (wrangler API)', 'wrangler-dev-no-inspector', 'W1', 8),
  latencyGoal('W1 through `wrangler dev`, memory store', 'wrangler-dev-memory', 'W1', 8),
  flatStepGoal('W4 memory: cost per step of a 10,000-step run (issue #17)', 'memory'),
  flatStepGoal('W4 LibSQL file: cost per step of a 10,000-step run (issue #17)', 'libsql-file'),
  mapItemGoal('W5 memory: cost per item of a 10,000-item map (issue #17)', 'memory'),
  mapItemGoal('W5 LibSQL file: cost per item of a 10,000-item map (issue #17)', 'libsql-file'),
  latencyGoal('W1 through `wrangler dev`, LibSQL over HTTP, pipelined (issue #18)', 'wrangler-dev-pipelined', 'W1', 9),
  latencyGoal('the same, inspector off (wrangler API)', 'wrangler-dev-no-inspector-pipelined', 'W1', 9),
  peerRatioGoal('W1 through `wrangler dev`, pipelined, vs Cloudflare Workflows (issue #18)', 'wrangler-dev-pipelined', 'W1', 2),
  latencyGoal('W1 over the 20 ms endpoint, pipelined (issue #18)', 'libsql-http-20ms-pipelined', 'W1', 75),
  peerRatioGoal('W3 through `wrangler dev` vs Cloudflare Workflows (issue #18)', 'wrangler-dev', 'W3', 2),
  peerRatioGoal('the same, pipelined (issue #18)', 'wrangler-dev-pipelined', 'W3', 2),
]

/** Reference medians measured on this machine class (issue 7), same workloads. */
export const PEERS = `| Peer (same workloads, this machine class) | W1 | W2 | W3 | store statements |
|---|---|---|---|---|
| Mastra 0.24.9, LibSQL store on a file | 3.5 ms | 4.2 ms | 355 ms | |
| Go original, SQLite | 1.46 ms | 4.5 ms | 437 ms | ~6 per step |
| Go original, memory | 0.04 ms | | | |
| Cloudflare Workflows under \`wrangler dev\` | 26 ms | 41 ms | 2.4 s | |

Cloudflare Workflows is also measured in every run, as the target \`cf-workflows\` of the table above.`

export function resultsTable(outcomes: readonly Outcome[]): string {
  const rows = outcomes.map((o) => {
    const head = `| ${o.target.title} | ${o.workload} |`
    if (!o.ok) return `${head} failed: ${o.error.split('\n')[0]?.slice(0, 120) ?? ''} | | | | | | |`
    const m = o.result
    return (
      `${head} ${formatMs(m.medianMs)} | ${formatMs(m.p95Ms)} | ${formatRate(m.runsPerSecond)} | ` +
      `${m.storeCallsPerRun === null ? '—' : round(m.storeCallsPerRun)} | ` +
      `${m.endpointRequestsPerRun === null ? '—' : round(m.endpointRequestsPerRun)} | ${formatMs(m.cpuMsPerRun)} | ` +
      `${Math.round(m.peakRssMiB)} |`
    )
  })
  return [
    '| Target | Workload | median ms | p95 ms | runs/s | store calls / run | HTTP requests / run | CPU ms / run | peak RSS MiB |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n')
}

export function goalsTable(outcomes: readonly Outcome[]): string {
  const find = (target: string, workload: WorkloadId) => {
    const o = outcomes.find((x) => x.ok && x.target.id === target && x.workload === workload)
    return o?.ok ? o.result : undefined
  }
  const rows = GOALS.map((goal) => {
    const result = goal.check(find)
    return `| ${goal.label} | ${goal.limit} | ${result ? result.value : 'not measured'} | ${result ? (result.met ? 'met' : '**missed**') : '—'} |`
  })
  return ['| Goal (issues 7, 17, 18) | Limit | Measured (median) | |', '|---|---|---|---|', ...rows].join('\n')
}

export function machineLine(m: Machine): string {
  const load = `load average ${m.loadBefore.toFixed(1)} before, ${m.loadAfter === undefined ? '?' : m.loadAfter.toFixed(1)} after`
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; Node ${m.node}; ${m.os}; ${m.date}; ${load}; code ${m.commit}`
}

export function workloadsLegend(): string {
  return (Object.entries(WORKLOAD_TITLES) as [WorkloadId, string][]).map(([id, title]) => `${id}: ${title}`).join('; ')
}

/** The whole of `bench/RESULTS.md`. */
export function resultsDocument(outcomes: readonly Outcome[], m: Machine, command: string): string {
  return `<!-- Generated by bench/run.ts (\`${command}\`). DO NOT EDIT; rerun instead. -->
# Benchmark results

Machine: ${machineLine(m)}.

Workloads (issues 7, 17): ${workloadsLegend()}.

Every step has zod input and output schemas. Medians of per-repetition medians, warm-up excluded; W3's latency
is the wall time of one batch of 100 runs. Store calls are counted by
the counting wrapper around the engine's store; HTTP requests are those the store's backend served (the libSQL
endpoint's counter, DynamoDB requests sent). CPU ms / run is the user + system CPU time of the process running
the engine (for \`wrangler dev\`: of the benchmark's HTTP client only), which moves far less than latency when
other work shares the machine: compare it between runs, and read latencies with the load average above. Peak RSS
is that of the process running the engine (tsx included, ~60 MiB of it), except for \`wrangler dev\`, where it
is workerd's. The Cloudflare Workflows peer runs the same workloads under the same \`wrangler dev\`
(bench/peers/cf-workflows/), through the same client and requests as our Worker; W3 under \`wrangler dev\`, ours
and the peer's, is one request that starts the 100 runs inside the Worker (bench/worker.ts says why). The peer's
state lives in workerd, so it has no store columns. Rows marked pipelined run the workflows with issue #18's
pipelined durability.

${resultsTable(outcomes)}

## Against the goals

${goalsTable(outcomes)}

## Peers

${PEERS}

See docs/performance.md for what dominates each number and how to reproduce it.
`
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2)
}
