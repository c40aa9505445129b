/**
 * @module
 * Order statistics for the benchmarks. A repetition's latencies reduce to a median and a p95; repetitions
 * reduce to the median of their medians (and of their p95s), so one noisy repetition (a GC storm, a
 * neighbour on the machine) cannot move the reported number.
 */

/** The `q` quantile (0..1) of `values` by the nearest-rank method; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] as number
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** One repetition: per-run latencies (ms) and its wall time. */
export interface Repetition {
  readonly latenciesMs: readonly number[]
  readonly wallMs: number
  /** Runs completed in the repetition (W3: a batch counts its runs). */
  readonly runs: number
}

export interface Summary {
  /** Median of the repetitions' median latencies, in ms. */
  readonly medianMs: number
  /** Median of the repetitions' p95 latencies, in ms. */
  readonly p95Ms: number
  /** Median over repetitions of runs completed per second of wall time. */
  readonly runsPerSecond: number
  readonly repetitions: number
  /** Runs measured over all repetitions (warm-up excluded). */
  readonly runs: number
}

/** Medians of medians over the repetitions. */
export function summarize(repetitions: readonly Repetition[]): Summary {
  return {
    medianMs: median(repetitions.map((r) => median(r.latenciesMs))),
    p95Ms: median(repetitions.map((r) => quantile(r.latenciesMs, 0.95))),
    runsPerSecond: median(repetitions.map((r) => (r.runs * 1000) / r.wallMs)),
    repetitions: repetitions.length,
    runs: repetitions.reduce((sum, r) => sum + r.runs, 0),
  }
}

/** A latency for a table: 3 significant digits, no exponent. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—'
  if (ms >= 100) return ms.toFixed(0)
  if (ms >= 10) return ms.toFixed(1)
  if (ms >= 1) return ms.toFixed(2)
  return ms.toFixed(3)
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—'
  return perSecond >= 100 ? Math.round(perSecond).toLocaleString('en-US') : perSecond.toFixed(1)
}
