/**
 * @module
 * When a waiting run continues, and whether it is late: what the dashboard shows of wake-ups (README, "Wake-ups on
 * time"). Read from the run record alone, by the rule the stores use for due runs (src/store/rules.ts).
 */
import type { RunRecord } from '../../core/model'

/**
 * How long past its due time a run may stay unclaimed before it is shown as late: the wake-up goal (p99 ≤ 1 s),
 * so a run caught in the instant between its due time and the sweep that takes it is not flagged.
 */
export const LATE_AFTER_MS = 1_000

export interface RunDue {
  /** Epoch ms at which a sweeper may take the run. */
  readonly dueAt: number
  /** Due more than {@link LATE_AFTER_MS} ago and still not running. */
  readonly late: boolean
}

/**
 * For a PENDING or RUNNING run that no engine is executing (no live lease): when it is due to continue (a sleep's
 * end, a retry's backoff, an event's deadline, the lease expiry of an engine that stopped renewing it; for a run
 * released to continue at once, the write that released it) and whether it is late. Null for a run an engine
 * holds, a PAUSED run and a finished one.
 */
export function runDue(run: RunRecord, now: number): RunDue | null {
  if (run.status !== 'PENDING' && run.status !== 'RUNNING') return null
  const lease = run.leaseOwner === null ? null : run.leaseExpiresAt
  if (lease !== null && lease > now) return null
  const dueAt = Math.max(lease ?? 0, run.wakeAt ?? (lease === null ? run.updatedAt : 0))
  return { dueAt, late: now - dueAt > LATE_AFTER_MS }
}
