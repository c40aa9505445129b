/**
 * @module
 * In-process counters for `GET /v1/metrics` (README "Metrics"). Each process (or isolate) counts only what it did;
 * Prometheus sums them across instances. The run counts by status and the sweeper lag come from the store at
 * scrape time instead. Other parts increment these: the engine through `EngineOptions.onAttemptFinished` (pass
 * {@link OperatorMetrics.attemptFinished}), completion webhooks through {@link OperatorMetrics.webhookFailed}.
 */
import type { FinishedAttempt } from '../core/run-execution'

/** Upper bounds of the step duration histogram's buckets, in ms (Prometheus reports seconds). */
export const STEP_DURATION_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000] as const

interface Histogram {
  /** Count per bucket of {@link STEP_DURATION_BUCKETS_MS} (not cumulative), then the overflow bucket. */
  readonly buckets: number[]
  sumMs: number
  count: number
}

export class OperatorMetrics {
  #webhookFailures = 0
  /** By step status (COMPLETED, SKIPPED, FAILED): few series, whatever the number of workflows and steps. */
  readonly #durations = new Map<string, Histogram>()

  /** One step attempt that ended; the engine's `onAttemptFinished`. Bound, so it can be passed as is. */
  readonly attemptFinished = ({ status, durationMs }: FinishedAttempt): void => {
    let histogram = this.#durations.get(status)
    if (histogram === undefined) {
      histogram = { buckets: new Array<number>(STEP_DURATION_BUCKETS_MS.length + 1).fill(0), sumMs: 0, count: 0 }
      this.#durations.set(status, histogram)
    }
    const bucket = STEP_DURATION_BUCKETS_MS.findIndex((bound) => durationMs <= bound)
    histogram.buckets[bucket === -1 ? STEP_DURATION_BUCKETS_MS.length : bucket]! += 1
    histogram.sumMs += durationMs
    histogram.count++
  }

  /** One failed webhook delivery attempt. */
  readonly webhookFailed = (): void => {
    this.#webhookFailures++
  }

  get webhookFailures(): number {
    return this.#webhookFailures
  }

  /** The step duration histogram in Prometheus text format (no lines before the first attempt). */
  stepDurationLines(): string[] {
    if (this.#durations.size === 0) return []
    const lines = [
      '# HELP gorkflow_step_duration_seconds Duration of step attempts that ended in this process, by outcome.',
      '# TYPE gorkflow_step_duration_seconds histogram',
    ]
    for (const [status, histogram] of [...this.#durations].sort(([a], [b]) => (a < b ? -1 : 1))) {
      let cumulative = 0
      STEP_DURATION_BUCKETS_MS.forEach((bound, i) => {
        cumulative += histogram.buckets[i] ?? 0
        lines.push(`gorkflow_step_duration_seconds_bucket{status="${status}",le="${bound / 1000}"} ${cumulative}`)
      })
      lines.push(`gorkflow_step_duration_seconds_bucket{status="${status}",le="+Inf"} ${histogram.count}`)
      lines.push(`gorkflow_step_duration_seconds_sum{status="${status}"} ${histogram.sumMs / 1000}`)
      lines.push(`gorkflow_step_duration_seconds_count{status="${status}"} ${histogram.count}`)
    }
    return lines
  }
}
