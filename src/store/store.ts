/**
 * @module
 * The persistence port. The engine talks to nothing else; every implementation (memory, libsql, dynamodb)
 * must pass the shared conformance suite in `test/store/store.contract.ts` unchanged.
 *
 * Rules every implementation keeps:
 * - Records go in and come out as copies: mutating an argument or a result never changes stored state.
 * - Not-found is a typed error (`RUN_NOT_FOUND`, …), never `null` or a string to match.
 * - Terminal runs (COMPLETED, FAILED, CANCELLED) are never overwritten: every run write is conditional.
 * - Lease fencing: the engine's writes to a run go through {@link WorkflowStore.commit}, which applies
 *   only while the caller still holds the run's lease; otherwise it throws and writes nothing.
 * - Driver failures surface as `StoreUnavailableError` (code STORE_UNAVAILABLE); raw driver errors never escape.
 * - Every method is one round trip to the backend unless its documentation says otherwise.
 */
import type { Json, RunRecord, RunStatus, StepExecution, WorkflowError } from '../core/model'

/** The right to write one run until `expiresAt`. Held by exactly one engine at a time. */
export interface Lease {
  readonly runId: string
  readonly owner: string
  readonly expiresAt: number
}

export interface RunFilter {
  readonly workflowId?: string
  readonly status?: RunStatus
  readonly resourceId?: string
  /** Page size. Minimum `1`, maximum `1000`. @default 20 */
  readonly limit?: number
  /** `nextCursor` of the previous page; absent or null for the first page. */
  readonly cursor?: string | null
}

/** A page of runs, newest first (createdAt desc, then runId desc), and the cursor of the next page. */
export interface RunPage {
  readonly runs: RunRecord[]
  /** Opaque; null when this page is the last. A malformed cursor is refused with INVALID_CURSOR. */
  readonly nextCursor: string | null
}

export interface CreateRunResult {
  readonly run: RunRecord
  /** False when an existing run with the same workflowId and idempotencyKey was returned instead. */
  readonly created: boolean
}

/** Run fields the lease owner changes in a commit. Absent fields are left as they are. */
export interface RunPatch {
  readonly status?: RunStatus
  readonly progress?: number
  readonly output?: Json
  readonly error?: WorkflowError | null
  readonly startedAt?: number | null
  readonly completedAt?: number | null
  readonly wakeAt?: number | null
}

/** Everything one engine step boundary persists, written atomically. */
export interface RunCommit {
  /** Instant of the commit: the run's new `updatedAt`. */
  readonly now: number
  /** Whole step records to insert or replace, keyed by (runId, stepId). */
  readonly steps: readonly StepExecution[]
  readonly run: RunPatch
  /** New lease expiry (renewal), or null to release the lease (terminal state, yield, shutdown). */
  readonly leaseExpiresAt: number | null
}

/** A claimed run with everything needed to resume it. */
export interface Claim {
  readonly lease: Lease
  readonly run: RunRecord
  /** All step executions of the run, by executionIndex ascending. */
  readonly steps: StepExecution[]
}

export type StoreKind = 'memory' | 'libsql' | 'dynamodb'

export interface WorkflowStore {
  readonly kind: StoreKind

  /**
   * Inserts a new run. When `run.idempotencyKey` is set and a run of the same workflow already carries that
   * key, returns that run with `created: false` and writes nothing (also under concurrent duplicates).
   * @throws RunAlreadyExistsError (RUN_ALREADY_EXISTS) when `runId` is taken.
   */
  createRun(run: RunRecord): Promise<CreateRunResult>

  /** @throws RunNotFoundError */
  getRun(runId: string): Promise<RunRecord>

  /** Runs matching every given filter, newest first, paginated by an opaque cursor. */
  listRuns(filter?: RunFilter): Promise<RunPage>

  /**
   * Atomically takes the run's lease for `owner` until `now + leaseMs`. Succeeds only when the run is
   * PENDING or RUNNING, its lease is absent, expired (`leaseExpiresAt <= now`) or already `owner`'s, and its
   * `wakeAt` is absent or due (`<= now`). Changes nothing else. Returns null when the run is not claimable.
   * May take two round trips where the backend cannot read the run and its steps in one.
   * @throws RunNotFoundError
   */
  claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<Claim | null>

  /**
   * The owner's only way to write a run: upserts `steps`, applies `run`, sets `updatedAt = now` and renews or
   * releases the lease, all or nothing. Outputs of COMPLETED and SKIPPED steps become readable through
   * {@link loadStepOutput}. Applies only while `lease.owner` still holds the lease and the run is not terminal.
   * Returns the lease as renewed (or with `expiresAt` unchanged when released).
   * @throws RunNotFoundError
   * @throws RunAlreadyFinishedError when the run became terminal meanwhile (e.g. cancelled)
   * @throws LeaseLostError when another owner holds the lease, or none does
   */
  commit(lease: Lease, commit: RunCommit): Promise<Lease>

  /**
   * Ids of runs a sweeper may claim now: PENDING or RUNNING, lease absent or expired at `now`, `wakeAt`
   * absent or `<= now`. Oldest due first, at most `limit`. Never a table scan.
   */
  listDueRuns(now: number, limit: number): Promise<string[]>

  /**
   * Cancels a non-terminal run in one conditional write: status CANCELLED, `cancelRequestedAt`,
   * `completedAt`, `updatedAt` = now, lease cleared; its PENDING, RUNNING and RETRYING steps become CANCELLED.
   * The owner, if any, sees RUN_ALREADY_FINISHED at its next commit and stops.
   * @throws RunNotFoundError
   * @throws RunAlreadyFinishedError when the run is already terminal
   */
  cancelRun(runId: string, now: number): Promise<RunRecord>

  /** @throws StepExecutionNotFoundError */
  getStepExecution(runId: string, stepId: string): Promise<StepExecution>

  /** All step executions of a run by executionIndex ascending; empty for an unknown run. */
  listStepExecutions(runId: string): Promise<StepExecution[]>

  /**
   * Output of a COMPLETED or SKIPPED step (JSON null is a valid output).
   * @throws StepOutputNotFoundError when the step has no output (unknown, running, failed)
   */
  loadStepOutput(runId: string, stepId: string): Promise<Json>

  /** Inserts or replaces one state key of a run. */
  saveState(runId: string, key: string, value: Json, now: number): Promise<void>

  /** @throws StateNotFoundError */
  loadState(runId: string, key: string): Promise<Json>

  /** Every state key of the run; empty for an unknown run. */
  getAllState(runId: string): Promise<Record<string, Json>>

  /** Idempotent: deleting a missing key is not an error. */
  deleteState(runId: string, key: string): Promise<void>

  /**
   * Deletes a run with its step executions, outputs and state.
   * @throws RunNotFoundError
   */
  deleteRun(runId: string): Promise<void>

  /** Deletes up to `limit` terminal runs with `completedAt < before`, with all their children. Returns how many. */
  deleteFinishedRuns(before: number, limit: number): Promise<number>

  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>
}

/** Default and bounds of {@link RunFilter.limit}, shared so every store pages identically. */
export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 1000
