/**
 * @module
 * Persisting a step boundary through store faults. A commit refused with STORE_UNAVAILABLE is tried again after a
 * backoff. A later try refused as LEASE_LOST or RUN_ALREADY_FINISHED may be refusing our own earlier try, applied
 * with its reply lost: the stored run tells, since a commit stamps `updatedAt` with its instant.
 */
import type { Clock } from './clock'
import { isGorkflowError, type GorkflowError } from './errors'
import type { RunRecord, RunStatus } from './model'
import type { Lease, RunCommit, WorkflowStore } from './store'

/** Backoff between attempts to persist a commit after a store fault. */
const COMMIT_RETRY_DELAYS_MS = [25, 100, 400]

export type CommitOutcome =
  /** The store applied the commit: the lease it returned, the run's status as stored, and whether the awaited event had already arrived. */
  | { readonly kind: 'committed'; readonly lease: Lease; readonly status: RunStatus; readonly awaitedEventDelivered: boolean }
  /** An earlier try applied with its reply lost: the run as stored. */
  | { readonly kind: 'applied'; readonly run: RunRecord }
  /** The run is no longer ours: cancelled (or finished elsewhere), or the lease passed to another owner. */
  | { readonly kind: 'halted'; readonly reason: 'cancelled' | 'lost'; readonly error: GorkflowError }

/**
 * Commits, retrying store faults up to {@link COMMIT_RETRY_DELAYS_MS}. `onFault` hears each fault that is
 * retried. Throws the store's error once the retries are spent, or for an error that no retry can fix.
 */
export async function commitWithRetries(
  store: WorkflowStore,
  clock: Clock,
  lease: Lease,
  commit: RunCommit,
  onFault: (err: GorkflowError) => void,
): Promise<CommitOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await store.commit(lease, commit)
      return { kind: 'committed', lease: result.lease, status: result.status, awaitedEventDelivered: result.awaitedEventDelivered }
    } catch (err) {
      if (isGorkflowError(err, 'STORE_UNAVAILABLE') && attempt < COMMIT_RETRY_DELAYS_MS.length) {
        onFault(err)
        await clock.sleep(COMMIT_RETRY_DELAYS_MS[attempt] as number)
        continue
      }
      if (attempt > 0 && (isGorkflowError(err, 'LEASE_LOST') || isGorkflowError(err, 'RUN_ALREADY_FINISHED'))) {
        // An earlier try may have applied with its reply lost: ours if it carries this commit's instant.
        const current = await store.getRun(lease.runId)
        if (current.updatedAt === commit.now && (current.leaseOwner === null || current.leaseOwner === lease.owner)) {
          return { kind: 'applied', run: current }
        }
      }
      if (isGorkflowError(err, 'LEASE_LOST') || isGorkflowError(err, 'RUN_NOT_FOUND')) return { kind: 'halted', reason: 'lost', error: err }
      if (isGorkflowError(err, 'RUN_ALREADY_FINISHED')) return { kind: 'halted', reason: 'cancelled', error: err }
      throw err
    }
  }
}
