/**
 * @module
 * What a benchmark target is: a way to open a session that performs workload runs and reports what it cost
 * beyond time (store calls, HTTP requests to the store's endpoint, memory).
 */
import type { WorkloadId } from '../workloads'

/** How long a target's measurements run; slow backends get fewer, longer repetitions. */
export interface Budget {
  /** Warm-up before measuring (JIT, connection pools, the JVM of DynamoDB Local), in ms. */
  readonly warmupMs: number
  /** Measured repetitions of W1/W2. */
  readonly repetitions: number
  /** Each W1/W2 repetition runs for about this long, in ms… */
  readonly repetitionMs: number
  /** …but at least this many runs… */
  readonly minRuns: number
  /** …and at most this many. */
  readonly maxRuns: number
  /** Measured W3 batches (one warm-up batch comes first). */
  readonly batches: number
}

/** Sized so a full `npm run bench` stays near 5 minutes on a busy 2-core machine. */
export const DEFAULT_BUDGET: Budget = {
  warmupMs: 500,
  repetitions: 5,
  repetitionMs: 600,
  minRuns: 3,
  maxRuns: 3_000,
  batches: 5,
}

/** An open target: performs runs and reports their side costs. */
export interface Session {
  /** One run of W1 or W2, start to COMPLETED, checked. */
  run(workload: 'W1' | 'W2'): Promise<void>
  /** One W3 batch: 100 W1 runs at once, all checked. */
  batch(): Promise<void>
  /** One W4 run (10,000 sequential steps), checked; absent on targets that do not run W4. */
  longRun?(): Promise<void>
  /** One W5 run (a map over 10,000 items), checked; absent on targets that do not run W5. */
  mapRun?(): Promise<void>
  /** Called before each measured repetition (e.g. a fresh in-memory store, so heaps do not grow across them). */
  beforeRepetition?(): Promise<void>
  /** Store method calls so far (counting wrapper), or null when the store is out of reach (another process). */
  storeCalls(): number | null
  /** HTTP requests the store's backend has served so far, or null when the store is not behind HTTP. */
  endpointRequests(): Promise<number | null>
  /** Peak resident set of the process that runs the engine, in KiB. */
  peakRssKiB(): Promise<number>
  close(): Promise<void>
}

export interface Target {
  /** Short id for `--only` (e.g. `libsql-file`). */
  readonly id: string
  /** What the table shows. */
  readonly title: string
  readonly workloads: readonly WorkloadId[]
  readonly budget: Budget
  open(): Promise<Session>
}
