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
 * - An accepted event wakes its run whatever the interleaving. A run whose `waitingFor` is an event wait for an
 *   event already delivered to it is never left with a `wakeAt` later than the last write's `now`: each write
 *   that could leave it so decides in the same atomic write, on the state it writes over.
 *   {@link WorkflowStore.deliverEvent} sets `wakeAt = now` when the run already waits for that event;
 *   {@link WorkflowStore.commit} sets `wakeAt = now` (instead of a later value) when the run, as the commit leaves
 *   it, waits for an event that was already delivered. So neither an event delivered just before the yield
 *   commit that sets `waitingFor`, nor one delivered between that commit and the one that sets `wakeAt` to the
 *   wait's deadline, is lost: no second look, timer or poll is needed (see the README's "Stores").
 * The rules that stores apply alike (claimable, due, page limits, step checks) are written once in
 * src/store/rules.ts.
 */
import type { PayloadCeiling } from './limits'
import type { DeliveredEvent, Json, RunRecord, RunStatus, StepExecution, WaitingFor, WebhookDelivery, WorkflowError } from './model'

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
  /**
   * Runs carrying every one of these tags (key and value equal). Served by a tag index in every store, never a
   * scan of all runs; at most {@link MAX_TAG_FILTERS}.
   */
  readonly tags?: Readonly<Record<string, string>>
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

/**
 * Run fields the lease owner changes in a commit. Absent fields are left as they are.
 * `status: 'RUNNING'` applies only to a PENDING run: a commit never takes a PAUSED run out of PAUSED.
 */
export interface RunPatch {
  readonly status?: RunStatus
  readonly progress?: number
  readonly output?: Json
  readonly error?: WorkflowError | null
  readonly startedAt?: number | null
  readonly completedAt?: number | null
  readonly wakeAt?: number | null
  readonly waitingFor?: WaitingFor | null
}

/** Everything one engine step boundary persists, written atomically. */
export interface RunCommit {
  /** Instant of the commit: the run's new `updatedAt`. */
  readonly now: number
  /** Whole step records to insert or replace, keyed by (runId, stepId). */
  readonly steps: readonly StepExecution[]
  readonly run: RunPatch
  /**
   * New lease expiry (renewal), the lease's own `expiresAt` to keep it (the engine renews once half the lease has
   * passed, so most commits keep it and a store may leave the lease columns untouched), or null to release the
   * lease (terminal state, yield, shutdown).
   */
  readonly leaseExpiresAt: number | null
}

/** What a successful commit tells the owner. */
export interface CommitResult {
  /** The lease as renewed (or with `expiresAt` unchanged when released). */
  readonly lease: Lease
  /** The run's status after the commit: PAUSED tells the owner to stop at this step boundary. */
  readonly status: RunStatus
  /**
   * True when the store wrote `wakeAt = now` in place of the later time this commit asked for, because the run, as
   * the commit leaves it, waits for an event already delivered: the run is due at once, and an owner that released
   * the lease may claim it again now. (Reported for commits that set `wakeAt`; others may report false.)
   */
  readonly awaitedEventDelivered: boolean
}

/** A conditional status change requested by an operator (pause, resume). */
export interface RunTransition {
  /** Statuses the run must be in; otherwise RUN_STATE_CONFLICT (or RUN_ALREADY_FINISHED when terminal). */
  readonly from: readonly RunStatus[]
  readonly to: RunStatus
  readonly now: number
}

/** A claimed run with everything needed to resume it. */
export interface Claim {
  readonly lease: Lease
  readonly run: RunRecord
  /** All step executions of the run, by executionIndex ascending. */
  readonly steps: StepExecution[]
}

/** What every engine shares about one workflow's schedule: one small record per scheduled workflow. */
export interface ScheduleState {
  readonly workflowId: string
  readonly paused: boolean
  /** The newest tick fired (epoch ms), or null before the first. */
  readonly lastTickAt: number | null
  readonly updatedAt: number
}

/** A change to a schedule's state; absent fields are left as they are. */
export interface SchedulePatch {
  readonly paused?: boolean
  /** Applied only when later than the stored one: the newest fired tick never moves back. */
  readonly lastTickAt?: number
}

export type StoreKind = 'memory' | 'libsql' | 'dynamodb'

export interface WorkflowStore {
  readonly kind: StoreKind

  /**
   * The largest run input, step output, event payload and state value this store can hold (README "Limits"). The
   * engine's limits default to no more, and an engine configured above it is refused at construction. Absent: the
   * store sets no bound of its own.
   */
  readonly payloadCeiling?: PayloadCeiling

  /**
   * Most step records one {@link commit} may write, where the backend bounds it (DynamoDB: 100 actions per
   * transaction); absent for no bound. The engine writes more in several fenced commits, the run's change in the
   * last (README "Map over an array").
   */
  readonly maxCommitSteps?: number

  /**
   * Inserts a new run, and with it `steps` (records of this run, none with an output): an engine that begins
   * executing at once writes its entry steps' first attempts with the run, one round trip instead of two.
   * All or nothing. When `run.idempotencyKey` is set and a run of the same workflow already carries that key,
   * returns that run with `created: false` and writes nothing (also under concurrent duplicates).
   * @throws RunAlreadyExistsError (RUN_ALREADY_EXISTS) when `runId` is taken.
   * @throws InvalidArgumentError when a step belongs to another run
   */
  createRun(run: RunRecord, steps?: readonly StepExecution[]): Promise<CreateRunResult>

  /** @throws RunNotFoundError */
  getRun(runId: string): Promise<RunRecord>

  /** Runs matching every given filter, newest first, paginated by an opaque cursor. */
  listRuns(filter?: RunFilter): Promise<RunPage>

  /**
   * Atomically takes the run's lease for `owner` until `now + leaseMs`. Succeeds only when the run is
   * PENDING or RUNNING, its lease is absent, expired (`leaseExpiresAt <= now`) or already `owner`'s, and its
   * `wakeAt` is absent or due (`<= now`). Changes nothing else. Returns null when the run is not claimable.
   * May take two round trips where the backend cannot read the run and its steps in one.
   *
   * Per-resource concurrency: when the run has a `concurrencyLimit` (and a `resourceId`) and holds no slot
   * yet, the claim also requires, atomically, that fewer than `concurrencyLimit` other runs of the same
   * workflowId and resourceId hold a slot, and — where the backend can check it in the same write — that no
   * older run (createdAt, then runId) of that key is PENDING without a slot. A run holds a slot while it is
   * RUNNING or PAUSED, or PENDING with a live lease (`leaseExpiresAt > now`). Terminal runs hold none.
   * @throws RunNotFoundError
   */
  claimRun(runId: string, owner: string, now: number, leaseMs: number): Promise<Claim | null>

  /**
   * The owner's only way to write a run: upserts `steps`, applies `run`, sets `updatedAt = now` and renews or
   * releases the lease, all or nothing. Outputs of COMPLETED and SKIPPED steps become readable through
   * {@link loadStepOutput}. Applies only while `lease.owner` still holds the lease and the run is not terminal.
   * Also applies to a PAUSED run (the step that was running when the pause came still commits); the result's
   * `status` tells the owner. `lease.owner` is checked, not `lease.expiresAt`: an owner whose lease lapsed
   * may still commit while nobody else has claimed the run.
   * When the run, as the commit leaves it, waits for an event (`waitingFor`) already delivered to it, a `wakeAt`
   * later than `now` is written as `now`, in the same write (see the module's rules, and
   * {@link CommitResult.awaitedEventDelivered}).
   * @throws RunNotFoundError
   * @throws RunAlreadyFinishedError when the run became terminal meanwhile (e.g. cancelled)
   * @throws LeaseLostError when another owner holds the lease, or none does
   */
  commit(lease: Lease, commit: RunCommit): Promise<CommitResult>

  /**
   * Ids of runs a sweeper may claim now: PENDING or RUNNING, lease absent or expired at `now`, `wakeAt`
   * absent or `<= now`. Oldest due first, at most `limit`. Never a table scan.
   */
  listDueRuns(now: number, limit: number): Promise<string[]>

  /**
   * The earliest instant at which some run is due by the rule of {@link listDueRuns}: `listDueRuns(t, ·)` is empty
   * for every `t` below it and lists a run at it. A run due already gives a past instant (0 for one that never had
   * a lease or wake time); a RUNNING run with a live lease gives its expiry; null when no run is PENDING or
   * RUNNING. What a scheduler arms its timer with. Index-backed, never a table scan.
   */
  nextDueAt(): Promise<number | null>

  /**
   * Cancels a non-terminal run in one conditional write: status CANCELLED, `cancelRequestedAt`,
   * `completedAt`, `updatedAt` = now, lease cleared; its PENDING, RUNNING and RETRYING steps become CANCELLED.
   * The owner, if any, sees RUN_ALREADY_FINISHED at its next commit and stops.
   * @throws RunNotFoundError
   * @throws RunAlreadyFinishedError when the run is already terminal
   */
  cancelRun(runId: string, now: number): Promise<RunRecord>

  /**
   * Pause and resume: one conditional write of `status = to` and `updatedAt = now`; the lease is kept, so an
   * owner finishes its running step and sees PAUSED in its commit result. A PAUSED run is never due.
   * @throws RunNotFoundError
   * @throws RunAlreadyFinishedError when the run is terminal
   * @throws RunStateConflictError when its status is not in `from`
   */
  transitionRun(runId: string, transition: RunTransition): Promise<RunRecord>

  /**
   * Records an event for the run, once per name; in the same atomic write, if the run's `waitingFor` is an
   * event of this name, sets `wakeAt = now` so the sweeper resumes it at once.
   * @throws RunNotFoundError
   * @throws RunAlreadyFinishedError when the run is terminal (nothing is recorded)
   * @throws EventAlreadyDeliveredError when an event of this name was already delivered to the run
   */
  deliverEvent(runId: string, name: string, payload: Json, now: number): Promise<RunRecord>

  /** @throws EventNotFoundError */
  loadEvent(runId: string, name: string): Promise<DeliveredEvent>

  /**
   * Links a run (typically FAILED, i.e. terminal — only this field changes) to the run that retries it.
   * Conditional: succeeds only while `retriedBy` is null.
   * @throws RunNotFoundError
   * @throws RunStateConflictError when the run already has a `retriedBy`
   */
  linkRetry(runId: string, retriedBy: string, now: number): Promise<RunRecord>

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
   * Deletes a run with its step executions, outputs, state and events.
   * @throws RunNotFoundError
   */
  deleteRun(runId: string): Promise<void>

  /** Deletes up to `limit` terminal runs with `completedAt < before`, with all their children (incl. events). Returns how many. */
  deleteFinishedRuns(before: number, limit: number): Promise<number>

  /** Every stored schedule state (one per workflow that was ever paused or fired), in workflowId order. */
  listScheduleStates(): Promise<ScheduleState[]>

  /**
   * Creates or updates one workflow's schedule state in one atomic write (a new one starts unpaused, never fired),
   * and returns it as written.
   */
  updateScheduleState(workflowId: string, patch: SchedulePatch, now: number): Promise<ScheduleState>

  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>

  /**
   * Ids of terminal runs whose webhook is due (`webhook.nextAttemptAt <= now`), earliest first, at most `limit`.
   * Index-backed, never a table scan. Absent on stores that do not keep webhooks (then `createRun` must not be
   * given a run with one: the engine refuses it first).
   */
  listDueWebhooks?(now: number, limit: number): Promise<string[]>

  /**
   * Records a delivery attempt: replaces the run's `webhook` with `next` only while its `attempts` is still
   * `expectedAttempts`, so two sweepers never both count one attempt. Changes nothing else (not `updatedAt`).
   * Returns whether it applied. @throws RunNotFoundError
   */
  recordWebhookAttempt?(runId: string, expectedAttempts: number, next: WebhookDelivery): Promise<boolean>

  /**
   * Optional, cheap (no query) self-check for `GET /health`: why the store cannot be trusted any more (a `file:`
   * LibSQL store whose database file was deleted under it), or null. Stores without it are taken as healthy.
   */
  healthProblem?(): string | null
}

/**
 * The order every store lists a run's steps in: executionIndex, then stepId, so ties never depend on storage
 * order. Stores sort in memory: a run has as many steps as its workflow, and none needs an index for this.
 */
export function byExecutionIndex(a: StepExecution, b: StepExecution): number {
  return a.executionIndex - b.executionIndex || (a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0)
}

/** Default and bounds of {@link RunFilter.limit}, shared so every store pages identically. */
export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 1000
/** Most tags one {@link RunFilter} may require. */
export const MAX_TAG_FILTERS = 10

